/**
 * `ratefetch report`: what a results file says the morning after, from its records alone (and
 * the run's --stats-file, when given). Pure: records go in one at a time, a plain object comes
 * out. For each input (its line and key) the last record wins, as --resume reads the file, so a
 * file that several resumed runs appended to reports each input once.
 */
import type { FetchRecord } from '../record/record.js';
import type { StatsJson } from './stats-json.js';
import { LatencyHistogram } from './latency-histogram.js';

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ReportSecond {
  /** Epoch seconds. */
  atS: number;
  /** Attempts started (a record's first at its startedAt, its retries at its endedAt). */
  starts: number;
  ok: number;
  failed: number;
  /** 429s in this second: from the stats file when given (records do not count them). */
  received429: number;
  /** Latency percentiles of the records that started in this second. */
  latencyMs: Percentiles;
}

export interface HostLine {
  /** host, or host + path with its ids folded to `*` (a route). */
  name: string;
  records: number;
  failed: number;
  latencyMs: Percentiles;
}

export interface ResultsReport {
  records: number;
  inputs: number;
  ok: number;
  failed: number;
  successRate: number | null;
  /** The last record of each input that is not ok, by status, and by error code. */
  failedByStatus: Record<string, number>;
  failedByCode: Record<string, number>;
  /** A few distinct messages of those records for each code (as written, so already redacted). */
  failureExamples: Record<string, string[]>;
  /** Attempts after the first, over every record. */
  retries: number;
  attempts: number;
  latencyMs: Percentiles;
  /** First start to last end, epoch ms; null when nothing was sent. */
  startedAt: number | null;
  endedAt: number | null;
  /** Attempts per second over that span. */
  achievedRps: number | null;
  perSecond: ReportSecond[];
  /** The slowest hosts and routes by p95 latency (at most 5 of each). */
  slowestHosts: HostLine[];
  slowestRoutes: HostLine[];
  /** Inputs a later run should fetch again: not final (--resume does), and not ok but final (--resume --retry-failed). */
  worthRetrying: { notFinal: number; failedFinal: number; byCode: Record<string, number>; examples: Array<{ line: number; url: string; code: string }> };
  /** With --cache: the last record of each input by where its answer came from; absent without it. */
  cache?: { hit: number; revalidated: number; miss: number };
  /** From the stats file: the rate each host or route settled at, the rate changes and the pauses. */
  run?: Pick<StatsJson, 'laneRates' | 'rateTimeline' | 'pauseTimeline' | 'received429' | 'startedAt' | 'wallMs'>;
}

const INPUT_ERRORS = new Set(['INVALID_URL', 'INVALID_INPUT', 'TEMPLATE_MISSING_VALUE']);
const TOP = 5;
const EXAMPLES = 10;
const MESSAGES_PER_CODE = 3;

interface LastRecord {
  ok: boolean;
  final: boolean;
  status: number | null;
  code: string | null;
  message: string | null;
  url: string;
  line: number;
  cache: FetchRecord['cache'];
}

interface Group {
  records: number;
  failed: number;
  latency: LatencyHistogram;
}

export class ResultsReporter {
  readonly #last = new Map<string, LastRecord>();
  readonly #seconds = new Map<number, { starts: number; ok: number; failed: number; latency: LatencyHistogram }>();
  readonly #hosts = new Map<string, Group>();
  readonly #routes = new Map<string, Group>();
  readonly #latency = new LatencyHistogram();
  #records = 0;
  #attempts = 0;
  #retries = 0;
  #startedAt: number | null = null;
  #endedAt: number | null = null;

