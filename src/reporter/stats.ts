import { schemaPathPattern } from '../checks.js';
import type { RunEvent } from '../events.js';
import { WindowCounter } from '../window-counter.js';

/** Latency percentiles in ms; null when no record carried a latency. */
export interface LatencyPercentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A host the scheduler paused (after a 429 or 503 with Retry-After, for instance). */
export interface PausedHost {
  host: string;
  /** Epoch ms at which the pause ends. */
  untilMs: number;
  /** Why, already redacted (e.g. `429 Too Many Requests`). */
  reason: string;
}

/** The rate a host or route is held to by the rate controller. */
export interface LaneRate {
  lane: string;
  rps: number;
  /** True once a 429 set it: the limit was found, not just climbed to. */
  found: boolean;
  /** The rate that held: `rps` itself, unless that is a probe step nothing has tested yet. */
  settledRps: number;
}

/** Everything the reporters show, at one instant. Plain data: safe to keep or serialise. */
export interface StatsSnapshot {
  /** Epoch ms at which the RunStats was created (the run start). */
  startedAt: number;
  /** Wall time since `startedAt`. */
  elapsedMs: number;
  /** Expected number of inputs: the real count once the input ended, else `setTotal`'s, else null. */
  total: number | null;
  /** Inputs read so far (valid or not). */
  read: number;
  inputEnded: boolean;
  /** Records emitted (one per input). */
  done: number;
  ok: number;
  failed: number;
  /** Records with `final: false`: worth trying again in a later run. */
  notFinal: number;
  /** Not-ok records that had a status, by status code. */
  byStatus: Record<string, number>;
  /** Not-ok records by `error.code`. */
  byErrorCode: Record<string, number>;
  /** SCHEMA_MISMATCH errors by body path, array indexes folded to `*`, so drift shows at a glance. */
  schemaMismatchByPath: Record<string, number>;
  retries: number;
  /** Attempts that ended with status 429 (retried or not). */
  received429: number;
  attemptsStarted: number;
  inFlight: number;
  /** ok / done, 0..1; null before the first record. */
  successRate: number | null;
  /** Attempt starts per second since the first attempt start; null before it. */
  achievedRps: number | null;
  /** Attempt starts per second over the last ~5 s; null before the first start. */
  recentRps: number | null;
  /** Over each record's `latencyMs` (its last attempt); about 1% relative error. */
  latencyMs: LatencyPercentiles;
  /** Wall time in which requests were ready and a free slot was there, but a rate or a pause held them. */
  rateWaitMs: number;
  /** Hosts still paused at snapshot time, the one that resumes last first. */
  pausedHosts: PausedHost[];
  /** Rates the run holds itself to now, found by the rate controller (or --rps auto's climb), slowest first. */
  laneRates: LaneRate[];
  interrupted: boolean;
  interruptReason: string | null;
  /** From the record completion rate over the last ~5 s; null when unknown or stalled. */
  etaMs: number | null;
}

/** Width of the sliding window behind `recentRps` and the ETA. */
const RECENT_WINDOW_MS = 5_000;
const RECENT_BUCKET_MS = 100;
/** A window shorter than this (the first second of a run) is stretched, so one start is not "1000 req/s". */
const MIN_RATE_SPAN_MS = 1_000;

/**
 * Aggregates RunEvents into counters. Pure: no timers, no I/O, the clock is injected.
 * Memory is constant in the number of records (hosts aside): latencies go into a
 * log-bucket histogram and rates into a ring of 100 ms buckets.
 */
