/**
 * Events over a sliding window, in a ring of fixed-width time buckets: memory and time stay
 * constant at any rate. The progress display (recent rate, ETA) and the rate controller
 * (accepted rate) both count with it.
 */

/** Counts events in a ring of fixed-width time buckets covering the last `windowMs`. */
export class WindowCounter {
  private readonly ids: Float64Array;
  private readonly counts: Float64Array;

  constructor(
    private readonly windowMs: number,
    private readonly bucketMs: number,
  ) {
    const n = Math.ceil(windowMs / bucketMs);
    this.ids = new Float64Array(n).fill(Number.NaN);
    this.counts = new Float64Array(n);
  }

  /** Counts `n` events (one by default) at time `t`. */
  add(t: number, n = 1): void {
    const id = Math.floor(t / this.bucketMs);
    const slot = mod(id, this.ids.length);
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += n;
  }

  /** Events in the buckets that overlap the window ending at `now`. */
  count(now: number): number {
    const current = Math.floor(now / this.bucketMs);
    const oldest = current - this.ids.length + 1;
    let sum = 0;
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      if (id >= oldest && id <= current) sum += this.counts[i]!;
    }
    return sum;
  }

  /** The time those buckets cover: from the oldest bucket's start to now. */
  spanMs(now: number): number {
    const oldest = Math.floor(now / this.bucketMs) - this.ids.length + 1;
    return Math.min(this.windowMs + this.bucketMs, now - oldest * this.bucketMs);
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
