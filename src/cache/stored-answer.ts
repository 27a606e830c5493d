/**
 * What the cache writes next to a body, and how it is read back. Secrets never reach the disk:
 * Authorization, Cookie, Set-Cookie and every other secret header are dropped, and every URL
 * and header value passes through the run's redactor (secret query values, registered tokens)
 * before it is written. The body is stored as decoded bytes; a record gets it formatted as
 * this run's --body-format says.
 */
import { formatBody } from '../http/body.js';
import { firstHeaderValue, type ResponseOutcome } from '../http/outcome.js';
import type { BodyFormat } from '../options.js';
import type { PlannedRequest } from '../plan/planner.js';
import type { Redactor } from '../record/redact.js';
import type { AnswerView, RequestView, StoredExchange } from './freshness.js';

/** The metadata of one cache entry. Field names are stable: a change bumps `v`. */
export interface StoredAnswer {
  v: 1;
  /** The request's URL, redacted: the rules match on it, and a person reading the index sees it. */
  url: string;
  method: string;
  status: number;
  statusText: string;
  /** The answer's headers, secrets dropped, in the shape records show them. */
  headers: { [name: string]: string | string[] };
  /** The request headers the answer's Vary names, secrets dropped: what the rules compare. */
  varied: { [name: string]: string };
  /** When the answer arrived (or was last revalidated), epoch ms. */
  receivedAt: number;
}

/** Keeps secrets out of what is written: which header names are secret, and the run's redactor. */
export interface Scrubber {
  isSecretHeader(lowerCaseName: string): boolean;
  redactor: Redactor;
}

/** The request as the rules see it (and as the cache stores its Vary headers): secrets dropped. */
export function requestView(plan: PlannedRequest, scrubber: Scrubber): RequestView {
  const headers: { [name: string]: string } = {};
  for (const [name, value] of plan.headers) {
    const lower = name.toLowerCase();
    if (scrubber.isSecretHeader(lower)) continue;
    const scrubbed = scrubber.redactor.text(value);
    headers[lower] = headers[lower] === undefined ? scrubbed : `${headers[lower]}, ${scrubbed}`;
  }
  headers.host = plan.url.host;
  const url = new URL(plan.url.href);
  url.hash = ''; // never sent: not part of what the server answered
  return { url: scrubber.redactor.url(url), method: plan.method, headers };
}

/** The answer's metadata as it goes to disk, beside its body. */
export function toStoredAnswer(request: RequestView, outcome: ResponseOutcome, receivedAt: number, scrubber: Scrubber): StoredAnswer {
  const headers = scrubHeaders(outcome.headers, scrubber);
  const varyNames = joined(headers.vary)
    ?.split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const varied: { [name: string]: string } = {};
  for (const name of varyNames ?? []) {
    const value = request.headers[name];
    if (value !== undefined) varied[name] = value;
  }
  return {
    v: 1,
    url: request.url,
    method: request.method,
    status: outcome.status,
    statusText: scrubber.redactor.text(outcome.statusText),
    headers,
    varied,
    receivedAt,
  };
}

/** Response headers with every secret one dropped and the rest redacted. */
export function scrubHeaders(headers: { readonly [name: string]: string | string[] }, scrubber: Scrubber): { [name: string]: string | string[] } {
  const kept: { [name: string]: string | string[] } = {};
  for (const [name, value] of Object.entries(headers)) {
    if (scrubber.isSecretHeader(name.toLowerCase())) continue;
    kept[name] = Array.isArray(value) ? value.map((each) => scrubber.redactor.text(each)) : scrubber.redactor.text(value);
  }
  return kept;
}

/** What the rules need of a stored answer. */
export function exchangeOf(stored: StoredAnswer): StoredExchange {
  return {
    request: { url: stored.url, method: stored.method, headers: { ...stored.varied, host: hostOf(stored.url) } },
    answer: answerView(stored.status, stored.headers),
    receivedAt: stored.receivedAt,
  };
}

/** Headers as the rules take them: one string each, repeated ones joined. */
export function answerView(status: number, headers: { readonly [name: string]: string | string[] }): AnswerView {
  const view: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(headers)) view[name.toLowerCase()] = joined(value)!;
  return { status, headers: view };
}

/**
 * A 304's merged headers in the shape records show: a header the 304 left as it was keeps its
 * stored shape (a repeated header stays a list).
 */
export function withStoredShapes(merged: { [name: string]: string }, stored: StoredAnswer['headers']): StoredAnswer['headers'] {
  const shaped: StoredAnswer['headers'] = {};
  for (const [name, value] of Object.entries(merged)) {
    const before = stored[name];
    shaped[name] = before !== undefined && joined(before) === value ? before : value;
  }
  return shaped;
}

/** The outcome a record is made of, from a stored answer and its body. */
export function storedOutcome(stored: StoredAnswer, body: Buffer, bodyFormat: BodyFormat, latencyMs: number): ResponseOutcome {
  const contentType = firstHeaderValue(stored.headers['content-type']) ?? null;
  const formatted = formatBody(body, contentType, bodyFormat);
  return {
    kind: 'response',
    status: stored.status,
    statusText: stored.statusText,
    headers: stored.headers,
    contentType,
    bytes: body.length,
    bodyEncoding: formatted.bodyEncoding,
    body: formatted.body,
    latencyMs,
    sentMs: undefined,
    roundTripMs: undefined,
    rawBody: undefined,
  };
}

/** The metadata read back, or undefined when it is not what we write (another version, a damaged index). */
export function readStoredAnswer(metadata: unknown): StoredAnswer | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const m = metadata as { [field: string]: unknown };
  const isHeaders = (value: unknown, allowLists: boolean) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((each) => typeof each === 'string' || (allowLists && Array.isArray(each) && each.every((item) => typeof item === 'string')));
  const valid =
    m.v === 1 &&
    typeof m.url === 'string' &&
    URL.canParse(m.url) &&
    typeof m.method === 'string' &&
    Number.isInteger(m.status) &&
    typeof m.statusText === 'string' &&
    isHeaders(m.headers, true) &&
    isHeaders(m.varied, false) &&
    typeof m.receivedAt === 'number' &&
    Number.isFinite(m.receivedAt);
  return valid ? (metadata as StoredAnswer) : undefined;
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function hostOf(url: string): string {
  return new URL(url).host;
}
