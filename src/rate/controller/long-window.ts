/**
 * A long window's end, found by one request, not by all in flight. After a 429 whose
 * Retry-After says a long window's count ran out (cut.ts, `long-window`), the lane keeps its rate
 * and waits; in the next window, once the count the last one held is spent but for one start,
 * each start holds the lane a while (two round trips at least), so only one request finds the
 * end (a 429 with its Retry-After) where every one in flight did (8 × 429 a minute at the
 * default --concurrency).
 */
import { ADAPTIVE } from './tuning.js';

export class LongWindowGuard {
  /** The count the last long window held, and the starts since the lane resumed into the next. */
  #window: { count: number; starts: number } | undefined;

  /** A long window's 429, with `accepted` answers accepted since the lane resumed into it. */
  noteEnded(accepted: number): void {
    this.#window = { count: accepted, starts: 0 };
  }

  /** The lane resumes into a new window. */
  notePause(): void {
    if (this.#window !== undefined) this.#window.starts = 0;
  }

  /** A start at `now`: once the count is spent but for it, nothing more should start before `holdUntil`. */
  noteStart(now: number, roundTripMs: number): { holdUntil: number } | undefined {
    const window = this.#window;
    if (window === undefined) return undefined;
    window.starts += 1;
    if (window.starts < window.count) return undefined;
    return { holdUntil: now + Math.max(ADAPTIVE.lastOfWindowHoldMs, 2 * roundTripMs) };
  }

  /**
   * An accepted answer. Well past the count and still accepted, the count was a part of a window
   * (or the limit rose): forget it until the next long window's 429 counts again.
   */
  noteAccepted(): void {
    const window = this.#window;
    if (window !== undefined && window.starts > window.count + Math.max(2, window.count / 10)) this.#window = undefined;
  }
}
