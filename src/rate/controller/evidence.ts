/**
 * What a lane's limit finder has seen: its starts, what the server accepted and in which clock
 * second, and how long a request takes to reach the server and to come back. The decisions
 * (cut.ts, climb.ts, clock-windows.ts) read it; none of them keeps counts of its own.
 */
import { RecentMinimum } from '../recent-minimum.js';
import { WindowCounter } from '../window-counter.js';
import { PerSecond, SlidingCount } from './counts.js';
import type { CutMeasures, Refusal } from './cut.js';
import { ADAPTIVE } from './tuning.js';

export class Evidence {
  readonly #starts = new SlidingCount(ADAPTIVE.measureWindowMs);
  /** The last starts, oldest first: the gap before a refused one tells a catch-up start. */
  readonly #recentStarts: number[] = [];
  #firstStartAt: number | undefined;
  readonly #accepted = new WindowCounter(ADAPTIVE.measureWindowMs, ADAPTIVE.measureWindowMs / 20);
  readonly #acceptedBySecond = new PerSecond();
  /** Accepted by arrival, in 50 ms slots over the last second. */
  readonly #acceptedLastSecond = new WindowCounter(1000, 50);
  /** The end of the last pause, and what was accepted of requests sent since. */
  #resumedAt = -Infinity;
  #acceptedSinceResume = 0;
  /** Seconds up to this one told a limit that has since been shown to be gone. */
  #staleUpTo = -Infinity;
  /** Starts not answered yet, by start time: at a refusal, those that reached the server before it were most likely accepted. */
  readonly #inFlight = new Map<number, number>();
  readonly #toServerMs = new RecentMinimum(16);
  readonly #roundTripMs = new RecentMinimum(16);

