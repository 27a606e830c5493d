/**
 * Input item → the request to make, or the reason it cannot be made. Pure and synchronous:
 * bad data is a value, never an exception.
 */
import { createHash } from 'node:crypto';
import { MAX_LINE_BYTES, type InputItem } from './input/read-lines.js';
import type { RunOptions } from './options.js';

export interface PlannedRequest {
  kind: 'request';
  line: number;
  method: string;
  /** The URL to fetch, credentials removed (they move into `headers` as Basic auth). */
  url: URL;
  /** Every header to send: defaults, the run-wide ones, then the input's own. */
  headers: Array<[string, string]>;
  body: string | Uint8Array | undefined;
  /** Stable identity of the request (see requestKey). */
  key: string;
  /** The input text as given, for the record (redacted there). */
  inputUrl: string;
}

export interface InvalidInput {
  kind: 'invalid';
  line: number;
  code: 'INVALID_URL';
  message: string;
  key: string;
  /** The start of the raw text, for the record (redacted there). */
  text: string;
}

export type PlanResult = PlannedRequest | InvalidInput;

// Control characters, spaces and U+FFFD (undecodable bytes) never belong in a URL someone means.
const UNSAFE_CHARACTERS = /[\u0000-\u0020\u007f\ufffd]/;
const SHOWN_TEXT_CHARS = 200;

export type PlanOptions = Pick<RunOptions, 'method' | 'body' | 'headers' | 'userAgent'>;

export function planRequest(item: InputItem, options: PlanOptions): PlanResult {
  const invalid = (why: string): InvalidInput => ({
    kind: 'invalid',
    line: item.line,
    code: 'INVALID_URL',
    message: `line ${item.line}: ${why}`,
    key: hash(['invalid', item.text]),
    text: item.text.slice(0, SHOWN_TEXT_CHARS),
  });

  // readLines caps lines already; strings handed to the library directly are checked here.
  if (item.tooLong || item.text.length > MAX_LINE_BYTES) return invalid('the line is too long to be a URL');
  if (UNSAFE_CHARACTERS.test(item.text)) return invalid('not a URL: it contains spaces, control characters or bytes that are not UTF-8');
  let url: URL;
  try {
    url = new URL(item.text);
  } catch {
    return invalid('not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return invalid(`only http and https URLs are fetched, not ${url.protocol.slice(0, 20)}`);
  }
  if (url.hostname === '') return invalid('the URL has no host');

  const headers = withDefaultHeaders(options);
  const userSetAuthorization = options.headers.some(([name]) => name.toLowerCase() === 'authorization');
  if ((url.username !== '' || url.password !== '') && !userSetAuthorization) {
    // Sent as curl does; undici would drop the credentials silently.
    const credentials = `${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`;
    headers.push(['authorization', `Basic ${Buffer.from(credentials).toString('base64')}`]);
  }
  const key = hash([options.method, item.text, bodyText(options.body)]);
  url.username = '';
  url.password = '';
  return { kind: 'request', line: item.line, method: options.method, url, headers, body: options.body, key, inputUrl: item.text };
}

/** Our User-Agent and Accept-Encoding unless the user set them, then the user's headers. */
function withDefaultHeaders(options: PlanOptions): Array<[string, string]> {
  const has = (name: string) => options.headers.some(([given]) => given.toLowerCase() === name);
  const headers: Array<[string, string]> = [];
  if (!has('user-agent')) headers.push(['user-agent', options.userAgent]);
  if (!has('accept-encoding')) headers.push(['accept-encoding', 'gzip, deflate, br']);
  return [...headers, ...options.headers];
}

function decodeUserinfo(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Run-wide headers (a bearer token that changes between runs) are left out on purpose. */
function hash(parts: string[]): string {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part).update('\u0000');
  return digest.digest('hex').slice(0, 32);
}

function bodyText(body: string | Uint8Array | undefined): string {
  if (body === undefined) return '';
  return typeof body === 'string' ? body : Buffer.from(body).toString('base64');
}
