import { STATUS_CODES } from 'node:http';
import type { ErrorCode } from '../record/error-codes.js';
import { toOneLine } from '../text.js';

/** How a record carries the body: parsed JSON, text, base64 bytes, or none (HEAD, --body none). */
export type BodyEncoding = 'json' | 'text' | 'base64' | 'none';

/** The statuses that redirect (RFC 9110 §15.4) and that we follow with --max-redirects. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** What one HTTP attempt produced: the value handed from http/attempt.ts to the retry policy. */
export type AttemptOutcome = ResponseOutcome | FailureOutcome;

export interface ResponseOutcome {
  kind: 'response';
  status: number;
  statusText: string;
  /** Response headers, names lower-cased; repeated headers become arrays. */
  headers: { [name: string]: string | string[] };
  contentType: string | null;
  /** Decoded body size in bytes (0 for a redirect hop, whose body is discarded). */
  bytes: number;
  bodyEncoding: BodyEncoding;
  body: unknown;
  /** Attempt start to last body byte. */
  latencyMs: number;
  /** Attempt start to the request going on the wire (after any connect), when undici said. */
  sentMs?: number;
  /** The request going on the wire to its answer's headers, when undici said. */
  roundTripMs?: number;
  /** The decoded body's bytes, kept only when asked (--cache stores them). */
  rawBody?: Buffer | undefined;
  /** With --save: the file the body went to (`body` is then null). */
  saved?: SavedBody;
}

/** A body written whole to its file (--save): the path as the template made it, its size and SHA-256 (hex). */
export interface SavedBody {
  path: string;
  bytes: number;
  sha256: string;
}

/** The first value of a header that may have been repeated. */
export function firstHeaderValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The request never went on the wire: as undici was about to send it, the caller said its lane
 * had been told to wait meanwhile. Not an attempt; the caller queues it again.
 */
export interface HeldOutcome {
  kind: 'held';
}

export interface FailureOutcome {
  kind: 'failure';
  code: ErrorCode;
  /** What happened, without method or URL (the caller prefixes those), already redacted. */
  message: string;
  latencyMs: number;
}

/** `503 Service Unavailable`, or the failure message (already redacted by the attempt). */
export function describeOutcome(outcome: AttemptOutcome): string {
  if (outcome.kind === 'failure') return outcome.message || outcome.code;
  return describeStatus(outcome.status, outcome.statusText);
}

/** `404 Not Found`: the server's phrase if it sent one, else Node's. The phrase is the server's text: one short line. */
export function describeStatus(status: number, statusText: string): string {
  const phrase = toOneLine(statusText, 80) || STATUS_CODES[status] || '';
  return phrase ? `${status} ${phrase}` : String(status);
}
