/**
 * Windows on the clock: a server that allows N requests in each clock second. A cut that counted
 * one clock second fills the rest of the second the pause ends in with 97% of that count, at
 * whatever pace that takes (a fill). If the server takes the whole fill, it counts clock seconds:
 * from then on each second gets the count, spread over all of it but a margin at its end, and the
 * last start of a second holds the lane until the next (windows). One refused fill, or windows
 * refused soon after they began, says it is not that kind of server, for good.
 */
import type { Evidence } from './evidence.js';
import { type Fill, type FillPace, fillAfterPause, noteFillStart, secondOfWindows } from './fill.js';
import { ADAPTIVE } from './tuning.js';

/** What the finder's rate is now. */
export interface PaceContext extends FillPace {
  strictSpacing: boolean;
}

export class ClockWindows {
  readonly #evidence: Pick<Evidence, 'countOf' | 'toServerMs'>;
  /** The clock second's count the last cut measured, until the pause after it fills a second. */
  #measuredCount: number | undefined;
  /** The server refused a fill (not a window on the clock), or the windows soon after they began. */
  #fillRefused = false;
  #refused = false;
  /** The last fill (or second of the windows), under way or done. */
  #fill: Fill | undefined;
  /** While windows pace the lane: the count each second may take, the pace that spreads it, since when, and the rate before. */
  #count: number | undefined;
  #pace = Infinity;
  #since = -Infinity;
  #rpsBefore = Infinity;
  /** The second the windows were last recounted by, and the count before. */
  #recount: { second: number; before: number } | undefined;

  constructor(evidence: Pick<Evidence, 'countOf' | 'toServerMs'>) {
    this.#evidence = evidence;
  }

  /** While windows pace the lane: how many each clock second may take. */
  get count(): number | undefined {
    return this.#count;
  }

