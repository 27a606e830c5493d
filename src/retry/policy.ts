/**
 * The retry policy: which outcomes are worth another attempt, and how long to wait first.
 * Pure: it returns a decision and the scheduler acts on it (sets timers, pauses the host).
 */
import { describeOutcome, type AttemptOutcome } from '../http/outcome.js';
import type { ErrorCode } from '../record/error-codes.js';
import type { AnswerHints } from './hints.js';
import { formatDuration } from '../text.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff step before jitter; doubles each retry. */
  backoffBaseMs: number;
  /** Cap on computed backoff (before jitter). */
  maxBackoffMs: number;
  /** A server-given wait longer than this fails the record with RETRY_AFTER_TOO_LONG. */
  maxRetryAfterMs: number;
}

export type RetryDecision =
  | {
      retry: false;
      /** False when a later run should try this input again (see FetchRecord.final). */
      final: boolean;
      code?: 'RETRY_AFTER_TOO_LONG';
      /** The too-long wait the server asked for, in ms. */
      waitMs?: number;
      /**
       * Set when this input is out of retries but its answer is a throttle (AnswerHints.isThrottle):
       * the host is paused all the same, for the other requests to it.
       */
      hostPause?: { delayMs: number; source: 'server' | 'backoff'; reason: string };
    }
  | {
      retry: true;
      delayMs: number;
      source: 'server' | 'backoff';
      /** Pause every request to this host, not just this one: the server said "slow down". */
      pauseHost: boolean;
      /** Short, already safe to print: `429 Too Many Requests, Retry-After 5s`. */
      reason: string;
    };

interface RetryRule {
  on: number | ErrorCode;
  /** Also retried for POST, PATCH and other non-idempotent methods. */
  anyMethod: boolean;
}

/**
 * The one table. Idempotent methods are retried on every entry; other methods only where the
 * server certainly did not act on the request, since repeating a POST that was processed
 * would do it twice.
 */
const RETRY_TABLE: readonly RetryRule[] = [
  { on: 429, anyMethod: true }, // Too Many Requests: rejected by the rate limiter, not processed
  { on: 503, anyMethod: true }, // Service Unavailable: overloaded or in maintenance, not processed
  { on: 500, anyMethod: false }, // Internal Server Error: often transient, but may have had effects
  { on: 502, anyMethod: false }, // Bad Gateway: the upstream may have processed it
  { on: 504, anyMethod: false }, // Gateway Timeout: the upstream may still be processing it
  { on: 'CONNECTION_RESET', anyMethod: false }, // dropped mid-request: may have been processed
  { on: 'CONNECTION_REFUSED', anyMethod: true }, // nothing accepted the connection: never reached a server
  { on: 'TIMEOUT', anyMethod: false }, // no complete answer in time: may have been processed
];

/** RFC 9110 §9.2.2 idempotent methods that we retry on every table entry. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Short phrases for the retryable failure codes (the outcome message may be longer). */
const FAILURE_PHRASES: { readonly [code in ErrorCode]?: string } = {
  CONNECTION_RESET: 'connection reset',
  CONNECTION_REFUSED: 'connection refused',
  TIMEOUT: 'timed out',
};

/**
 * Our own disk failed, not the server (--save: disk full, permission denied): not retried at
 * once, as the next attempt would meet the same disk, but not final either, so a later run
 * fetches it again once there is room.
 */
function isLocalFault(outcome: AttemptOutcome): boolean {
  return outcome.kind === 'failure' && outcome.code === 'SAVE_FAILED';
}

/** Whether this outcome is worth another attempt for this method (ignores attempts left). */
export function isRetryable(outcome: AttemptOutcome, method: string): boolean {
  const key = outcome.kind === 'response' ? outcome.status : outcome.code;
  const rule = RETRY_TABLE.find((entry) => entry.on === key);
  if (rule === undefined) return false;
  return rule.anyMethod || IDEMPOTENT_METHODS.has(String(method).toUpperCase());
}

/**
 * What to do after attempt number `attempt` (1-based, attempts made so far), from the outcome and
 * the hints read from it (hints.ts: the same reading the lane pacing acts on).
 *
 * Order: success or not retryable → final; retries used up → not final; then Retry-After.
 * "Retries used up" is checked before "Retry-After too long" so the record reports the
 * attempt budget, which is what stopped us, rather than a wait we would not have made anyway.
 * A Retry-After we cannot parse means normal backoff, never "do not retry".
 */
