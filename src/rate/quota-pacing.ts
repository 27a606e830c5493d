/**
 * A pure pacing decision from a quota (issue #11): pause until the reset, cap the rate, or
 * leave it alone. The caller passes the clock; nothing here sets a timer or touches the limiter.
 *
 * Separate from reading the headers because it works on the neutral `QuotaState` whatever
 * family it came from, and because its tuning (`QUOTA_PACING`) is a policy choice, not a
 * parsing rule.
 */
import { effectiveResetMs, type QuotaState } from '../retry/quota-state.js';
import { SECOND_MS } from '../retry/quota-values.js';

export type QuotaPacing = { pauseUntilMs: number } | { rps: number };

/** Tuning for `decideQuotaPacing`, in one table. */
export const QUOTA_PACING = {
  /** Remaining at or below this share of the limit counts as low. */
  lowFraction: 0.1,
  /** The spread rate never drops below this (one request per 10 s): with so little left, the
   * next response's `remaining: 0` turns into a pause until reset anyway. */
  minRps: 0.1,
} as const;

/**
 * A pure pacing decision from a quota. `inFlight` counts the requests still on the wire,
 * not the one whose response carried the headers; they will all be charged against what
 * remains. Without a reset time, one window from now stands in for it (the latest a window
 * can end); without either there is no time to spread over, and the decision is undefined.
 * - nothing left (remaining, less what is in flight, ≤ 0) → pause until the reset;
 * - low (≤ `lowFraction` of the limit, or ≤ inFlight + 1) → the rate that spreads what is
 *   left over the time left, at least `minRps`. It is a ceiling: the scheduler takes the
 *   lower of it and the configured rate;
 * - otherwise, or when the window has already reset → undefined (no change).
 */
export function decideQuotaPacing(quota: QuotaState, inFlight: number, nowMs: number): QuotaPacing | undefined {
  const { remaining, limit } = quota;
  const resetAtMs = effectiveResetMs(quota, nowMs);
  if (remaining === undefined || resetAtMs === undefined || !(resetAtMs > nowMs)) return undefined;
  const pending = Number.isFinite(inFlight) && inFlight > 0 ? inFlight : 0;
  const available = remaining - pending;
  if (available <= 0) return { pauseUntilMs: resetAtMs };
  const isLow = (limit !== undefined && remaining <= limit * QUOTA_PACING.lowFraction) || remaining <= pending + 1;
  if (!isLow) return undefined;
  const secondsLeft = (resetAtMs - nowMs) / SECOND_MS;
  return { rps: Math.max(QUOTA_PACING.minRps, available / secondsLeft) };
}
