/**
 * One reading of an answer: what a response tells the client about pacing (a throttle, a wait,
 * a quota), read once per attempt and handed to both the lane pacing and the retry decision, so
 * the two can never judge the same answer differently. Pure: the caller passes the clock.
 */
import type { ResponseOutcome } from '../http/outcome.js';
import { parseQuotaHeaders, type QuotaState } from './quota-headers.js';
import { parseRetryAfter } from './retry-after.js';

export interface AnswerHints {
  /**
   * The server said "slow down": a 429, or a 503 with a Retry-After we can read. A 503 whose
   * Retry-After we cannot read is a plain 503: bad server hints make us fall back, so it neither
   * pauses the host nor cuts the rate.
   */
  isThrottle: boolean;
  /** The wait the server asked for (Retry-After), in ms from `now`; on any status, as the retry table decides what it is worth. */
  retryAfterMs: number | undefined;
  /** A Retry-After came but could not be read, so it is ignored (the retry reason says so). */
  hasUnreadableRetryAfter: boolean;
  /** The tightest quota the headers state, on any status; the lane pacing decides when it counts. */
  quota: QuotaState | undefined;
}

/** What an attempt that got no answer (a failure) tells: nothing. */
export const NO_HINTS: AnswerHints = Object.freeze({ isThrottle: false, retryAfterMs: undefined, hasUnreadableRetryAfter: false, quota: undefined });

/** Reads the hints of `response`, answered at `now` (epoch ms, which an HTTP-date is measured from). */
export function readHints(response: ResponseOutcome, now: number): AnswerHints {
  const header = response.headers['retry-after'];
  const retryAfterMs = parseRetryAfter(header, now);
  const isThrottle = response.status === 429 || (response.status === 503 && retryAfterMs !== undefined);
  return {
    isThrottle,
    retryAfterMs,
    hasUnreadableRetryAfter: header !== undefined && retryAfterMs === undefined,
    quota: parseQuotaHeaders(response.headers, now),
  };
}