export function decideRetry(
  outcome: AttemptOutcome,
  hints: AnswerHints,
  attempt: number,
  method: string,
  policy: RetryPolicy,
  random: () => number,
): RetryDecision {
  if (!isRetryable(outcome, method)) return { retry: false, final: !isLocalFault(outcome) };
  const wait = decideWait(outcome, hints, attempt, policy, random);
  if (attempt > policy.retries) {
    if (!wait.retry || !wait.pauseHost) return { retry: false, final: false };
    return { retry: false, final: false, hostPause: { delayMs: wait.delayMs, source: wait.source, reason: wait.reason } };
  }
  return wait;
}

/** How long a retryable outcome says to wait, and whether the wait is the whole host's. */
function decideWait(outcome: AttemptOutcome, hints: AnswerHints, attempt: number, policy: RetryPolicy, random: () => number): RetryDecision {
  const description = describeOutcome(outcome);
  if (outcome.kind === 'failure') {
    return {
      retry: true,
      delayMs: faultDelayMs(attempt, hints, policy, random),
      source: 'backoff',
      pauseHost: false,
      reason: FAILURE_PHRASES[outcome.code] ?? description,
    };
  }

  // A throttle's wait is the whole host's; any other status waits for this request alone.
  const { retryAfterMs: serverMs, isThrottle } = hints;
  if (serverMs === undefined) {
    const ignored = hints.hasUnreadableRetryAfter ? ', unparsable Retry-After ignored' : '';
    return {
      retry: true,
      delayMs: isThrottle ? computeBackoffMs(attempt, policy, random) : faultDelayMs(attempt, hints, policy, random),
      source: 'backoff',
      pauseHost: isThrottle,
      reason: description + ignored,
    };
  }
  if (serverMs > policy.maxRetryAfterMs) {
    return { retry: false, final: false, code: 'RETRY_AFTER_TOO_LONG', waitMs: serverMs };
  }
  // Retry-After is authoritative: no jitter, the server picked the moment.
  return {
    retry: true,
    delayMs: serverMs,
    source: 'server',
    pauseHost: isThrottle,
    reason: `${description}, Retry-After ${formatDuration(serverMs)}`,
  };
}

/**
 * The wait before a fault's retry (not a refusal's, and not a server-given wait). When a rate
 * paces the lane (hints.lanePaced), none: the retry takes its next turn in that pace like any
 * request, so it adds no load the rate does not already allow, and the pace spreads the retries
 * of faults that came together as full jitter would. A backoff on top only idled the slot and
 * stretched the run's end, where the last inputs' retries came after everything else (npm run
 * simulate, faults30 --rps auto: 0.748 → 0.78). With no rate (no --rps, before a first 429), the
 * backoff is all that spaces the retries, and it stays.
 */
export function faultDelayMs(attempt: number, hints: AnswerHints, policy: RetryPolicy, random: () => number): number {
  return hints.lanePaced === true ? 0 : faultBackoffMs(attempt, policy, random);
}

/**
 * The backoff of a fault that is not a refusal (a 500, a 502 or 504, a 503 not judged load
 * shedding, a reset, a timeout): it stops growing after the second step (backoffBaseMs × 2).
 * Such a fault says nothing of the rate: the lane's pace (the rate controller, --rps) and
 * --concurrency already bound the load, and the retry waits for its turn in them like any
 * request. A longer wait for one input only lengthens the end of the run: with 30% of answers
 * failing at random, the last inputs' 4 to 16 s waits added 5 to 17 s to it (npm run simulate,
 * faults30). A server down altogether is the circuit breaker's (--max-connection-failures,
 * --max-error-rate).
 */
export function faultBackoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  return computeBackoffMs(Math.min(attempt, FAULT_BACKOFF_STEPS), policy, random);
}

const FAULT_BACKOFF_STEPS = 2;

/**
 * Exponential backoff with full jitter: `random()` × min(maxBackoffMs, base × 2^(attempt−1)),
 * floored to whole ms. Full jitter spreads a crowd of clients that failed together.
 */
export function computeBackoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  // Clamp the exponent so that a base of 0 never meets 2^1024 = Infinity (0 × Infinity = NaN).
  const exponent = Math.min(Math.max(Math.floor(attempt) - 1, 0), 1000);
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffBaseMs * 2 ** exponent);
  const r = random();
  const jitter = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  const delay = Math.floor(jitter * ceiling);
  return Number.isFinite(delay) ? Math.max(0, delay) : 0;
}
