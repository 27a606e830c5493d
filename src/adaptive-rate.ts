/**
 * Finds a rate limit nobody told us, from the answers alone. Pure, with the time passed in.
 *
 * AIMD's shape, with a measured cut:
 * - Cut on a 429: to 90% of the rate the server *accepted* over the last two seconds, never
 *   below a quarter of the rate we were sending and never above 90% of it. Cutting to what was
 *   accepted lands near the limit in one step, where halving undershoots by half and needs many
 *   clean seconds to climb back. One cut per episode: refusals of requests sent before the last
 *   cut, or within a second after it, are ignored, because a fixed window that is used up
 *   refuses everything until it ends, whatever the new rate.
 * - With less than a second of answers there is nothing to measure: the first 429 goes back to
 *   slow start, up to 90% of the refused rate; a later one halves the rate. When nothing at all
 *   was accepted, the rate stays: that is not a limit a slower rate finds (a used-up quota).
 * - Climb while clean, once a second, once at least 2 answers (and half of what the rate
 *   allows) came back at the current rate, so a rate nobody uses does not creep up, and a slow
 *   API (1/min) is probed at its own pace. After a cut the climb closes half the gap to a
 *   plateau each step (at least +5%), the plateau being 97% of what the server accepted while it
 *   refused, or 95% of the refused rate if lower. It rests there and probes past it by 5% steps
 *   only after 10 clean seconds (CUBIC's shape, in short): each probe costs a 429 and often a
 *   whole Retry-After, so probing every few seconds costs more than the last few percent bring.
 * - A 429 to a request sent before the last raise was caused by the rate before it.
 * - `--rps auto` starts at 4/s and doubles every half second while clean (slow start) until the
 *   first 429; without it the controller stands aside (no limit) until the first 429.
 *
 * The rate never exceeds the ceiling (--rps, --rps-max, --host-rps, a --limit). When the server
 * sends quota headers, those pace the run and slow start steps aside.
 */
import { WindowCounter } from './window-counter.js';

export const ADAPTIVE = {
  startRps: 4,
  /** One request a minute: below that, waiting for Retry-After is the better tool. */
  floorRps: 1 / 60,
  slowStartStepMs: 500,
  climbStepMs: 1_000,
  climbFactor: 1.05,
  minAnswersToClimb: 2,
  cutToAccepted: 0.9,
  /** A cut with no measurement to go by halves the rate, as AIMD does. */
  blindCut: 0.5,
  /** Answers over at least a second before the accepted rate counts as measured. */
  minAnswersToMeasure: 5,
  deepestCut: 0.25,
  shallowestCut: 0.9,
  cutHoldMs: 1_000,
  /** The climb rests at 95% of the rate the last 429 was drawn at … */
  plateauFraction: 0.95,
  /** … or at 97% of what the server accepted while it refused, whichever is lower, … */
  plateauOfAccepted: 0.97,
  /** … for this long before probing past it. */
  probeAfterMs: 10_000,
  measureWindowMs: 2_000,
} as const;

export type RateChangeReason = 'start' | 'throttled' | 'clean' | 'quota';

export interface RateChange {
  rps: number;
  reason: RateChangeReason;
}

export class AdaptiveRate {
  #rps: number;
  readonly #ceiling: number;
  #slowStart: boolean;
  /** Slow start doubles up to here, then climbs by 5% steps. */
  #slowStartLimit = Infinity;
  /** Where the climb rests before probing past: just under the limit the last 429 showed. */
  #plateau = Infinity;
  /** The rate before the last raise, for 429s to requests sent before it. */
  #previousRps = Infinity;
  #raisedAt = -Infinity;
  /** Recent pauses (Retry-After, a used-up quota, a backoff): time in which nothing was sent. */
  #pauses: Array<{ from: number; until: number }> = [];
  /** Answers to requests started before this moment say nothing about the current rate. */
  #cutAt = -Infinity;
  #changedAt: number;
  #answersSinceChange = 0;
  readonly #starts = new SlidingCount(ADAPTIVE.measureWindowMs);
  readonly #accepted = new SlidingCount(ADAPTIVE.measureWindowMs);