export class RunStats {
  private readonly now: () => number;
  private readonly startedAt: number;
  private expectedTotal: number | null = null;
  private endTotal: number | null = null;
  private read = 0;
  private done = 0;
  private ok = 0;
  private notFinal = 0;
  private readonly byStatus = new Map<string, number>();
  private readonly byErrorCode = new Map<string, number>();
  private readonly schemaMismatchByPath = new Map<string, number>();
  private retries = 0;
  private received429 = 0;
  private attemptsStarted = 0;
  private attemptsEnded = 0;
  private firstStartAt: number | null = null;
  private readonly recentStarts = new WindowCounter(RECENT_WINDOW_MS, RECENT_BUCKET_MS);
  private readonly recentDone = new WindowCounter(RECENT_WINDOW_MS, RECENT_BUCKET_MS);
  private readonly latency = new LatencyHistogram();
  private rateWaitMs = 0;
  private readonly pauses = new Map<string, PausedHost>();
  private readonly laneRates = new Map<string, LaneRate>();
  private interruptReason: string | null = null;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.startedAt = now();
  }

  /** Expected number of inputs (e.g. from countInputLines); input-end overrides it. */
  setTotal(n: number | undefined): void {
    this.expectedTotal = n ?? null;
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'input':
        this.read++;
        break;
      case 'input-end':
        this.endTotal = e.total;
        break;
      case 'attempt-start': {
        const t = this.now();
        this.attemptsStarted++;
        this.firstStartAt ??= t;
        this.recentStarts.add(t);
        break;
      }
      case 'attempt-held':
        // It never went on the wire: not a request sent.
        this.attemptsStarted--;
        break;
      case 'attempt-end':
        this.attemptsEnded++;
        if (e.status === 429) this.received429++;
        break;
      case 'retry':
        this.retries++;
        break;
      case 'pause': {
        // The limiter keeps the later of two pauses, so we do too.
        const prev = this.pauses.get(e.host);
        if (prev === undefined || e.untilMs >= prev.untilMs) {
          this.pauses.set(e.host, { host: e.host, untilMs: e.untilMs, reason: e.reason });
        }
        break;
      }
      case 'rate': {
        const before = this.laneRates.get(e.lane);
        const found = e.reason === 'throttled' || e.reason === 'spacing' || (before?.found ?? false);
        // A probe step is taken after a clean step at the rate before it: that rate held.
        const settledRps = e.reason === 'probe' && before !== undefined ? before.rps : e.rps;
        if (Number.isFinite(e.rps)) this.laneRates.set(e.lane, { lane: e.lane, rps: e.rps, found, settledRps });
        else this.laneRates.delete(e.lane);
        break;
      }
      case 'rate-wait':
        this.rateWaitMs += e.waitedMs;
        break;
      case 'interrupt':
        this.interruptReason ??= e.reason;
        break;
      case 'record': {
        const r = e.record;
        this.done++;
        this.recentDone.add(this.now());
        if (!r.final) this.notFinal++;
        if (r.ok) {
          this.ok++;
        } else {
          if (r.status !== null) increment(this.byStatus, String(r.status));
          if (r.error !== null) increment(this.byErrorCode, r.error.code);
          for (const path of new Set((r.schemaErrors ?? []).map((e) => schemaPathPattern(e.path)))) increment(this.schemaMismatchByPath, path);
        }
        if (r.latencyMs !== null) this.latency.add(r.latencyMs);
        break;
      }
    }
  }

  snapshot(): StatsSnapshot {
    const now = this.now();
    const total = this.endTotal ?? this.expectedTotal;
    const recentRps = this.rateSince(this.recentStarts, now);
    const recentDoneRate = this.rateSince(this.recentDone, now);
    return {
      startedAt: this.startedAt,
      elapsedMs: Math.max(0, now - this.startedAt),
      total,
      read: this.read,
      inputEnded: this.endTotal !== null,
      done: this.done,
      ok: this.ok,
      failed: this.done - this.ok,
      notFinal: this.notFinal,
      byStatus: Object.fromEntries(this.byStatus),
      byErrorCode: Object.fromEntries(this.byErrorCode),
      schemaMismatchByPath: Object.fromEntries(this.schemaMismatchByPath),
      retries: this.retries,
      received429: this.received429,
      attemptsStarted: this.attemptsStarted,
      inFlight: Math.max(0, this.attemptsStarted - this.attemptsEnded),
      successRate: this.done === 0 ? null : this.ok / this.done,
      achievedRps:
        this.firstStartAt === null
          ? null
          : this.attemptsStarted / (Math.max(1, now - this.firstStartAt) / 1000),
      recentRps,
      latencyMs: {
        p50: this.latency.quantile(0.5),
        p95: this.latency.quantile(0.95),
        p99: this.latency.quantile(0.99),
      },
      rateWaitMs: this.rateWaitMs,
      pausedHosts: this.activePauses(now),
      laneRates: [...this.laneRates.values()].sort((a, b) => a.rps - b.rps),
      interrupted: this.interruptReason !== null,
      interruptReason: this.interruptReason,
      etaMs: estimateEta(total, this.done, recentDoneRate),
    };
  }

  /** Events per second in the recent window; null before the first attempt start. */
  private rateSince(counter: WindowCounter, now: number): number | null {
    if (this.firstStartAt === null) return null;
    const span = Math.max(MIN_RATE_SPAN_MS, Math.min(counter.spanMs(now), now - this.firstStartAt));
    return counter.count(now) / (span / 1000);
  }

  private activePauses(now: number): PausedHost[] {
    const active: PausedHost[] = [];
    for (const [host, p] of this.pauses) {
      if (p.untilMs > now) active.push({ ...p });
      else this.pauses.delete(host); // expired: forget it, there may be many hosts
    }
    return active.sort((a, b) => b.untilMs - a.untilMs);
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function estimateEta(total: number | null, done: number, perSecond: number | null): number | null {
  if (total === null) return null;
  const remaining = total - done;
  if (remaining <= 0) return 0;
  if (perSecond === null || perSecond <= 0) return null;
  return (remaining / perSecond) * 1000;
}

/**
 * Log-bucket histogram (the DDSketch layout): bucket i holds values in (γ^(i-1), γ^i] and
 * reports 2γ^i/(γ+1), so any quantile is within ALPHA relative error of a stored value.
 * Fixed size (~1,200 counters) whatever the number of records.
 */
class LatencyHistogram {
  private static readonly ALPHA = 0.01;
  private static readonly MIN_MS = 0.01;
  private static readonly MAX_MS = 1e8; // about 28 hours: nothing real goes past it
  private readonly gamma = (1 + LatencyHistogram.ALPHA) / (1 - LatencyHistogram.ALPHA);
  private readonly lnGamma = Math.log(this.gamma);
  private readonly minIndex = Math.ceil(Math.log(LatencyHistogram.MIN_MS) / this.lnGamma);
  private readonly counts = new Float64Array(
    Math.ceil(Math.log(LatencyHistogram.MAX_MS) / this.lnGamma) - this.minIndex + 1,
  );
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
