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
import type { QuotaWindow } from './quota-windows.js';

/** Pause until `pauseUntilMs`, and/or hold the rate to `rps` (after the pause too). */
export type QuotaPacing = { pauseUntilMs: number; rps?: number } | { rps: number };

/** Tuning for `decideQuotaPacing`, in one table. */
export const QUOTA_PACING = {
  /** Remaining at or below this share of the limit counts as low. */
  lowFraction: 0.1,
  /** The spread rate never drops below this (one request per 10 s): with so little left, the
   * next response's `remaining: 0` turns into a pause until reset anyway. */
  minRps: 0.1,
  /**
   * Windows no longer than this, as the turns of windows bound them (quota-windows.ts), are
   * paced evenly at `paceShare` of limit ÷ window: resets in whole seconds all name the same
   * second for them, and a pause to it would idle several windows. Longer ones are used as they
   * come, with a pause at the end of each (the end the turns show, when sooner than the reset's).
   */
  longestPacedWindowMs: 1_000,
  paceShare: 0.97,
} as const;

/**
 * A pure pacing decision from a quota. `inFlight` counts the requests still on the wire,
 * not the one whose response carried the headers; they will all be charged against what
 * remains. Without a reset time, one window from now stands in for it (the latest a window
 * can end); without either there is no time to spread over, and the decision is undefined.
 * `window` is what the turns of windows showed (quota-windows.ts): a window that opened at
 * `openedAt` has turned by `longestMs` later, whatever a reset rounded up to whole seconds says.
 * - nothing left (remaining, less what is in flight, ≤ 0) → pause until the reset;
 * - low (≤ `lowFraction` of the limit, or ≤ inFlight + 1) → the rate that spreads what is
 *   left over the time left, at least `minRps`. It is a ceiling: the scheduler takes the
 *   lower of it and the configured rate;
 * - a short window of known length → `paceShare` of limit ÷ window, evenly;
 * `roomAtMs`, when the lane's own starts explain the count of a policy (q per w), is when they
 * say there is room again (quota-ledger.ts): a used-up quota's pause ends then (when sooner
 * than the reset), and a low remaining is not spread;
 * - otherwise, or when the window has already reset → undefined (no change).
 */
export function decideQuotaPacing(
  quota: QuotaState,
  inFlight: number,
  nowMs: number,
  window?: QuotaWindow,
  toServerMs = 0,
  roomAtMs?: number,
): QuotaPacing | undefined {
  const { remaining, limit } = quota;
  const statedResetMs = effectiveResetMs(quota, nowMs);
  // Paced by the longest a window can be, each gets its quota at most. Before two turns bound
  // it, the current window's quota is spread to its stated reset: that too keeps each window
  // to its quota, and the turns it then sees bound the length.
  const firstSpanMs = window !== undefined && statedResetMs !== undefined ? statedResetMs - window.openedAt : undefined;
  const lengthMs = quota.windowMs === undefined ? (window?.longestMs ?? firstSpanMs) : undefined;
  const paced = limit !== undefined && lengthMs !== undefined && lengthMs > 0 && lengthMs <= QUOTA_PACING.longestPacedWindowMs;
  const evenRps = paced ? { rps: ((limit * SECOND_MS) / lengthMs) * QUOTA_PACING.paceShare } : undefined;
  const windowEndMs = quota.windowMs === undefined && window?.longestMs !== undefined ? window.openedAt + window.longestMs : undefined;
  const byTurns = windowEndMs !== undefined && windowEndMs > nowMs && statedResetMs !== undefined && windowEndMs < statedResetMs;
  const resetAtMs = byTurns ? windowEndMs : statedResetMs;
  if (remaining === undefined || resetAtMs === undefined || !(resetAtMs > nowMs)) return evenRps;
  const pending = Number.isFinite(inFlight) && inFlight > 0 ? inFlight : 0;
  const available = remaining - pending;
  // A window paced evenly stays paced after the pause: the next one would be burst away otherwise.
  // The turns are times of arrival as the lane reckons them (its start plus half a round trip):
  // a request started that long before the turn is reckoned to arrive at it. A stated reset is
  // the server's own time, and waits for it whole.
  const resumeAtMs = byTurns ? Math.max(nowMs, resetAtMs - toServerMs) : resetAtMs;
  // The lane's own starts explain the server's count and say when it has room (quota-ledger.ts;
  // the lane holds each start to them): a used-up quota waits for that, no longer, and what is
  // left is not spread. Spread over a `t` that moves on with every answer, the rate only sinks;
  // waited out whole, each `t` idles most of a window.
  // A wait no longer than the policy's spacing (w / q) is pacing, which the lane's hold on each
  // start does already: only a longer one pauses the lane (and says so).
  if (roomAtMs !== undefined) {
    const untilMs = Math.min(resumeAtMs, roomAtMs);
    const spacingMs = limit !== undefined && quota.windowMs !== undefined ? quota.windowMs / limit : 0;
    return available <= 0 && untilMs - nowMs > spacingMs ? { pauseUntilMs: untilMs, ...evenRps } : evenRps;
  }
  if (available <= 0) return evenRps === undefined ? { pauseUntilMs: resumeAtMs } : { pauseUntilMs: resumeAtMs, ...evenRps };
  const isLow = (limit !== undefined && remaining <= limit * QUOTA_PACING.lowFraction) || remaining <= pending + 1;
  // Paced evenly, a window's last requests are no sign of running short.
  if (!isLow || evenRps !== undefined) return evenRps;
  const secondsLeft = (resetAtMs - nowMs) / SECOND_MS;
  return { rps: Math.max(QUOTA_PACING.minRps, available / secondsLeft) };
}