  noteStart(now: number): void {
    this.#firstStartAt ??= now;
    this.#starts.add(now);
    this.#recentStarts.push(now);
    if (this.#recentStarts.length > 64) this.#recentStarts.shift();
    this.#inFlight.set(now, (this.#inFlight.get(now) ?? 0) + 1);
    // A start held back before the wire is never answered here: forget those long gone.
    if (this.#inFlight.size > 4_096) for (const at of this.#inFlight.keys()) if (at < now - 10_000) this.#inFlight.delete(at);
  }

  /** The answer (accepted or refused) to the request started at `startedAt` came back. */
  noteAnswered(startedAt: number): void {
    const left = (this.#inFlight.get(startedAt) ?? 0) - 1;
    if (left > 0) this.#inFlight.set(startedAt, left);
    else this.#inFlight.delete(startedAt);
  }

  /** Requests started before `before`, not answered yet, that reached the server in clock second `second`. */
  #inFlightIn(second: number, before: number): number {
    let count = 0;
    for (const [at, n] of this.#inFlight) if (at < before && Math.floor((at + this.toServerMs) / 1000) === second) count += n;
    return count;
  }

  /** An answer the server counted and did not refuse, to a request started at `startedAt` that reached it at `arrivedAt`. */
  noteAccepted(now: number, startedAt: number, arrivedAt: number): void {
    this.noteAnswered(startedAt);
    this.#accepted.add(now);
    this.#acceptedBySecond.add(arrivedAt);
    this.#acceptedLastSecond.add(arrivedAt);
    this.#toServerMs.add(arrivedAt - startedAt);
    this.#roundTripMs.add(now - startedAt);
    if (startedAt >= this.#resumedAt) this.#acceptedSinceResume += 1;
  }

  /** The lane waits until `untilMs`; false when an earlier pause already reached past it. */
  notePause(untilMs: number): boolean {
    if (untilMs <= this.#resumedAt) return false;
    this.#resumedAt = untilMs;
    this.#acceptedSinceResume = 0;
    return true;
  }

  /** The counts of seconds up to `second` no longer tell the limit (it went down since). */
  forgetUpTo(second: number): void {
    this.#staleUpTo = second;
  }

  /** Accepted answers to requests sent since the lane last resumed (or began). */
  get acceptedSinceResume(): number {
    return this.#acceptedSinceResume;
  }

  /** The quickest recent trip from a start to the server (0 before any answer). */
  get toServerMs(): number {
    return this.#toServerMs.min() ?? 0;
  }

  /** The quickest recent trip from a start to its answer (0 before any answer). */
  get roundTripMs(): number {
    return this.#roundTripMs.min() ?? 0;
  }

  /** What the lane sent per second lately. */
  sentRps(now: number): number {
    return this.#starts.perSecond(now);
  }

  /** Accepted requests that reached the server in clock second `second`. */
  countOf(second: number): number {
    return second > this.#staleUpTo ? this.#acceptedBySecond.count(second) : 0;
  }

  /**
   * The most accepted in the clock second `second` or the one before; with `before`, counting as
   * accepted the requests started before it that reached the server then and are still on their
   * way back (a slow API answers its accepted requests long after it refuses one).
   */
  busiestSecond(second: number, before = -Infinity): number {
    const countOf = (s: number) => (s > this.#staleUpTo ? this.countOf(s) + this.#inFlightIn(s, before) : 0);
    return Math.max(countOf(second), countOf(second - 1));
  }

  /**
   * The limit a refusal arriving at `arrivedAt`, in clock second `second`, shows: the busiest of
   * it and the second before, and never below the recent accepted rate.
   */
  limitAround(second: number, now: number, arrivedAt: number, startedAt = -Infinity): number {
    // A span of T seconds overlaps at most T + 1 one-second windows: what it held over T + 1 is a
    // floor, unless the span reaches back into seconds that told a limit since gone.
    const isFresh = now - ADAPTIVE.measureWindowMs >= (this.#staleUpTo + 1) * 1000;
    const floor = isFresh ? (this.#accepted.count(now) * 1000) / (ADAPTIVE.measureWindowMs + 1000) : 0;
    // Refused early in a second that holds fewer than the one before, the clock seconds saw a
    // ramp, not a window (a window on the clock refuses only once its own second is full): the
    // second of arrivals before the refusal says more.
    const partial = this.countOf(second) < this.countOf(second - 1) && second - 1 > this.#staleUpTo;
    const span = partial ? this.#acceptedLastSecond.count(arrivedAt) : 0;
    return Math.max(this.busiestSecond(second, startedAt), floor, span);
  }

  /**
   * For an answer come back after the cut at `cutAt` to a request sent before it that reached the
   * server in the second the cut measured (`cutSecond`) or the one before: that measure, recounted.
   */
  recountAfterCut(cutSecond: number, cutAt: number, startedAt: number, arrivedAt: number): number | undefined {
    const second = Math.floor(arrivedAt / 1000);
    return startedAt < cutAt && (second === cutSecond || second === cutSecond - 1) ? this.busiestSecond(cutSecond) : undefined;
  }

  /** The limit a long Retry-After shows: what was accepted since the lane last resumed, over the time until it may send again. */
  limitOverWait(now: number, retryAfterMs: number): number {
    const since = Math.max(this.#resumedAt, this.#firstStartAt ?? now);
    return (this.#acceptedSinceResume * 1000) / (now - since + retryAfterMs);
  }

  /** The measures a cut for `refusal` goes by. */
  around(refusal: Refusal): CutMeasures {
    const { now, arrivedAt, retryAfterMs } = refusal;
    const second = Math.floor(arrivedAt / 1000);
    return {
      sentRps: this.sentRps(now),
      limitAround: this.limitAround(second, now, arrivedAt, refusal.startedAt),
      busiestSecond: this.busiestSecond(second, refusal.startedAt),
      limitOverWait: retryAfterMs === undefined ? Number.NaN : this.limitOverWait(now, retryAfterMs),
      gapBeforeMs: this.gapBeforeMs(refusal.startedAt),
      earlyInSecond: this.refusedEarlyInSecond(second, refusal.startedAt),
    };
  }

  /**
   * Whether a refusal in clock second `second` came before that second took (nearly) what the one
   * before it took clean: a window on the clock refuses only once its own second's count is spent.
   */
  refusedEarlyInSecond(second: number, startedAt: number): boolean {
    if (second - 1 <= this.#staleUpTo) return false;
    return this.countOf(second) + this.#inFlightIn(second, startedAt) < ADAPTIVE.shallowestCut * this.countOf(second - 1);
  }

  /** How long before the start at `startedAt` the one before it went (undefined when not known). */
  gapBeforeMs(startedAt: number): number | undefined {
    const index = this.#recentStarts.lastIndexOf(startedAt);
    return index < 1 ? undefined : startedAt - this.#recentStarts[index - 1]!;
  }
}
