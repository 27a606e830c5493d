/**
 * How long a lane's quota windows are, from the answers alone (issue #23). A reset in whole
 * seconds, rounded up, overstates the wait of any window that is not whole seconds long (250 ms
 * windows all say "the next second"). But remaining counts down within a window and jumps back
 * up to limit − 1 in the next one, whose first answer marks it: each turn of a window lies
 * between the last arrival counted in the old window and the first in the new one. From the
 * last arrival before one turn to the first after a turn n turns later, more than n windows
 * passed (more still if the lane skipped some), for windows on the clock and windows opened by
 * a client's first request alike: that span over n bounds a window's length from above, and
 * the more turns it spans, the closer the bound. Pacing by the bound is never refused.
 */

/** What the answers showed of the windows. */
export interface QuotaWindow {
  /** The arrival of the current window's first request (remaining = limit − 1). */
  openedAt: number;
  /** Longer than a window (see above); undefined before two turns were seen. */
  longestMs: number | undefined;
}

/** Turns kept to bound the length by: the bound tightens as 1 / turns spanned. */
const TURNS_KEPT = 32;

interface Turn {
  /** The last arrival counted in the window before it. */
  lastBefore: number;
  openedAt: number;
}

export class QuotaWindows {
  readonly #turns: Turn[] = [];
  #openedAt: number | undefined;
  #lastArrival: number | undefined;
  #longestMs: number | undefined;

  /**
   * An answer's quota, for a request that reached the server at `arrivedAt`. Returns the windows
   * as known so far; undefined before the first window's first answer.
   */
  note(limit: number | undefined, remaining: number | undefined, arrivedAt: number): QuotaWindow | undefined {
    if (limit !== undefined && remaining === limit - 1 && (this.#openedAt === undefined || arrivedAt > this.#openedAt)) {
      if (this.#lastArrival !== undefined) this.#turn({ lastBefore: this.#lastArrival, openedAt: arrivedAt });
      this.#openedAt = arrivedAt;
    }
    this.#lastArrival = Math.max(this.#lastArrival ?? arrivedAt, arrivedAt);
    return this.#openedAt === undefined ? undefined : { openedAt: this.#openedAt, longestMs: this.#longestMs };
  }

  #turn(turn: Turn): void {
    this.#turns.push(turn);
    if (this.#turns.length > TURNS_KEPT) this.#turns.shift();
    const newest = this.#turns.length - 1;
    for (let i = 0; i < newest; i++) {
      const bound = (turn.openedAt - this.#turns[i]!.lastBefore) / (newest - i);
      this.#longestMs = Math.min(this.#longestMs ?? Infinity, bound);
    }
  }
}
