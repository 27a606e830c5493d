/**
 * What a refusal does to the rate: pure functions of the finder's state, the refusal and the
 * measures taken from the evidence, with the time passed in. docs/rate-control.md tells the
 * same steps in prose.
 */
import { ADAPTIVE } from './tuning.js';

/** The limit finder's rate and what it remembers of the last changes. */
export interface RateState {
  rps: number;
  ceiling: number;
  slowStart: boolean;
  /** Where the climb rests before probing past: just under the limit the last refusal showed. */
  plateau: number;
  /** The rate before the last raise, and when it was raised. */
  previousRps: number;
  raisedAt: number;
  /** When the rate last changed. */
  changedAt: number;
  /** When the last cut was; answers to requests started before it say nothing of the rate now. */
  cutAt: number;
  /** The rate the last refusal was drawn at. */
  refusedRps: number;
  /** The server refused a start that caught up on a late one: no catch-up credit. */
  strictSpacing: boolean;
  /** The server sent quota headers: they pace the lane, and slow start would step aside at once. */
  quotaSeen: boolean;
}

export function startingState(rps: number, ceiling: number, slowStart: boolean, now: number): RateState {
  const never = -Infinity;
  return {
    rps,
    ceiling,
    slowStart,
    plateau: Infinity,
    previousRps: Infinity,
    raisedAt: never,
    changedAt: now,
    cutAt: never,
    refusedRps: Infinity,
    strictSpacing: false,
    quotaSeen: false,
  };
}

export interface Refusal {
  now: number;
  startedAt: number;
  /** When it most likely reached the server, which counted it then. */
  arrivedAt: number;
  retryAfterMs: number | undefined;
}

/** Whether a refusal has set the rate (as opposed to slow start, or standing aside). */
export function isSettled(state: Pick<RateState, 'rps' | 'slowStart'>): boolean {
  return Number.isFinite(state.rps) && !state.slowStart;
}

/**
 * The first reading of a refusal, before anything is measured:
 * - `same-episode`: sent before the last cut, or within cutHoldMs after it: not refused for the
 *   new rate (a used-up fixed window refuses everything until it ends). One cut per episode.
 * - `long-window`: a Retry-After of longWindowMs or more says a long window's count ran out,
 *   not that the rate was too high: keep the rate, so the next window is used whole.
 * - `fill`: a start of a fill (clock-windows.ts), which went faster than the rate: the server
 *   is no window on the clock, and the rate is kept (the seconds before are mostly the pause).
 * - `restart`: no rate of ours, no --rps, and a 429 that says nothing of when: the run went as
 *   fast as --concurrency lets it, and a burst's refusals measure a token bucket's depth, not its
 *   rate. Find the limit from slow start, as --rps auto does. (A window's 429 says when it ends,
 *   and the clock second it refused in measures the window: that reading stays.)
 * - `measure`: measure the limit and cut (decideCut).
 */
export function readRefusal(state: RateState, refusal: Refusal, ofFill = false): 'same-episode' | 'long-window' | 'fill' | 'restart' | 'measure' {
  if (refusal.startedAt < state.cutAt + ADAPTIVE.cutHoldMs) return 'same-episode';
  if (ofFill) return 'fill';
  if (refusal.retryAfterMs !== undefined && refusal.retryAfterMs >= ADAPTIVE.longWindowMs) return 'long-window';
  if (!Number.isFinite(state.rps) && !Number.isFinite(state.ceiling) && refusal.retryAfterMs === undefined) return 'restart';
  return 'measure';
}

/** What the evidence measured around a refusal (evidence.ts). */
export interface CutMeasures {
  /** What the lane sent per second lately. */
  sentRps: number;
  /** The busiest clock second of the refused one and the one before, floored by the recent accepted rate. */
  limitAround: number;
  /** The busiest of those two clock seconds alone. */
  busiestSecond: number;
  /** Accepted since the lane last resumed, over the time until the Retry-After ends (NaN without one). */
  limitOverWait: number;
  /** How long before the refused start the one before it went. */
  gapBeforeMs: number | undefined;
  /** Refused before its clock second took nearly what the one before took clean: no window on the clock. */
  earlyInSecond: boolean;
}

export type CutDecision =
  /** Everything refused: not a rate we can find by going slower (a used-up daily quota, say). */
  | { kind: 'none' }
  /** Nothing known yet (no rate of ours, no --rps, no quota headers), and a measure under slow start's first step: find the limit from slow start. */
  | { kind: 'restart' }
  /** The refused start caught up on a late one: pace with no credit, keep the rate. */
  | { kind: 'spacing' }
  | {
      kind: 'cut';
      rps: number;
      plateau: number;
      refusedRps: number;
      /** How long the rate rests at the plateau before probing past it. */
      restMs: number;
      /** The factor of the first probe step past the plateau. */
      probeFactor: number;
      /** The limit went down from a rate that held: counts before now are stale. */
      isDrop: boolean;
      /** The count of one clock second it measured, for a fill after the pause; else undefined. */
      fillCount: number | undefined;
      /** The clock second it measured, which late answers refine (NaN: none). */
      cutSecond: number;
    };

