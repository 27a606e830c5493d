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
   * The server said "slow down": a 429. readHints reads no more; the lane's rate controller then
   * judges a 503 (issue #23): one when its 503s prove to be load shedding, else a fault, whose
   * Retry-After delays that request's retry alone (lane-pacing.ts hands the judged hints on).
   */
  isThrottle: boolean;
  /** The wait the server asked for (Retry-After), in ms from `now`; on any status, as the retry table decides what it is worth. */
  retryAfterMs: number | undefined;
  /** A Retry-After came but could not be read, so it is ignored (the retry reason says so). */
  hasUnreadableRetryAfter: boolean;
  /** The tightest quota the headers state, on any status; the lane pacing decides when it counts. */
  quota: QuotaState | undefined;
  /**
   * The lane that answered is paced at a rate (its controller's, --rps, --host-rps or a --limit
   * rule): set by the lane pacing, as isThrottle is. A fault's retry then takes its turn in that
   * pace with no backoff of its own (policy.ts).
   */
  lanePaced?: boolean;
}

/** What an attempt that got no answer (a failure) tells: nothing. */
export const NO_HINTS: AnswerHints = Object.freeze({ isThrottle: false, retryAfterMs: undefined, hasUnreadableRetryAfter: false, quota: undefined });

/** Reads the hints of `response`, answered at `now` (epoch ms, which an HTTP-date is measured from). */
export function readHints(response: ResponseOutcome, now: number): AnswerHints {
  const header = response.headers['retry-after'];
  const quota = parseQuotaHeaders(response.headers, now);
  // Most answers say nothing of pacing: they share one reading.
  if (header === undefined && quota === undefined && response.status !== 429) return NO_HINTS;
  const retryAfterMs = parseRetryAfter(header, now);
  return {
    isThrottle: response.status === 429,
    retryAfterMs,
    hasUnreadableRetryAfter: header !== undefined && retryAfterMs === undefined,
    quota,
  };
}