  constructor(options: { auto: boolean; ceilingRps: number; now: number }) {
    this.#ceiling = options.ceilingRps;
    this.#slowStart = options.auto;
    this.#rps = options.auto ? Math.min(ADAPTIVE.startRps, this.#ceiling) : Infinity;
    this.#changedAt = options.now;
  }

  /** Starts per second allowed now; Infinity while the controller stands aside. */
  get rps(): number {
    return this.#rps;
  }

  /** Whether a 429 has set the rate (as opposed to slow start, or standing aside). */
  get settled(): boolean {
    return Number.isFinite(this.#rps) && !this.#slowStart;
  }

  noteStart(now: number): void {
    this.#starts.add(now);
  }

  /** A clean answer (anything but a 429) to a request started at `startedAt`. */
  noteAccepted(now: number, startedAt: number): RateChange | undefined {
    this.#accepted.add(now);
    if (!Number.isFinite(this.#rps) || startedAt < this.#cutAt) return undefined;
    this.#answersSinceChange += 1;
    const elapsedMs = now - this.#changedAt;
    const step = this.#slowStart ? ADAPTIVE.slowStartStepMs : ADAPTIVE.climbStepMs;
    const used = this.#answersSinceChange >= Math.max(ADAPTIVE.minAnswersToClimb, (this.#rps * elapsedMs) / 2000);
    if (elapsedMs < step || !used || this.#rps >= this.#ceiling) return undefined;
    let next = this.#rps * ADAPTIVE.climbFactor;
    if (this.#slowStart) {
      next = Math.min(this.#rps * 2, Math.max(next, this.#slowStartLimit));
      if (next >= this.#slowStartLimit) this.#slowStart = false;
    } else if (Number.isFinite(this.#plateau) && this.#rps < this.#plateau) {
      // Concave: half the gap to the plateau (at least +5%), fast when far below, gentle near it.
      next = Math.min(this.#plateau, Math.max(next, this.#rps + (this.#plateau - this.#rps) / 2));
    } else if (Number.isFinite(this.#plateau)) {
      if (elapsedMs < ADAPTIVE.probeAfterMs) return undefined;
      // Clean at the plateau for a while: probe past it, the limit may have risen.
      this.#plateau = Infinity;
    }
    return this.#change(Math.min(this.#ceiling, next), now, 'clean');
  }

  /**
   * A 429 (or a 503 with Retry-After) to a request started at `startedAt`; `retryAfterMs` is
   * the wait it asked for, when it said.
   */
  noteThrottled(now: number, startedAt: number, retryAfterMs?: number): RateChange | undefined {
    // One cut per episode: a request sent before the last cut, or within a second after it, was
    // not refused for the new rate (a used-up fixed window refuses everything until it ends).
    if (startedAt < this.#cutAt + ADAPTIVE.cutHoldMs) return undefined;
    const firstCut = this.#cutAt === -Infinity;
    this.#cutAt = now;
    // The rate this request was sent under: a raise after it started did not cause its 429.
    const sentUnder = startedAt < this.#raisedAt ? this.#previousRps : this.#rps;
    const sending = Number.isFinite(sentUnder) ? sentUnder : Number.isFinite(this.#ceiling) ? this.#ceiling : this.#starts.perSecond(now);
    let target: number;
    if (this.#accepted.isMeasured(now, ADAPTIVE.minAnswersToMeasure)) {
      // What the server accepted while it refused is about the limit. Time the lane spent paused
      // is left out: nothing was sent then, so nothing was accepted.
      const accepted = this.#accepted.perSecond(now, this.#pausedWithin(now));
      target = Math.max(accepted * ADAPTIVE.cutToAccepted, sending * ADAPTIVE.deepestCut);
      // Rest just under it. In slow start the climb is still in the window, so the refused rate
      // bounds the limit instead, and the rate before the last doubling was clean.
      this.#plateau = this.#slowStart ? sending * ADAPTIVE.plateauFraction : Math.min(sending * ADAPTIVE.plateauFraction, accepted * ADAPTIVE.plateauOfAccepted);
      if (this.#slowStart) target = Math.max(target, sending / 2);
    } else if (firstCut && !this.#slowStart) {
      // Refused before a second of answers: nothing measured, so slow start again, up to just
      // under the rate that was refused. With a Retry-After, what was accepted until the server
      // lets us back in is a first estimate (a used-up window of 20, 'come back in 1 s': 20/s).
      this.#slowStartLimit = sending * ADAPTIVE.shallowestCut;
      this.#slowStart = true;
      const told = retryAfterMs === undefined ? 0 : this.#accepted.sinceFirst(now, retryAfterMs) * ADAPTIVE.cutToAccepted;
      return this.#change(this.#bounded(Math.min(this.#slowStartLimit, Math.max(ADAPTIVE.startRps, this.#slowStartLimit / 4, told))), now, 'throttled');
    } else if (this.#accepted.count(now) > 0) {
      target = sending * ADAPTIVE.blindCut;
      this.#plateau = sending * ADAPTIVE.plateauFraction;
    } else {
      // Everything refused: not a rate we can find by going slower (a used-up daily quota, say).
      // The host's backoff pause and each input's retries deal with it; the rate stays.
      return undefined;
    }
    this.#slowStart = false;
    // A cut never raises the rate.
    return this.#change(this.#bounded(Math.min(target, sending * ADAPTIVE.shallowestCut)), now, 'throttled');
  }

  #bounded(rps: number): number {
    return Math.min(this.#ceiling, Math.max(ADAPTIVE.floorRps, rps));
  }

  /** The lane was told to wait until `untilMs`. */
  notePause(now: number, untilMs: number): void {
    this.#pauses = this.#pauses.filter((pause) => pause.until > now - ADAPTIVE.measureWindowMs);
    this.#pauses.push({ from: now, until: untilMs });
  }

  /** How much of the measuring window the lane spent paused. */
  #pausedWithin(now: number): number {
    const windowStart = now - ADAPTIVE.measureWindowMs;
    let pausedMs = 0;
    for (const pause of this.#pauses) pausedMs += Math.max(0, Math.min(now, pause.until) - Math.max(windowStart, pause.from));
    return pausedMs;
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

/**
 * How many events in the last `windowMs` (20 slots of a WindowCounter), and their rate. The
 * rate divides by at least one second: early in a run, twenty answers in the first 10 ms are
 * not 2,000 per second.
 */
export class SlidingCount {
  readonly #counter: WindowCounter;
  #firstAt: number | undefined;

  constructor(readonly windowMs: number, slots = 20) {
    this.#counter = new WindowCounter(windowMs, windowMs / slots);
  }

  add(now: number): void {
    this.#firstAt ??= now;
    this.#counter.add(now);
  }

  count(now: number): number {
    return this.#counter.count(now);
  }

  /** Whether a second or more has passed since the first event and enough events are in the window. */
  isMeasured(now: number, minCount: number): boolean {
    return this.#firstAt !== undefined && now - this.#firstAt >= 1_000 && this.count(now) >= minCount;
  }

  /** Events per second from the first one until `extraMs` after now (all of them, if the window still holds them all). */
  sinceFirst(now: number, extraMs: number): number {
    if (this.#firstAt === undefined) return 0;
    return (this.count(now) * 1000) / Math.max(1, now - this.#firstAt + extraMs);
  }

  /** Events per second over the window, leaving out `idleMs` in which none could come (a pause). */
  perSecond(now: number, idleMs = 0): number {
    if (this.#firstAt === undefined) return 0;
    const spanMs = Math.min(this.windowMs, Math.max(1_000, now - this.#firstAt));
    return (this.count(now) * 1000) / Math.max(spanMs / 4, spanMs - idleMs);
  }
}

