/**
 * The rate controller: finds a rate limit nobody told us, from the answers alone. Pure, with
 * the time passed in. Its strategy, step by step, is in docs/rate-control.md; the constants
 * in ADAPTIVE below name each step's numbers.
 */
import type { RateChangeReason } from '../events.js';
import { RecentMinimum } from './recent-minimum.js';
import { WindowCounter } from './window-counter.js';

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
 * bucket of depth 1) refuses those catch-ups, though: once it does, AdaptiveRate.burst turns
 * the credit off.
 */
export function pacingBurst(rps: number): number {
  return Number.isFinite(rps) ? 1 + (rps * ADAPTIVE.lateCreditMs) / 1000 : 1;
}

/** When to start a request so that it reaches the server just after the clock second `second` begins. */
export function startToReachSecond(second: number, toServerMs: number): number {
  return second * 1000 - toServerMs + ADAPTIVE.nextSecondMarginMs;
}

export interface RateChange {
  rps: number;
  reason: RateChangeReason;
}

export class AdaptiveRate {
  #rps: number;
  readonly #ceiling: number;
  #slowStart: boolean;
  /** Where the climb rests before probing past: just under the limit the last 429 showed. */
  #plateau = Infinity;
  /** The rate before the last raise, for 429s to requests sent before it. */
  #previousRps = Infinity;
  #raisedAt = -Infinity;
  /** Answers to requests started before this moment say nothing about the current rate. */
  #cutAt = -Infinity;
  /** The clock second the last cut measured, and the rate refused then: late answers refine it. */
  #cutSecond = NaN;
  /** Seconds up to this one told a limit a 429 at the plateau has since shown to be gone. */
  #staleUpTo = -Infinity;
  #restMs: number = ADAPTIVE.probeAfterMs;
  #probeFactor: number = ADAPTIVE.climbFactor;
  #refusedRps = Infinity;
  #changedAt: number;
  #answersSinceChange = 0;
  readonly #starts = new SlidingCount(ADAPTIVE.measureWindowMs);
  readonly #accepted = new WindowCounter(ADAPTIVE.measureWindowMs, ADAPTIVE.measureWindowMs / 20);
  readonly #acceptedBySecond = new PerSecond();
  /** Starts in slow start, by the clock second they reach the server in. */
  readonly #slowStartsBySecond = new PerSecond();
  /** The end of the last pause, and what was accepted of requests sent since. */
  #resumedAt = -Infinity;
  #acceptedSinceResume = 0;
  #firstStartAt: number | undefined;
  /** The last starts, oldest first: the gap before a refused one tells a catch-up start. */
  readonly #recentStarts: number[] = [];
  #strictSpacing = false;
  /** The clock second's count the last cut measured, until the pause after it fills a second. */
  #fillCount: number | undefined;
  /** The server refused a fill: it is not a window on the clock. */
  #fillRefused = false;
  /** The last fill, under way or done. */
  #fill: Fill | undefined;
  /** A fill the server accepted whole showed a window on the clock: each second may take this many. */
  #windowCount: number | undefined;
  #windowPace = Infinity;
  #windowSince = -Infinity;
  #windowsRefused = false;
  #rpsBeforeWindows = Infinity;
  /** The second the windows were last recounted by, and the count before. */
  #recount: { second: number; before: number } | undefined;
  /** The quickest recent time from a start to its arrival at the server … */
  readonly #toServerMs = new RecentMinimum(16);
  /** … and to its answer. */
  readonly #roundTripMs = new RecentMinimum(16);

  constructor(options: { auto: boolean; ceilingRps: number; now: number }) {
    this.#ceiling = options.ceilingRps;
    this.#slowStart = options.auto;
    this.#rps = options.auto ? Math.min(ADAPTIVE.startRps, this.#ceiling) : Infinity;
    this.#changedAt = options.now;
  }