  /** The lane's pace: the windows', a fill's while it lasts, or else `rps`. */
  pace(rps: number): number {
    if (this.#count !== undefined) return this.#pace;
    return this.#fill?.active === true ? this.#fill.rps : rps;
  }

  /** Windows and fills go one start at a time: catch-up credit would push a second over its count. */
  get oneAtATime(): boolean {
    return this.#count !== undefined || this.#fill?.active === true;
  }

  /** A cut counted a clock second (undefined: it did not): the pause after it may fill one. */
  noteMeasured(count: number | undefined): void {
    this.#measuredCount = count;
  }

  /**
   * A start at `now`. When it ends a fill or a second of the windows, nothing more should start
   * before `holdUntil`: that second's count is spent.
   */
  noteStart(now: number): { holdUntil: number } | undefined {
    if (this.#count !== undefined && (this.#fill?.active !== true || now >= this.#fill.until)) {
      this.#fill = secondOfWindows(now, this.#count, this.#pace, this.#evidence.toServerMs, this.#fill);
    }
    return this.#fill === undefined ? undefined : noteFillStart(this.#fill, now);
  }

  /** A refusal to the request started at `startedAt`: a refused fill ends filling for good (returns true). */
  noteRefused(startedAt: number): boolean {
    if (this.#count !== undefined || !this.#isFillStart(startedAt)) return false;
    this.#fillRefused = true;
    return true;
  }

  /** A clean answer to a fill's start: once all of them are, the server counts clock seconds. Returns the count the windows begin with. */
  noteAccepted(startedAt: number, now: number, context: PaceContext): number | undefined {
    const fill = this.#fill;
    if (fill === undefined || !this.#isFillStart(startedAt)) return undefined;
    fill.accepted = (fill.accepted ?? 0) + 1;
    if (this.#count !== undefined || this.#refused || this.#fillRefused || context.strictSpacing) return undefined;
    if (fill.active || fill.accepted < fill.started || fill.started < 2) return undefined;
    // A count under the rate was a ramp's (see deepestCut), not the limit.
    if (fill.count < context.rps) return undefined;
    this.#since = now;
    this.#rpsBefore = context.rps;
    return this.#start(fill.count, context.ceiling);
  }

  /**
   * A second the windows paced whole refused after a little less than the count (at least
   * shallowestCut of it): the count was a request or two over, one counted in the wrong second,
   * or the limit went down a little. The windows go on with what that second took (returned).
   * (Far less, the limit went down, perhaps part way through that second: the cut measures it.)
   * The second the windows began in counts too: its fill took what it took, and a window
   * refuses only once its count is spent.
   */
  recount(arrivedAt: number, ceiling: number): number | undefined {
    const count = this.#count;
    const second = Math.floor(arrivedAt / 1000);
    if (count === undefined || this.#since >= (second + 1) * 1000) return undefined;
    const accepted = this.#evidence.countOf(second);
    if (accepted >= count || accepted < count * ADAPTIVE.shallowestCut) return undefined;
    this.#recount = { second, before: count };
    return this.#start(accepted, ceiling);
  }

  /** An answer of the recounted second, sent before `cutAt` and come back after the recount: it counts too. Returns the new count. */
  refineRecount(startedAt: number, arrivedAt: number, cutAt: number, ceiling: number): number | undefined {
    const recount = this.#recount;
    if (recount === undefined || this.#count === undefined || startedAt >= cutAt || Math.floor(arrivedAt / 1000) !== recount.second) return undefined;
    const count = Math.min(recount.before - 1, this.#evidence.countOf(recount.second));
    return count > this.#count ? this.#start(count, ceiling) : undefined;
  }

  /**
   * Windows refused within heldCleanMs of their start: the server is not a window on the clock
   * after all. They end for good; returns the rate that was clean before them.
   */
  refusedEarly(now: number): number | undefined {
    if (this.#count === undefined || now - this.#since >= ADAPTIVE.heldCleanMs) return undefined;
    this.#refused = true;
    this.leave();
    return this.#rpsBefore;
  }

  /**
   * What the windows make of a refusal arriving at `arrivedAt`: a recount (below), or, soon after
   * they began, the rate that was clean before them. Otherwise they end, and the cut measures.
   */
  readRefusal(arrivedAt: number, now: number, ceiling: number): { rps: number; reason: 'window' | 'throttled' } | undefined {
    const recounted = this.recount(arrivedAt, ceiling);
    if (recounted !== undefined) return { rps: recounted, reason: 'window' };
    const before = this.refusedEarly(now);
    if (before !== undefined) return { rps: before, reason: 'throttled' };
    this.leave();
    return undefined;
  }

  leave(): void {
    if (this.#count === undefined) return;
    this.#count = undefined;
    this.#fill = undefined;
  }

  /**
   * The lane pauses until `from`: after a cut that counted a clock second, fill the rest of the
   * second it resumes in with 97% of that count, no more, where the rate would leave most of it
   * unused.
   */
  planFill(from: number, context: PaceContext): void {
    // A later refusal may move the pause on: the fill planned for it moves with it.
    const count = this.#measuredCount ?? (this.#fill?.active === true ? this.#fill.count : undefined);
    this.#measuredCount = undefined;
    if (this.#fill?.active === true) this.#fill = undefined;
    if (count === undefined || this.#fillRefused || context.strictSpacing || !Number.isFinite(context.rps)) return;
    this.#fill = fillAfterPause(count, from, context, this.#evidence.toServerMs);
  }

  #start(count: number, ceiling: number): number {
    this.#count = count;
    this.#pace = Math.min(ceiling, (count * 1000) / (1000 - ADAPTIVE.fillMarginMs - this.#evidence.toServerMs));
    // A second under way keeps the starts it counted, under the new count.
    if (this.#fill?.active === true) Object.assign(this.#fill, { most: count, rps: this.#pace });
    return count;
  }

  #isFillStart(startedAt: number): boolean {
    const fill = this.#fill;
    return fill?.firstAt !== undefined && startedAt >= fill.firstAt && startedAt <= fill.lastAt!;
  }
}