  add(record: FetchRecord): void {
    this.#records += 1;
    // --batch: a request carried many inputs; each is counted once, on its first input's record.
    const attempts = record.batch?.requests ?? record.attempts;
    this.#attempts += attempts;
    this.#retries += Math.max(0, attempts - 1);
    this.#last.set(`${record.line} ${record.key}`, {
      ok: record.ok,
      final: record.final,
      status: record.status,
      code: record.error?.code ?? null,
      message: record.error?.message ?? null,
      url: record.url,
      line: record.line,
      cache: record.cache,
    });
    if (record.latencyMs !== null) this.#latency.add(record.latencyMs);
    if (record.startedAt !== null && record.startedAt !== undefined) {
      const second = this.#second(Math.floor(record.startedAt / 1000));
      second.starts += Math.min(1, attempts);
      if (record.ok) second.ok += 1;
      else second.failed += 1;
      if (record.latencyMs !== null) second.latency.add(record.latencyMs);
      if (attempts > 1 && typeof record.endedAt === 'number') this.#second(Math.floor(record.endedAt / 1000)).starts += attempts - 1;
      this.#startedAt = Math.min(this.#startedAt ?? record.startedAt, record.startedAt);
      this.#endedAt = Math.max(this.#endedAt ?? 0, record.endedAt ?? record.startedAt);
    }
    if (record.attempts > 0) {
      const where = hostAndRoute(record.finalUrl ?? record.url);
      if (where !== undefined) {
        this.#group(this.#hosts, where.host, record);
        this.#group(this.#routes, where.route, record);
      }
    }
  }

  report(stats?: StatsJson): ResultsReport {
    let ok = 0;
    const failedByStatus: Record<string, number> = {};
    const failedByCode: Record<string, number> = {};
    const failureExamples: Record<string, string[]> = {};
    const retry = { notFinal: 0, failedFinal: 0, byCode: {} as Record<string, number>, examples: [] as Array<{ line: number; url: string; code: string }> };
    let cache: ResultsReport['cache'];
    for (const last of this.#last.values()) {
      if (last.cache !== undefined) {
        cache ??= { hit: 0, revalidated: 0, miss: 0 };
        cache[last.cache] += 1;
      }
      if (last.ok) {
        ok += 1;
        continue;
      }
      if (last.status !== null) failedByStatus[last.status] = (failedByStatus[last.status] ?? 0) + 1;
      const code = last.code ?? 'UNKNOWN';
      failedByCode[code] = (failedByCode[code] ?? 0) + 1;
      const messages = failureExamples[code] ?? [];
      if (last.message !== null && messages.length < MESSAGES_PER_CODE && !messages.includes(last.message)) messages.push(last.message);
      failureExamples[code] = messages;
      if (INPUT_ERRORS.has(code)) continue; // the same line gives the same record
      if (last.final) retry.failedFinal += 1;
      else retry.notFinal += 1;
      retry.byCode[code] = (retry.byCode[code] ?? 0) + 1;
      if (retry.examples.length < EXAMPLES) retry.examples.push({ line: last.line, url: last.url, code });
    }
    const inputs = this.#last.size;
    const refusedBySecond = new Map((stats?.perSecond ?? []).map((second) => [statsSecondToEpochS(stats!, second.atS), second.received429]));
    const span = this.#startedAt === null || this.#endedAt === null ? null : Math.max(1_000, this.#endedAt - this.#startedAt);
    const report: ResultsReport = {
      records: this.#records,
      inputs,
      ok,
      failed: inputs - ok,
      successRate: inputs === 0 ? null : ok / inputs,
      failedByStatus,
      failedByCode,
      failureExamples,
      retries: this.#retries,
      attempts: this.#attempts,
      latencyMs: percentiles(this.#latency),
      startedAt: this.#startedAt,
      endedAt: this.#endedAt,
      achievedRps: span === null ? null : this.#attempts / (span / 1000),
      perSecond: [...this.#seconds.entries()]
        .sort(([a], [b]) => a - b)
        .map(([atS, second]) => ({
          atS,
          starts: second.starts,
          ok: second.ok,
          failed: second.failed,
          received429: refusedBySecond.get(atS) ?? 0,
          latencyMs: percentiles(second.latency),
        })),
      slowestHosts: slowest(this.#hosts),
      slowestRoutes: slowest(this.#routes),
      worthRetrying: retry,
    };
    if (cache !== undefined) report.cache = cache;
    if (stats !== undefined) {
      report.run = {
        laneRates: stats.laneRates,
        rateTimeline: stats.rateTimeline,
        pauseTimeline: stats.pauseTimeline ?? [],
        received429: stats.received429,
        startedAt: stats.startedAt,
        wallMs: stats.wallMs,
      };
    }
    return report;
  }

  #second(atS: number) {
    let second = this.#seconds.get(atS);
    if (second === undefined) {
      second = { starts: 0, ok: 0, failed: 0, latency: new LatencyHistogram() };
      this.#seconds.set(atS, second);
    }
    return second;
  }

  #group(groups: Map<string, Group>, name: string, record: FetchRecord): void {
    let group = groups.get(name);
    if (group === undefined) {
      group = { records: 0, failed: 0, latency: new LatencyHistogram() };
      groups.set(name, group);
    }
    group.records += 1;
    if (!record.ok) group.failed += 1;
    if (record.latencyMs !== null) group.latency.add(record.latencyMs);
  }
}

/**
 * The epoch second that holds most of the stats file's second `atS`: those count from the run's
 * start, so each straddles two clock seconds, and the one it overlaps more is the nearer.
 */
export function statsSecondToEpochS(stats: Pick<StatsJson, 'startedAt'>, atS: number): number {
  return Math.round(Date.parse(stats.startedAt) / 1000) + atS;
}

function percentiles(histogram: LatencyHistogram): Percentiles {
  return { p50: histogram.quantile(0.5), p95: histogram.quantile(0.95), p99: histogram.quantile(0.99) };
}

function slowest(groups: Map<string, Group>): HostLine[] {
  return [...groups.entries()]
    .map(([name, group]) => ({ name, records: group.records, failed: group.failed, latencyMs: percentiles(group.latency) }))
    .filter((line) => line.latencyMs.p95 !== null)
    .sort((a, b) => b.latencyMs.p95! - a.latencyMs.p95! || a.name.localeCompare(b.name))
    .slice(0, TOP);
}

/** A URL's host, and its route: the path with what looks like an id (digits, a hash, a UUID) folded to `*`. */
export function hostAndRoute(url: string): { host: string; route: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname.split('/').map((segment) => (/^(\d+|[0-9a-f-]{16,}|[A-Z]{2}[A-Z0-9]{3}\d{7})$/i.test(segment) ? '*' : segment));
  return { host: parsed.host, route: `${parsed.host}${segments.join('/')}` };
}
