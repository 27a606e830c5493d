/**
 * The numbers of the limit finder (limit-finder.ts), named after the step each one belongs to;
 * docs/rate-control.md tells the steps in order.
 */
export const ADAPTIVE = {
  startRps: 8,
  /** One request a minute: below that, waiting for Retry-After is the better tool. */
  floorRps: 1 / 60,
  slowStartStepMs: 250,
  climbStepMs: 1_000,
  climbFactor: 1.05,
  minAnswersToClimb: 2,
  /** The rate rests at this fraction of the measured limit … */
  settleFraction: 0.97,
  /** … or this fraction of the rate the last 429 was drawn at, whichever is lower, … */
  refusedFraction: 0.95,
  /** … for this long before probing past it, … */
  probeAfterMs: 30_000,
  /** … or this long when the measure was under a quarter of the rate sent. */
  shortRestMs: 3_000,
  /** After a drop, the rest before the first probe back to the rate that held (recovery.ts); each probe back doubles it. */
  firstProbeBackMs: 6_000,
  /** After slow start's first refusal saw its ramp (cut.ts), each probe step doubles, as slow start did. */
  rampProbeFactor: 2,
  deepestCut: 0.25,
  shallowestCut: 0.9,
  cutHoldMs: 1_000,
  /** A 429 at the plateau this long after the last change says the limit went down; sooner, it measures again. */
  heldCleanMs: 5_000,
  /** A Retry-After longer than this says the server's windows are longer than a second. */
  longWaitMs: 2_000,
  /**
   * A Retry-After at least this long says a long window's count ran out, not that the rate was
   * too high: the lane waits it out and keeps its rate, so the next window is used whole (a cut
   * would spread it thin and leave most of it unused). One refusal a window is then at most one
   * per 10 s.
   */
  longWindowMs: 10_000,
  /** The last start of a long window's count holds the lane at least this long (or two round trips) before the next. */
  lastOfWindowHoldMs: 50,
  measureWindowMs: 2_000,
  /** Lateness a start may catch up on; see pacingBurst. */
  lateCreditMs: 30,
  /** A start this much closer to the one before than the rate's interval was catching up. */
  catchUpGap: 0.9,
  /** A step refused this much above the rate that held clean before it overshot a limit in between. */
  overshootStep: 1.1,
  /** A fill stops this long before the clock second ends (plus the time to reach the server) … */
  fillMarginMs: 50,
  /** … and is not worth it with less than this left. */
  minFillMs: 100,
  /**
   * A start held for the next clock second goes this long after it begins (as the server will
   * count it): a timer may fire a millisecond early, the trip to the server is its quickest
   * recent one, and the server's clock may be a little behind ours. Right at the start, now and
   * then one counted in the second before, whose count was spent: a 429, and a second lost.
   */
  nextSecondMarginMs: 20,
  /** Slow start leaves the end of a second for a fill: minFillMs, the margin, a round trip, and this for a busy event loop … */
  answerLagMs: 50,
  /** … only while that end is no longer than this, … */
  longestSlowStartGuardMs: 500,
  /** … and only this long after a doubling: a rate that stopped rising counts alike every second. */
  slowStartGuardAfterRaiseMs: 2_000,
} as const;

/**
 * The depth of the controller's bucket. In a depth-1 bucket a timer that fires late loses that
 * time for good (18.3/s came out of a 19.4/s pace); a credit of 30 ms of starts catches it up,
 * and no second can still hold more than 1 + 1.03 × rate starts: at 97% of a limit L, under
 * L + 1 for any L. A server that refuses any two requests closer than its interval (a token
 * bucket of depth 1) refuses those catch-ups, though: once it does, LimitFinder.burst turns
 * the credit off.
 */
export function pacingBurst(rps: number): number {
  return Number.isFinite(rps) ? 1 + (rps * ADAPTIVE.lateCreditMs) / 1000 : 1;
}

/** When to start a request so that it reaches the server just after the clock second `second` begins. */
export function startToReachSecond(second: number, toServerMs: number): number {
  return second * 1000 - toServerMs + ADAPTIVE.nextSecondMarginMs;
}