export function decideCut(state: RateState, refusal: Refusal, measures: CutMeasures): CutDecision {
  const { now, startedAt, arrivedAt, retryAfterMs } = refusal;
  // The rate this request was sent under: a raise after it started did not cause its refusal.
  const sentUnder = startedAt < state.raisedAt ? state.previousRps : state.rps;
  const sending = Number.isFinite(sentUnder) ? sentUnder : Number.isFinite(state.ceiling) ? state.ceiling : measures.sentRps;
  const isLongWait = retryAfterMs !== undefined && retryAfterMs > ADAPTIVE.longWaitMs;
  // Clean at the plateau for a while, not probing past it: the limit went down (a long window
  // measures itself instead).
  const isDrop = !isLongWait && isSettled(state) && Number.isFinite(state.plateau) && sending <= state.plateau && now - state.changedAt >= ADAPTIVE.heldCleanMs;
  const measured = isLongWait ? measures.limitOverWait : measures.limitAround;
  // A burst at --concurrency that measured less than slow start's first step, or nothing at all,
  // showed a bucket's depth, not its rate (a long wait's measure is a window's own: it stands).
  const knowsNothing = !isLongWait && !Number.isFinite(state.rps) && !Number.isFinite(state.ceiling) && !state.quotaSeen;
  if (!(measured > 0)) return knowsNothing ? { kind: 'restart' } : { kind: 'none' };
  // A settled rate's refused start that caught up on a late one: the spacing was too close, not
  // the rate too high (a token bucket of depth 1). If the rate was too high as well, the next
  // refusal cuts it.
  const caughtUp = Number.isFinite(sentUnder) && measures.gapBeforeMs !== undefined && measures.gapBeforeMs < (ADAPTIVE.catchUpGap * 1000) / sentUnder;
  if (!state.strictSpacing && isSettled(state) && caughtUp) return { kind: 'spacing' };
  // A step refused within its first climbStepMs: the rate before it held a whole step clean.
  const refusedStep = !isDrop && !isLongWait && !state.slowStart && state.raisedAt <= startedAt && startedAt < state.raisedAt + ADAPTIVE.climbStepMs;
  // A big step (over 10%) whose measure saw only the rate before it (under 10% past it): the
  // limit lies between the two. Rest on the rate that held, briefly, and probe again in small steps.
  const isOvershoot = refusedStep && sending > state.previousRps * ADAPTIVE.overshootStep && measured < state.previousRps * ADAPTIVE.overshootStep;
  // A probe step past the plateau, or an overshoot: the limit is no lower than the rate that held.
  const heldBefore = isOvershoot || (refusedStep && !Number.isFinite(state.plateau));
  const limit = isDrop ? (sending * ADAPTIVE.shallowestCut) / ADAPTIVE.settleFraction : heldBefore ? Math.max(measured, state.previousRps) : measured;
  let plateau = plateauFor(limit, sending);
  // That rate held a whole step clean: the climb rests on it, not 97% of it (a depth-1 bucket
  // at 20/s otherwise settled at 18.6/s for the rest of the run).
  if (heldBefore && state.previousRps < sending) plateau = Math.max(plateau, state.previousRps);
  // A long window's measure is its own: a quarter of a burst's rate would be far over it.
  const deepest = isLongWait ? 0 : sending * ADAPTIVE.deepestCut;
  // A measure under a quarter of the rate sent saw a burst or a ramp, not the limit (a token
  // bucket of depth 1 refuses the second request of a burst): rest briefly, then probe.
  const sawRamp = limit * ADAPTIVE.settleFraction < deepest;
  // A burst at a steady rate refused, with a measure that saw only its start: climb back by
  // halving the gap to half that rate. Slow start's first refusal too, unless the measure is one
  // clock second's count: its doubling may be far past a window's count by then, which that
  // count tells exactly (and the fill after the pause tests). Refused early in its second, it
  // is no window's count.
  const isOneSecondsCount = measured === measures.busiestSecond && !measures.earlyInSecond;
  const climbsToHalf = sawRamp && !isLongWait && (!state.slowStart || !isOneSecondsCount);
  if (climbsToHalf) plateau = Math.max(plateau, sending / 2);
  // Slow start's first refusal saw its ramp, unless it measured one clock second's count that is
  // not a ramp's (a window's): rest briefly, then probe by doubling each second, as slow start
  // did (after the climb back to half the rate sent, +5% as ever).
  const sawSlowStart = state.slowStart && !isLongWait && (sawRamp || !isOneSecondsCount);
  // A cut never raises the rate.
  const rps = boundedRate(Math.min(Math.max(limit * ADAPTIVE.settleFraction, deepest), sending * ADAPTIVE.shallowestCut), state.ceiling);
  if (knowsNothing && rps < ADAPTIVE.startRps) return { kind: 'restart' };
  return {
    kind: 'cut',
    rps,
    plateau,
    refusedRps: sending,
    restMs: isOvershoot || sawRamp || sawSlowStart ? ADAPTIVE.shortRestMs : ADAPTIVE.probeAfterMs,
    probeFactor: sawSlowStart && !climbsToHalf ? ADAPTIVE.rampProbeFactor : ADAPTIVE.climbFactor,
    isDrop,
    // Only a count of one clock second says what a window on the clock holds, and not a burst's
    // the climb goes back past: a fill would hold the lane to it (1 start a second, at --rps 40).
    fillCount: !isDrop && !isLongWait && !isOvershoot && !climbsToHalf && isOneSecondsCount && !measures.earlyInSecond ? measured : undefined,
    cutSecond: isLongWait || isDrop ? Number.NaN : Math.floor(arrivedAt / 1000),
  };
}

/** Where the climb rests after a cut that measured `limit` at `refusedRps`. */
export function plateauFor(limit: number, refusedRps: number): number {
  return Math.min(refusedRps * ADAPTIVE.refusedFraction, limit * ADAPTIVE.settleFraction);
}

/** No faster than the ceiling, no slower than the floor. */
export function boundedRate(rps: number, ceiling: number): number {
  return Math.min(ceiling, Math.max(ADAPTIVE.floorRps, rps));
}
