/**
 * A response body, from the bytes on the wire to what a record carries: undo its
 * Content-Encoding under the --max-body cap, then parse JSON, decode text or keep base64.
 */
import { promisify } from 'node:util';
import type { Transform } from 'node:stream';
import { brotliDecompress, createBrotliDecompress, createGunzip, createInflate, gunzip, inflate, type ZlibOptions } from 'node:zlib';
import type { BodyFormat } from '../options.js';
import type { BodyEncoding } from './outcome.js';

/** The body, decoded, is larger than --max-body. */
export class BodyTooLarge extends Error {}

type Decoder = (buffer: Buffer, options: ZlibOptions) => Promise<Buffer>;
/** A Map, not an object: a coding the server names is never looked up on Object.prototype. */
const DECODERS = new Map<string, Decoder>([
  ['gzip', promisify(gunzip)],
  ['x-gzip', promisify(gunzip)],
  ['deflate', promisify(inflate)],
  ['br', promisify(brotliDecompress) as Decoder],
]);

/**
 * Undoes the codings of `contentEncoding` (listed in the order applied, so undone in reverse) on
 * zlib's thread pool. A body that would decode past `maxBytes` stops there (a gzip bomb costs no
 * more than the cap). An unknown coding keeps the bytes as sent rather than guess.
 */
export async function decodeBody(buffer: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  if (!contentEncoding || buffer.length === 0) return buffer;
  const codings = codingsToUndo(contentEncoding);
  if (codings === undefined) return buffer;
  let decoded = buffer;
  for (const coding of codings) {
    try {
      decoded = await DECODERS.get(coding)!(decoded, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge();
      throw error;
    }
  }
  if (decoded.length > maxBytes) throw new BodyTooLarge();
  return decoded;
}

/** The codings of a Content-Encoding in the order to undo them; undefined when one is unknown (the bytes are kept as sent). */
function codingsToUndo(contentEncoding: string): string[] | undefined {
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '' && coding !== 'identity');
  return codings.some((coding) => !DECODERS.has(coding)) ? undefined : codings.reverse();
}

const DECODING_STREAMS = new Map<string, () => Transform>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);

/** The streams that undo `contentEncoding`, in order, for a body written as it arrives (--save); none when unknown, as decodeBody does. */
export function decodingStreams(contentEncoding: string | undefined): Transform[] {
  if (!contentEncoding) return [];
  return (codingsToUndo(contentEncoding) ?? []).map((coding) => DECODING_STREAMS.get(coding)!());
}

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\b|^text\/json\b/i;
const TEXT_TYPE = /^(?:text\/|application\/(?:[\w.+-]*\+)?(?:xml|javascript|ecmascript|x-www-form-urlencoded|csv)\b)/i;

export function formatBody(buffer: Buffer, contentType: string | null, format: BodyFormat): { bodyEncoding: BodyEncoding; body: unknown } {
  if (format === 'none' || buffer.length === 0) return { bodyEncoding: 'none', body: null };
  if (format === 'base64') return { bodyEncoding: 'base64', body: buffer.toString('base64') };
  const type = readType(contentType ?? '');
  const wantsJson = format === 'json' || (format === 'auto' && type.isJson);
  if (wantsJson) {
    const text = decodeText(buffer, type.charset);
    try {
      return { bodyEncoding: 'json', body: JSON.parse(text) };
    } catch {
      return { bodyEncoding: 'text', body: text };
    }
  }
  if (format === 'text' || type.isText) return { bodyEncoding: 'text', body: decodeText(buffer, type.charset) };
  return { bodyEncoding: 'base64', body: buffer.toString('base64') };
}

interface TypeReading {
  contentType: string;
  isJson: boolean;
  isText: boolean;
  /** undefined for UTF-8, the default. */
  charset: string | undefined;
}

/** The last Content-Type read: a run's answers mostly share one, so its regexes run once. */
let lastType: TypeReading | undefined;

function readType(contentType: string): TypeReading {
  if (lastType?.contentType === contentType) return lastType;
  const charset = /charset="?([\w.:-]+)"?/i.exec(contentType)?.[1];
  lastType = {
    contentType,
    isJson: JSON_TYPE.test(contentType),
    isText: TEXT_TYPE.test(contentType),
    charset: charset === undefined || /^utf-?8$/i.test(charset) ? undefined : charset,
  };
  return lastType;
}

const UTF8 = new TextDecoder('utf-8');

function decodeText(buffer: Buffer, charset: string | undefined): string {
  if (charset === undefined) return UTF8.decode(buffer);
  try {
    return new TextDecoder(charset).decode(buffer);
  } catch {
    return UTF8.decode(buffer);
  }
}
