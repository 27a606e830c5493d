/** RunStats: the run's counters, fed by RunEvents. Always collected: --stats-file needs them under --quiet. */
import type { RunEvent } from '../events.js';
import { WindowCounter } from '../rate/window-counter.js';
import { LatencyHistogram } from './latency-histogram.js';
import { SecondsTimeline, type TimelineSecond } from './seconds-timeline.js';
import type { CacheCounts, LaneRate, PausedHost, PauseTimelineEntry, RateTimelineEntry, StatsSnapshot } from './stats-snapshot.js';

export type { CacheCounts, LaneRate, LatencyPercentiles, PausedHost, PauseTimelineEntry, RateTimelineEntry, StatsSnapshot } from './stats-snapshot.js';
export type { TimelineSecond } from './seconds-timeline.js';

/** Width of the sliding window behind `recentRps` and the ETA. */
const RECENT_WINDOW_MS = 5_000;
const RECENT_BUCKET_MS = 100;
/** Rate changes kept for --stats-file: a long run probes every 30 s, some 120 an hour. */
const RATE_TIMELINE_MAX = 1_000;
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
  /** The last RATE_TIMELINE_MAX rate changes, for --stats-file. */
  private readonly rateTimeline: RateTimelineEntry[] = [];
  private interruptReason: string | null = null;
  private readonly timeline: SecondsTimeline;
  /** The last RATE_TIMELINE_MAX host pauses, for --stats-file. */
  private readonly pauseTimeline: PauseTimelineEntry[] = [];
  /** With --cache; a --dedupe copy is not counted (its first is). */
  private cache: CacheCounts | undefined;
  /** With --batch: records of inputs answered by batch requests. */
  private batchedInputs = 0;
  /** --save: files written (or found whole on --resume) and their bytes. */
  private readonly saved = { files: 0, bytes: 0, foundWhole: 0 };

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.startedAt = now();
    this.timeline = new SecondsTimeline(this.startedAt);
  }

  /** Expected number of inputs (e.g. from countInputLines); input-end overrides it. */
  setTotal(n: number | undefined): void {
    this.expectedTotal = n ?? null;
  }

  onEvent(e: RunEvent): void {
    this.timeline.onEvent(e, this.now);
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
        if (this.pauseTimeline.length === RATE_TIMELINE_MAX) this.pauseTimeline.shift();
        this.pauseTimeline.push({ atMs: this.now() - this.startedAt, host: e.host, forMs: e.delayMs, source: e.source, reason: e.reason });
        break;
      }
      case 'rate': {
        // A rate kept says why it stayed; the timeline has it, the lane's rate is unchanged.
        if (e.reason === 'kept') {
          this.noteRateChange(e);
          break;
        }
        const found = e.heldRps !== undefined;
        const settledRps = e.heldRps ?? e.rps;
        if (Number.isFinite(e.rps)) this.laneRates.set(e.lane, { lane: e.lane, rps: e.rps, found, settledRps });
        else this.laneRates.delete(e.lane);
        this.noteRateChange(e);
        break;
      }
      case 'rate-wait':
        this.rateWaitMs += e.waitedMs;
        break;
      case 'interrupt':
        this.interruptReason ??= e.reason;
        break;
      case 'remote-attempts': {
        const t = this.now();
        this.attemptsStarted += e.started;
        this.attemptsEnded += e.ended;
        this.received429 += e.refused;
        this.retries += e.retries;
        if (e.started > 0) this.firstStartAt ??= t;
        this.recentStarts.add(t, e.started);
        break;
      }
      case 'record': {
        const r = e.record;
        // A page that is not its input's last (always ok): its latency counts, the input is not done yet.
        if (r.last === false) {
          if (r.latencyMs !== null) this.latency.add(r.latencyMs);
          break;
        }
        this.done++;
        this.recentDone.add(this.now());
        if (r.batch !== undefined) this.batchedInputs++;
        if (!r.final) this.notFinal++;
        if (r.ok) {
          this.ok++;
        } else {
          if (r.status !== null) increment(this.byStatus, String(r.status));
          if (r.error !== null) increment(this.byErrorCode, r.error.code);
          for (const path of new Set((r.schemaErrors ?? []).map((e) => schemaPathPattern(e.path)))) increment(this.schemaMismatchByPath, path);
        }
        if (r.latencyMs !== null) this.latency.add(r.latencyMs);
        if (r.saved !== undefined) {
          this.saved.files++;
          this.saved.bytes += r.saved.bytes;
          if (r.fromFile === true) this.saved.foundWhole++;
        }
        if (r.cache !== undefined && r.duplicateOf === undefined) {
          this.cache ??= { hit: 0, revalidated: 0, miss: 0 };
          this.cache[r.cache]++;
        }
        break;
      }
    }
  }

  private noteRateChange(e: Extract<RunEvent, { type: 'rate' }>): void {
    if (this.rateTimeline.length === RATE_TIMELINE_MAX) this.rateTimeline.shift();
    this.rateTimeline.push({ atMs: this.now() - this.startedAt, lane: e.lane, rps: e.rps, reason: e.reason, why: e.why });
  }

  /** The run second by second, and its host pauses: for --stats-file (not in the snapshot, which the live display takes often). */
  history(): { perSecond: TimelineSecond[]; pauses: PauseTimelineEntry[] } {
    return { perSecond: this.timeline.seconds(), pauses: [...this.pauseTimeline] };
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
      achievedRps: this.firstStartAt === null ? null : this.attemptsStarted / (Math.max(1, now - this.firstStartAt) / 1000),
      recentRps,
      latencyMs: {
        p50: this.latency.quantile(0.5),
        p95: this.latency.quantile(0.95),
        p99: this.latency.quantile(0.99),
      },
      rateWaitMs: this.rateWaitMs,
      pausedHosts: this.activePauses(now),
      laneRates: [...this.laneRates.values()].sort((a, b) => a.rps - b.rps),
      rateTimeline: [...this.rateTimeline],
      interrupted: this.interruptReason !== null,
      interruptReason: this.interruptReason,
      etaMs: estimateEta(total, this.done, recentDoneRate),
      ...(this.cache !== undefined && { cache: { ...this.cache } }),
      batchedInputs: this.batchedInputs,
      saved: { ...this.saved },
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

/**
 * For counting mismatches across records: array indexes (and numeric keys) become `*`, so
 * `/items/0/id` and `/items/7/id` count as one place, `/items/*\/id`.
 */
export function schemaPathPattern(path: string): string {
  return path.replace(/\/\d+(?=\/|$)/g, '/*');
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
