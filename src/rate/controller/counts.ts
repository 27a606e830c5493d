/** Counts of events over time that the limit finder measures with. */
import { WindowCounter } from '../window-counter.js';

/** Events per clock second, for the last few seconds. */
export class PerSecond {
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
