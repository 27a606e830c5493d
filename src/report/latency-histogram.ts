/**
 * Log-bucket histogram (the DDSketch layout): bucket i holds values in (γ^(i-1), γ^i] and
 * reports 2γ^i/(γ+1), so any quantile is within ALPHA relative error of a stored value.
 * Fixed size (~1,200 counters) whatever the number of records.
 */
export class LatencyHistogram {
  private static readonly ALPHA = 0.01;
  private static readonly MIN_MS = 0.01;
  private static readonly MAX_MS = 1e8; // about 28 hours: nothing real goes past it
  private readonly gamma = (1 + LatencyHistogram.ALPHA) / (1 - LatencyHistogram.ALPHA);
  private readonly lnGamma = Math.log(this.gamma);
  private readonly minIndex = Math.ceil(Math.log(LatencyHistogram.MIN_MS) / this.lnGamma);
  private readonly counts = new Float64Array(Math.ceil(Math.log(LatencyHistogram.MAX_MS) / this.lnGamma) - this.minIndex + 1);
  private zeros = 0;
  private n = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  add(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.n++;
    this.min = Math.min(this.min, ms);
    this.max = Math.max(this.max, ms);
    if (ms <= 0) {
      this.zeros++;
      return;
    }
    const clamped = Math.min(Math.max(ms, LatencyHistogram.MIN_MS), LatencyHistogram.MAX_MS);
    const i = Math.ceil(Math.log(clamped) / this.lnGamma) - this.minIndex;
    this.counts[Math.min(Math.max(i, 0), this.counts.length - 1)]! += 1;
  }

  /** Nearest-rank quantile, clamped to the exact min and max seen. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    if (rank <= this.zeros) return Math.max(0, this.min);
    let seen = this.zeros;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const estimate = (2 * this.gamma ** (i + this.minIndex)) / (this.gamma + 1);
        return Math.min(Math.max(estimate, this.min), this.max);
      }
    }
    return this.max;
  }
}
