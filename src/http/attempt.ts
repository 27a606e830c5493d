/**
 * One HTTP attempt: send, read and decode the body under a cap and an overall deadline, and
 * describe what happened as a value. No retries, no sleeping, no Retry-After here.
 */
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable, Transform } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { BodyFormat } from '../options.js';
import { formatDuration } from '../text.js';
import { classifyError } from './classify.js';
import { REDIRECT_STATUSES, firstHeaderValue, type AttemptOutcome, type BodyEncoding, type HeldOutcome, type ResponseOutcome } from './outcome.js';

export interface AttemptRequest {
  method: string;
  url: URL;
  headers: Array<[string, string]>;
  body: string | Uint8Array | undefined;
}

export interface AttemptSettings {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBodyBytes: number;
  bodyFormat: BodyFormat;
  /** When true, a 3xx with a Location is a hop: its body is discarded, not decoded. */
  followRedirects: boolean;
  /** Aborts the attempt at once (hard stop after an interrupt's grace). */
  signal?: AbortSignal | undefined;
  /**
   * Asked the moment undici is about to write the request, which can be well after the attempt
   * started (it waits for a connect, or for a socket undici frees only on the next turn of the
   * event loop); false holds it back unsent.
   */
  mayGoOnTheWire?: (() => boolean) | undefined;
}

class AttemptTimeout extends Error {}
class BodyTooLarge extends Error {}
class HeldBack extends Error {}

export async function attempt(req: AttemptRequest, settings: AttemptSettings): Promise<AttemptOutcome | HeldOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const wire: WireTimes = {};
  const controller = new AbortController();
  // undici's bodyTimeout measures gaps between chunks; a slow-drip body needs a whole deadline.
  const deadline = setTimeout(() => controller.abort(new AttemptTimeout()), settings.timeoutMs);
  const stop = () => controller.abort(settings.signal?.reason);
  settings.signal?.addEventListener('abort', stop, { once: true });
  if (settings.signal?.aborted) stop();

  try {
    const response = await request(req.url, {
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers.flat(),
      body: req.body,
      signal: controller.signal,
      dispatcher: timed(settings.dispatcher, wire, () => {
        if (settings.mayGoOnTheWire?.() === false) controller.abort(new HeldBack());
      }),
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
    const headers = normalizeHeaders(response.headers);
    const contentType = firstHeaderValue(headers['content-type']) ?? null;
    const base = {
      kind: 'response' as const,
      status: response.statusCode,
      statusText: response.statusText,
      headers,
      contentType,
      ...wireOffsets(wire, started),
    };

    const isHop = settings.followRedirects && REDIRECT_STATUSES.has(response.statusCode) && headers.location !== undefined;
    if (isHop || req.method === 'HEAD') {
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return { ...base, bytes: 0, bodyEncoding: 'none', body: null, latencyMs: elapsed() };
    }

    const keep = settings.bodyFormat !== 'none';
    const { bytes, buffer } = await readBody(response.body, firstHeaderValue(headers['content-encoding']), settings.maxBodyBytes, keep);
    const { bodyEncoding, body } = formatBody(buffer, contentType, settings.bodyFormat);
    const outcome: ResponseOutcome = { ...base, bytes, bodyEncoding, body, latencyMs: elapsed() };
    return outcome;
  } catch (error) {
    const reason = controller.signal.aborted ? controller.signal.reason : undefined;
    if (reason instanceof HeldBack) return { kind: 'held' };
    if (reason instanceof AttemptTimeout) {
      return { kind: 'failure', code: 'TIMEOUT', message: `timed out after ${formatDuration(settings.timeoutMs)}`, latencyMs: elapsed() };
    }
    if (controller.signal.aborted) {
      return { kind: 'failure', code: 'INTERRUPTED', message: 'interrupted while in flight', latencyMs: elapsed() };
    }
    if (error instanceof BodyTooLarge) {
      return {
        kind: 'failure',
        code: 'BODY_TOO_LARGE',
        message: `body larger than ${settings.maxBodyBytes} bytes (--max-body)`,
        latencyMs: elapsed(),
      };
    }
    const { code, message } = classifyError(error);
    return { kind: 'failure', code, message, latencyMs: elapsed() };
  } finally {
    clearTimeout(deadline);
    settings.signal?.removeEventListener('abort', stop);
  }
}

/** When the request went on the wire and when its answer's headers came back (performance.now()). */
interface WireTimes {
  sentAt?: number;
  answeredAt?: number;
}

/**
 * The dispatcher, noting in `wire` when undici writes the request to a connected socket and
 * when the headers come back, and calling `onWire` just before the write (an abort then stops
 * it). A request's first attempt on a new connection waits for the connect: on loopback
 * 20-40 ms, over a network a round trip or more.
 */
function timed(dispatcher: Dispatcher, wire: WireTimes, onWire: () => void): Dispatcher {
  return dispatcher.compose(
    (dispatch) => (options, handler) =>
      dispatch(options, {
        onRequestStart: (controller, context) => {
          wire.sentAt = performance.now();
          handler.onRequestStart?.(controller, context);
          onWire();
        },
        onRequestUpgrade: (controller, statusCode, headers, socket) => handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
        onResponseStart: (controller, statusCode, headers, statusMessage) => {
          wire.answeredAt = performance.now();
          handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
        },
        onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
        onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
        onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
      }),
  );
}

function wireOffsets(wire: WireTimes, started: number): Pick<ResponseOutcome, 'sentMs' | 'roundTripMs'> {
  if (wire.sentAt === undefined || wire.answeredAt === undefined) return {};
  return { sentMs: wire.sentAt - started, roundTripMs: wire.answeredAt - wire.sentAt };
}

async function readBody(body: Readable, contentEncoding: string | undefined, maxBodyBytes: number, keep: boolean): Promise<{ bytes: number; buffer: Buffer }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const decoders = decodersFor(contentEncoding);
  let tooLarge = false;
  const collect = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      bytes += chunk.length;
      if (bytes > maxBodyBytes) {
        tooLarge = true;
        throw new BodyTooLarge();
      }
      if (keep) chunks.push(chunk);
    }
  };
  try {
    await (pipeline as (...streams: unknown[]) => Promise<void>)(body, ...decoders, collect);
  } catch (error) {
    // With a decoder in between, Node's pipeline rejects with an AbortError instead of the
    // error the last stage threw (seen with a gzip bomb), so the cap is remembered here.
    throw tooLarge ? new BodyTooLarge() : error;
  }
  return { bytes, buffer: Buffer.concat(chunks) };
}