  /** Starts per second allowed now (faster while a fill lasts); Infinity while the controller stands aside. */
  get rps(): number {
    if (this.#windowCount !== undefined) return this.#windowPace;
    return this.#fill?.active === true ? this.#fill.rps : this.#rps;
  }

  /** While the controller paces a window on the clock: how many each clock second may take. */
  get windowCount(): number | undefined {
    return this.#windowCount;
  }

  /** Whether a 429 has set the rate (as opposed to slow start, or standing aside). */
  get settled(): boolean {
    return Number.isFinite(this.#rps) && !this.#slowStart;
  }

  /**
   * The depth of the bucket pacing this rate: one start plus a little catch-up credit, or exactly
   * one once the server refused a start that caught up (a token bucket of depth 1, or a window
   * the credit pushed one start over).
   */
  get burst(): number {
    return this.#strictSpacing || this.#windowCount !== undefined || this.#fill?.active === true ? 1 : pacingBurst(this.#rps);
  }

  /**
   * A start at `now`. When it ends a fill, the pace goes back to `rps`, and nothing more should
   * start before `holdUntil`: the second the fill took belongs to it.
   */
  noteStart(now: number): { holdUntil: number } | undefined {
    this.#firstStartAt ??= now;
    this.#starts.add(now);
    this.#recentStarts.push(now);
    if (this.#recentStarts.length > 64) this.#recentStarts.shift();
    if (this.#windowCount !== undefined && (this.#fill?.active !== true || now >= this.#fill.until)) this.#planSecond(now, this.#windowCount);
    if (this.#slowStart) return this.#guardSecondsEnd(now);
    const fill = this.#fill;
    if (fill?.active !== true || now < fill.from) return undefined;
    // A start after the fill's end (the lane had nothing to send until then) only ends it.
    if (now < fill.until) {
      fill.firstAt ??= now;
      fill.lastAt = now;
      fill.started += 1;
      if (fill.started < fill.most && now + 1000 / fill.rps < fill.until) return undefined;
    }
    fill.active = false;
    // The window's count is spent: the next start should reach the server in the next second.
    return { holdUntil: fill.until + ADAPTIVE.fillMarginMs + ADAPTIVE.nextSecondMarginMs };
  }

  /**
   * In slow start: when the next start would make its second the busiest yet, too late in it to
   * fill after a 429, hold it until the next second.
   */
  #guardSecondsEnd(now: number): { holdUntil: number } | undefined {
    const toServerMs = this.#toServerMs.min() ?? 0;
    const guardMs = ADAPTIVE.minFillMs + ADAPTIVE.fillMarginMs + (this.#roundTripMs.min() ?? 0) + ADAPTIVE.answerLagMs;
    const arrivedAt = now + toServerMs;
    this.#slowStartsBySecond.add(arrivedAt);
    if (guardMs > ADAPTIVE.longestSlowStartGuardMs || now - this.#raisedAt > ADAPTIVE.slowStartGuardAfterRaiseMs) return undefined;
    const second = Math.floor(arrivedAt / 1000);
    const busiestBefore = Math.max(...[1, 2, 3].map((ago) => this.#slowStartsBySecond.count(second - ago)));
    const nextArrivesAt = arrivedAt + 1000 / this.#rps;
    const guardFrom = (second + 1) * 1000 - guardMs;
    if (this.#slowStartsBySecond.count(second) + 1 <= busiestBefore || nextArrivesAt < guardFrom) return undefined;
    return { holdUntil: startToReachSecond(second + 1, toServerMs) };
  }

  /**
   * An answer the server counted and did not refuse (faults included) to a request started at
   * `startedAt`, which reached the server at about `arrivedAt`.
   */
  noteAccepted(now: number, startedAt: number, arrivedAt = startedAt): RateChange | undefined {
    this.#accepted.add(now);
    this.#acceptedBySecond.add(arrivedAt);
    this.#toServerMs.add(arrivedAt - startedAt);
    this.#roundTripMs.add(now - startedAt);
    if (startedAt >= this.#resumedAt) this.#acceptedSinceResume += 1;
    this.#refineAfterCut(startedAt, arrivedAt);
    this.#refineRecount(startedAt, arrivedAt);
    const windows = this.#noteFillAccepted(startedAt, now);
    if (windows !== undefined) return windows;
    if (!Number.isFinite(this.#rps) || startedAt < this.#cutAt) return undefined;
    this.#answersSinceChange += 1;
    const elapsedMs = now - this.#changedAt;
    const step = this.#slowStart ? ADAPTIVE.slowStartStepMs : ADAPTIVE.climbStepMs;
    const used = this.#answersSinceChange >= Math.max(ADAPTIVE.minAnswersToClimb, (this.#rps * elapsedMs) / 2000);
    if (this.#windowCount !== undefined) {
      // The count is the limit exactly; after its rest, probe past it as past a plateau.
      if (elapsedMs < this.#restMs || !used) return undefined;
      this.#leaveWindows();
      this.#plateau = Infinity;
    }
    if (elapsedMs < step || !used || this.#rps >= this.#ceiling) return undefined;
    let next = this.#rps * ADAPTIVE.climbFactor;
    let reason: RateChangeReason = 'clean';
    if (this.#slowStart) {
      next = this.#rps * 2;
    } else if (Number.isFinite(this.#plateau) && this.#rps < this.#plateau) {
      // Concave: half the gap to the plateau (at least +5%), fast when far below, gentle near it.
      next = Math.min(this.#plateau, Math.max(next, this.#rps + (this.#plateau - this.#rps) / 2));
    } else if (Number.isFinite(this.#plateau)) {
      if (elapsedMs < this.#restMs) return undefined;
      // Clean at the plateau for a while: probe past it, the limit may have risen.
      this.#plateau = Infinity;
      reason = 'probe';
    } else {
      // Probing: each clean step goes further (+5%, +10%, +20% … up to doubling), so a rate far
      // under the limit is left in seconds, and one near it still costs a single 429.
      next = this.#rps * this.#probeFactor;
      this.#probeFactor = Math.min(2, 1 + 2 * (this.#probeFactor - 1));
      reason = 'probe';
    }
    return this.#change(Math.min(this.#ceiling, next), now, reason);
  }

  /**
   * A refusal (a 429, or a 503 judged load shedding) to a request started at `startedAt`, which
   * reached the server at about `arrivedAt`; `retryAfterMs` is the wait it asked for, when it said.
   */
  noteThrottled(now: number, startedAt: number, retryAfterMs?: number, arrivedAt = startedAt): RateChange | undefined {
    if (this.#windowCount === undefined && this.#isFillStart(startedAt)) this.#fillRefused = true;
    // One cut per episode: a request sent before the last cut, or within a second after it, was
    // not refused for the new rate (a used-up fixed window refuses everything until it ends).
    if (startedAt < this.#cutAt + ADAPTIVE.cutHoldMs) return undefined;
    if (retryAfterMs !== undefined && retryAfterMs >= ADAPTIVE.longWindowMs) {
      this.#cutAt = now;
      return Number.isFinite(this.#rps) ? { rps: this.#rps, reason: 'kept' } : undefined;
    }
    // No rate of ours, no --rps, and a 429 that says nothing of when: the run went as fast as
    // --concurrency lets it, and a burst's refusals measure a token bucket's depth, not its
    // rate. Find the limit as --rps auto does. (A window's 429 says when it ends, and the clock
    // second it refused in measures the window: that reading stays.)
    if (!Number.isFinite(this.#rps) && !Number.isFinite(this.#ceiling) && retryAfterMs === undefined) {
      this.#slowStart = true;
      this.#cutAt = now;
      return this.#change(ADAPTIVE.startRps, now, 'throttled');
    }
    const recount = this.#recountWindows(now, arrivedAt);
    if (recount !== undefined) return recount;
    // Soon after the windows began, the server is not a window on the clock after all: back to the
    // rate that was clean before them, resting there as it did (fills may still help). Later, its
    // limit went down (isDrop below), and a fill may find the new count.
    if (this.#windowCount !== undefined && now - this.#windowSince < ADAPTIVE.heldCleanMs) {
      this.#windowsRefused = true;
      this.#leaveWindows();
      this.#cutAt = now;
      this.#plateau = this.#rpsBeforeWindows;
      return this.#change(this.#rpsBeforeWindows, now, 'throttled');
    }
    this.#leaveWindows();
    // The rate this request was sent under: a raise after it started did not cause its 429.
    const sentUnder = startedAt < this.#raisedAt ? this.#previousRps : this.#rps;
    const sending = Number.isFinite(sentUnder) ? sentUnder : Number.isFinite(this.#ceiling) ? this.#ceiling : this.#starts.perSecond(now);
    const isLongWait = retryAfterMs !== undefined && retryAfterMs > ADAPTIVE.longWaitMs;
    // Clean at the plateau for a while, not probing past it: the limit went down (a long window
    // measures itself instead).
    const isDrop = !isLongWait && this.settled && Number.isFinite(this.#plateau) && sending <= this.#plateau && now - this.#changedAt >= ADAPTIVE.heldCleanMs;
    const measured = isLongWait
      ? (this.#acceptedSinceResume * 1000) / (now - Math.max(this.#resumedAt, this.#firstStartAt ?? now) + retryAfterMs)
      : this.#limitAround(Math.floor(arrivedAt / 1000), now);
    // Everything refused: not a rate we can find by going slower (a used-up daily quota, say).
    if (!(measured > 0)) return undefined;
    // A settled rate's refused start that caught up on a late one: the spacing was too close, not
    // the rate too high (a token bucket of depth 1). Pace without credit from now on; if the rate
    // was too high as well, the next refusal cuts it.
    if (!this.#strictSpacing && this.settled && this.#wasCatchUp(startedAt, sentUnder)) {
      this.#strictSpacing = true;
      this.#cutAt = now;
      return { rps: this.#rps, reason: 'spacing' };
    }
    // A probe step refused right away, where the measure saw only the rate before it: the limit
    // lies between the two. Rest on the rate that held, briefly, and probe again in small steps.
    const isOvershoot =
      !isDrop &&
      !isLongWait &&
      !this.#slowStart &&
      this.#raisedAt <= startedAt &&
      startedAt < this.#raisedAt + ADAPTIVE.climbStepMs &&
      sending > this.#previousRps * ADAPTIVE.overshootStep &&
      measured < this.#previousRps * ADAPTIVE.climbFactor;
    const limit = isDrop ? (sending * ADAPTIVE.shallowestCut) / ADAPTIVE.settleFraction : isOvershoot ? Math.max(measured, this.#previousRps) : measured;
    // Only a count of one clock second says what a window on the clock holds.
    const second = Math.floor(arrivedAt / 1000);
    this.#fillCount = !isDrop && !isLongWait && !isOvershoot && measured === this.#busiestSecond(second) ? measured : undefined;
    this.#cutAt = now;
    const wasSlowStart = this.#slowStart;
    this.#slowStart = false;
    this.#refusedRps = sending;
    this.#cutSecond = isLongWait || isDrop ? NaN : Math.floor(arrivedAt / 1000);
    if (isDrop) this.#staleUpTo = Math.floor(now / 1000);
    this.#plateau = this.#plateauFor(limit);
    this.#probeFactor = ADAPTIVE.climbFactor;
    // A long window's measure is its own: a quarter of a burst's rate would be far over it.
    const deepest = isLongWait ? 0 : sending * ADAPTIVE.deepestCut;
    // A measure under a quarter of the rate sent saw a burst or a ramp, not the limit (a token
    // bucket of depth 1 refuses the second request of a burst): rest briefly, then probe.
    const sawRamp = limit * ADAPTIVE.settleFraction < deepest;
    this.#restMs = isOvershoot || sawRamp ? ADAPTIVE.shortRestMs : ADAPTIVE.probeAfterMs;
    // A burst at a steady rate refused, with a measure that saw only its start: climb back by
    // halving the gap to half that rate. (Slow start's rate may be far past the limit by its
    // first refusal: its doubling outruns a window's count. Its cut probes up from its rest.)
    if (sawRamp && !isLongWait && !wasSlowStart) this.#plateau = Math.max(this.#plateau, sending / 2);
    // A cut never raises the rate.
    const target = Math.min(Math.max(limit * ADAPTIVE.settleFraction, deepest), sending * ADAPTIVE.shallowestCut);
    return this.#change(this.#bounded(target), now, 'throttled');
  }

  /**
   * The most accepted in the clock second `second` or the one before (of those after a drop),
   * and never below the recent accepted rate.
   */
  #limitAround(second: number, now: number): number {
    // A span of T seconds overlaps at most T + 1 one-second windows: what it held over T + 1 is a
    // floor, unless the span reaches back into seconds that told a limit since gone.
    const isFresh = now - ADAPTIVE.measureWindowMs >= (this.#staleUpTo + 1) * 1000;
    const floor = isFresh ? (this.#accepted.count(now) * 1000) / (ADAPTIVE.measureWindowMs + 1000) : 0;
    return Math.max(this.#busiestSecond(second), floor);
  }

  #busiestSecond(second: number): number {
    return Math.max(this.#countOf(second), this.#countOf(second - 1));
  }

  #countOf(second: number): number {
    return second > this.#staleUpTo ? this.#acceptedBySecond.count(second) : 0;
  }

  /** An answer to a request of the second the last cut measured, come back after it: raise the plateau to it. */
  #refineAfterCut(startedAt: number, arrivedAt: number): void {
    const second = Math.floor(arrivedAt / 1000);
    if (startedAt >= this.#cutAt || !(second === this.#cutSecond || second === this.#cutSecond - 1)) return;
    const limit = this.#busiestSecond(this.#cutSecond);
    this.#plateau = Math.max(this.#plateau, this.#plateauFor(limit));
  }

  /** Whether the start at `startedAt` came sooner after the one before than the rate's interval allows. */
  #wasCatchUp(startedAt: number, rps: number): boolean {
    if (!Number.isFinite(rps)) return false;
    const index = this.#recentStarts.lastIndexOf(startedAt);
    if (index < 1) return false;
    return startedAt - this.#recentStarts[index - 1]! < (ADAPTIVE.catchUpGap * 1000) / rps;
  }

  /** Where the climb rests after a cut that measured `limit`. */
  #plateauFor(limit: number): number {
    return Math.min(this.#refusedRps * ADAPTIVE.refusedFraction, limit * ADAPTIVE.settleFraction);
  }

  #bounded(rps: number): number {
    return Math.min(this.#ceiling, Math.max(ADAPTIVE.floorRps, rps));
  }

  /** The lane was told to wait until `untilMs`: what it sends after that measures a new window. */
  notePause(_now: number, untilMs: number): void {
    if (untilMs <= this.#resumedAt) return;
    this.#resumedAt = untilMs;
    this.#acceptedSinceResume = 0;
    this.#planFill(untilMs);
  }

  /**
   * After a pause for a cut that counted a clock second: fill the rest of the second the lane
   * resumes in with 97% of that count, no more, where the rate would leave most of it unused.
   */
  #planFill(from: number): void {
    // A later refusal may move the pause on: the fill planned for it moves with it.
    const count = this.#fillCount ?? (this.#fill?.active === true ? this.#fill.count : undefined);
    this.#fillCount = undefined;
    if (this.#fill?.active === true) this.#fill = undefined;
    if (count === undefined || this.#fillRefused || this.#strictSpacing || !Number.isFinite(this.#rps)) return;
    const toServerMs = this.#toServerMs.min() ?? 0;
    const nextSecond = Math.floor(from / 1000) + 1;
    let until = nextSecond * 1000 - ADAPTIVE.fillMarginMs - toServerMs;
    if (until - from < ADAPTIVE.minFillMs) {
      // Too little of this second is left: fill the next one, from its start.
      from = startToReachSecond(nextSecond, toServerMs);
      until += 1000;
    }
    const spanMs = until - from;
    const most = Math.floor(count * ADAPTIVE.settleFraction);
    // At least the rate: a rate that would send more than that in the rest of the second (the
    // quarter of a burst's) is held to the count as well.
    const rps = Math.min(this.#ceiling, Math.max(this.#rps, (most * 1000) / spanMs));
    this.#fill = { count, from, until, most, rps, active: true, started: 0 };
  }

  /**
   * Each clock second (as the server will count it) gets `count` starts at most, spread over all
   * of it but the margin at its end; the last start holds the lane until the next second.
   */
  #planSecond(now: number, count: number): void {
    const toServerMs = this.#toServerMs.min() ?? 0;
    // A start in the margin at a second's end may reach the server in the next: count it there.
    const second = Math.floor((now + toServerMs + ADAPTIVE.fillMarginMs) / 1000);
    const until = (second + 1) * 1000 - ADAPTIVE.fillMarginMs - toServerMs;
    // A start in a second whose count is spent (the hold was not kept) still counts in it.
    const started = this.#fill?.until === until ? this.#fill.started : 0;
    this.#fill = { count, from: now, until, most: count, rps: this.#windowPace, active: true, started };
  }

  /** A clean answer to a fill's start: once all of them are, the server counts clock seconds. */
  #noteFillAccepted(startedAt: number, now: number): RateChange | undefined {
    const fill = this.#fill;
    if (fill === undefined || !this.#isFillStart(startedAt)) return undefined;
    fill.accepted = (fill.accepted ?? 0) + 1;
    if (
      this.#windowCount !== undefined ||
      this.#windowsRefused ||
      this.#fillRefused ||
      this.#strictSpacing ||
      fill.active ||
      fill.accepted < fill.started ||
      fill.started < 2
    )
      return undefined;
    // A count under the rate was a ramp's (see deepestCut), not the limit.
    if (fill.count < this.#rps) return undefined;
    this.#windowSince = now;
    this.#rpsBeforeWindows = this.#rps;
    this.#startWindows(fill.count);
    return this.#change(Math.min(this.#ceiling, fill.count), now, 'window');
  }

  /**
   * A second the windows paced whole refused after a little less than the count (at least
   * shallowestCut of it): the count was a request or two over, one counted in the wrong second,
   * or the limit went down a little. The windows go on with what that second took. (Far less,
   * the limit went down, perhaps part way through that second: isDrop measures it afresh.)
   */
  #recountWindows(now: number, arrivedAt: number): RateChange | undefined {
    const count = this.#windowCount;
    const second = Math.floor(arrivedAt / 1000);
    if (count === undefined || this.#windowSince > second * 1000) return undefined;
    const accepted = this.#countOf(second);
    if (accepted >= count || accepted < count * ADAPTIVE.shallowestCut) return undefined;
    this.#cutAt = now;
    this.#recount = { second, before: count };
    this.#startWindows(accepted);
    return this.#change(accepted, now, 'window');
  }

  /** An answer to a request of the recounted second, come back after the recount: it counts too. */
  #refineRecount(startedAt: number, arrivedAt: number): void {
    const recount = this.#recount;
    if (recount === undefined || this.#windowCount === undefined || startedAt >= this.#cutAt || Math.floor(arrivedAt / 1000) !== recount.second) return;
    const count = Math.min(recount.before - 1, this.#countOf(recount.second));
    if (count > this.#windowCount) this.#startWindows(count);
  }

  #startWindows(count: number): void {
    const toServerMs = this.#toServerMs.min() ?? 0;
    this.#windowCount = count;
    this.#windowPace = Math.min(this.#ceiling, (count * 1000) / (1000 - ADAPTIVE.fillMarginMs - toServerMs));
    // The plateau is the count itself: a 429 after a clean spell at it says the limit went down.
    this.#plateau = count;
    // A second under way keeps the starts it counted, under the new count.
    if (this.#fill?.active === true) Object.assign(this.#fill, { most: count, rps: this.#windowPace });
  }

  #leaveWindows(): void {
    if (this.#windowCount === undefined) return;
    this.#windowCount = undefined;
    this.#fill = undefined;
  }

  #isFillStart(startedAt: number): boolean {
    const fill = this.#fill;
    return fill?.firstAt !== undefined && startedAt >= fill.firstAt && startedAt <= fill.lastAt!;
  }

  /** A cut decided elsewhere (a trial for load shedding, rate/controller/): rests at `rps` like any cut. */
  cutTo(now: number, rps: number): RateChange {
    this.#leaveWindows();
    this.#cutAt = now;
    this.#slowStart = false;
    const target = this.#bounded(Math.min(rps, this.#rps));
    this.#plateau = target;
    this.#restMs = ADAPTIVE.probeAfterMs;
    return this.#change(target, now, 'throttled');
  }

  /** What the lane sent per second lately. */
  sentRps(now: number): number {
    return this.#starts.perSecond(now);
  }

  /** A cut for 503s that proved noise: back to `rps`, resting there as if it had held. */
  undoCut(now: number, rps: number): void {
    this.#plateau = Infinity;
    this.#change(rps, now, 'undo');
  }

  /** The server sent quota headers: they pace the run better than probing does. */
  noteQuotaHeaders(now: number): RateChange | undefined {
    if (!this.#slowStart) return undefined;
    this.#slowStart = false;
    return this.#change(Infinity, now, 'quota');
  }

  #change(rps: number, now: number, reason: RateChangeReason): RateChange {
    if (rps > this.#rps) {
      this.#previousRps = this.#rps;
      this.#raisedAt = now;
    }
    this.#rps = rps;
    this.#changedAt = now;
    this.#answersSinceChange = 0;
    return { rps, reason };
  }
}

/** Filling the rest of a clock second: at most `most` starts at `rps`, from `from` until `until`. */
interface Fill {
  /** The clock second's count it goes by. */
  count: number;
  from: number;
  until: number;
  most: number;
  rps: number;
  active: boolean;
  started: number;
  firstAt?: number;
  lastAt?: number;
  /** Its starts answered clean so far. */
  accepted?: number;
}

/** Events per clock second, for the last few seconds. */
class PerSecond {
  readonly #counts = new Map<number, number>();

  add(at: number): void {
    const second = Math.floor(at / 1000);
    this.#counts.set(second, (this.#counts.get(second) ?? 0) + 1);
    if (this.#counts.size > 4) for (const key of this.#counts.keys()) if (key < second - 2) this.#counts.delete(key);
  }

  count(second: number): number {
    return this.#counts.get(second) ?? 0;
  }
}

/**
 * How many events in the last `windowMs` (20 slots of a WindowCounter), and their rate. The
 * rate divides by at least one second: early in a run, twenty answers in the first 10 ms are
 * not 2,000 per second.
 */
export class SlidingCount {
  readonly #counter: WindowCounter;
  #firstAt: number | undefined;

  constructor(
    readonly windowMs: number,
    slots = 20,
  ) {
    this.#counter = new WindowCounter(windowMs, windowMs / slots);
  }

  add(now: number): void {
    this.#firstAt ??= now;
    this.#counter.add(now);
  }

  count(now: number): number {
    return this.#counter.count(now);
  }

  /** Events per second over the window. */
  perSecond(now: number): number {
    if (this.#firstAt === undefined) return 0;
    const spanMs = Math.min(this.windowMs, Math.max(1_000, now - this.#firstAt));
    return (this.count(now) * 1000) / spanMs;
  }
}
