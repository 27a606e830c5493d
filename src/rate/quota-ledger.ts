/**
 * When a used-up quota comes back, from the lane's own starts (issue #23). A policy of `q` per
 * `w` (`RateLimit-Policy: q=20;w=1`) with `r` left says the server counts `q − r` requests now.
 * When the lane's own starts in the `w` before the answered one are at least that many, they
 * explain the count, and the lane knows when each unit of it comes back: a request may go once
 * its `q`-th newest start is `w` behind it. That holds for every shape the count may come from:
 * a sliding log forgets each request `w` after it came; a fixed window (on the clock or opened
 * by the first request) counts only requests since it opened and ends at most `w` after the
 * oldest of them; a token bucket of `q` refilling over `w` has at least `q` less what came in
 * the last `w`. Starts stand for arrivals: the way to the server is in both, and cancels out.
 *
 * Without it, draft-11's `r=0; t=1` (at most nothing in the next second) could only be waited
 * out whole, after every answer that said it, and a lane held to `--rps 40` spends a 20/s
 * sliding log's quota in half a second and then waits a whole second: 0.64 of the ideal.
 */
import { PACING_MARGIN } from './pacing-margin.js';

/** Starts kept per lane: a policy with a bigger quota is left to its stated reset. */
export const LEDGER_SIZE = 4096;

/** The last LEDGER_SIZE starts of a lane, oldest first, each moved on to when it went on the wire once known. */
export class StartLedger {
  readonly #starts: number[] = [];

  add(startedAt: number): void {
    this.#starts.push(startedAt);
    // Trim in blocks, so that adding stays cheap.
    if (this.#starts.length > 2 * LEDGER_SIZE) this.#starts.splice(0, this.#starts.length - LEDGER_SIZE);
  }

  /**
   * The request that started at `startedAt` went on the wire at `onWireAt` (after its connect):
   * from then on it stands for that. The first requests of a run can take tens of ms to get
   * there, and the server counts them from when they arrive.
   */
  settle(startedAt: number, onWireAt: number): void {
    const starts = this.#starts;
    let i = starts.lastIndexOf(startedAt);
    if (i < 0 || !(onWireAt > startedAt)) return;
    // Kept in order: it moves past those that started after it but reached the wire first.
    for (; i + 1 < starts.length && starts[i + 1]! < onWireAt; i++) starts[i] = starts[i + 1]!;
    starts[i] = onWireAt;
  }

  get starts(): readonly number[] {
    return this.#starts;
  }
}

/**
 * Whether the lane's own starts explain the count an answer gave: `used` (`q − r`) for the
 * request that started at `answeredStart`, no more than the lane started from `w` before it on.
 * Those started after it count too: on their way at the same time, some reach the server first.
 * Not when another client uses the quota as well (more counted than the lane sent), or the
 * ledger is too short for the quota.
 */
export function explainsCount(starts: readonly number[], answeredStart: number, used: number, limit: number, windowMs: number): boolean {
  if (!(limit > 0) || limit > LEDGER_SIZE || !(windowMs > 0) || used > starts.length) return false;
  let mine = 0;
  for (let i = starts.length - 1; i >= 0 && starts[i]! > answeredStart - windowMs; i--) mine += 1;
  return mine >= used;
}

/**
 * The earliest start at which one more request finds room among `limit` per `windowMs`, counted
 * over `starts` (oldest first, those still in flight included: the server counts them too):
 * once the `limit`-th newest is `windowMs` behind it. A margin of `windowMs` × PACING_MARGIN
 * covers the way to the server, which varies a little from one request to the next. Undefined
 * when fewer than `limit` started at all.
 */
export function roomAt(starts: readonly number[], limit: number, windowMs: number): number | undefined {
  if (!(limit > 0) || starts.length < limit) return undefined;
  return starts[starts.length - limit]! + windowMs * (1 + PACING_MARGIN);
}
