/**
 * Slow start keeps the end of each second free for a fill: if its doubling meets a window on the
 * clock, the first refusal should come early enough in its second that the second after the
 * pause can still be filled (clock-windows.ts).
 */
import { PerSecond } from './counts.js';
import { ADAPTIVE, startToReachSecond } from './tuning.js';

export interface SlowStartContext {
  rps: number;
  /** When the rate last went up. */
  raisedAt: number;
  toServerMs: number;
  roundTripMs: number;
}

export class SecondsEndGuard {
  /** Starts in slow start, by the clock second they reach the server in. */
  readonly #startsBySecond = new PerSecond();

  /**
   * A start at `now`. When the next start would make its second the busiest yet, too late in it
   * to fill after a refusal, hold the lane until the next second.
   */
  noteStart(now: number, context: SlowStartContext): { holdUntil: number } | undefined {
    const { rps, raisedAt, toServerMs, roundTripMs } = context;
    const guardMs = ADAPTIVE.minFillMs + ADAPTIVE.fillMarginMs + roundTripMs + ADAPTIVE.answerLagMs;
    const arrivedAt = now + toServerMs;
    this.#startsBySecond.add(arrivedAt);
    // A slow API could not fill the end of a second anyway; a rate that stopped rising counts
    // alike every second.
    if (guardMs > ADAPTIVE.longestSlowStartGuardMs || now - raisedAt > ADAPTIVE.slowStartGuardAfterRaiseMs) return undefined;
    const second = Math.floor(arrivedAt / 1000);
    const busiestBefore = Math.max(...[1, 2, 3].map((ago) => this.#startsBySecond.count(second - ago)));
    const nextArrivesAt = arrivedAt + 1000 / rps;
    const guardFrom = (second + 1) * 1000 - guardMs;
    if (this.#startsBySecond.count(second) + 1 <= busiestBefore || nextArrivesAt < guardFrom) return undefined;
    return { holdUntil: startToReachSecond(second + 1, toServerMs) };
  }
}