/** Content-Encoding lists codings in the order applied, so they are undone in reverse. */
function decodersFor(contentEncoding: string | undefined): Transform[] {
  if (!contentEncoding) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c && c !== 'identity');
  const decoders: Transform[] = [];
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') decoders.push(createGunzip());
    else if (coding === 'deflate') decoders.push(createInflate());
    else if (coding === 'br') decoders.push(createBrotliDecompress());
    else return []; // An unknown coding: keep the bytes as sent rather than guess.
  }
  return decoders;
}

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\b|^text\/json\b/i;
const TEXT_TYPE = /^(?:text\/|application\/(?:[\w.+-]*\+)?(?:xml|javascript|ecmascript|x-www-form-urlencoded|csv)\b)/i;

function formatBody(buffer: Buffer, contentType: string | null, format: BodyFormat): { bodyEncoding: BodyEncoding; body: unknown } {
  if (format === 'none' || buffer.length === 0) return { bodyEncoding: 'none', body: null };
  if (format === 'base64') return { bodyEncoding: 'base64', body: buffer.toString('base64') };
  const type = contentType ?? '';
  const wantsJson = format === 'json' || (format === 'auto' && JSON_TYPE.test(type));
  if (wantsJson) {
    const text = decodeText(buffer, type);
    try {
      return { bodyEncoding: 'json', body: JSON.parse(text) };
    } catch {
      return { bodyEncoding: 'text', body: text };
    }
  }
  if (format === 'text' || TEXT_TYPE.test(type)) return { bodyEncoding: 'text', body: decodeText(buffer, type) };
  return { bodyEncoding: 'base64', body: buffer.toString('base64') };
}

function decodeText(buffer: Buffer, contentType: string): string {
  const charset = /charset="?([\w.:-]+)"?/i.exec(contentType)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(buffer);
  } catch {
    return new TextDecoder('utf-8').decode(buffer);
  }
}

function normalizeHeaders(raw: Record<string, string | string[] | undefined>): { [name: string]: string | string[] } {
  const headers: { [name: string]: string | string[] } = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return headers;
}
