import type { BodyEncoding, ErrorCode } from '../record.js';

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
