import type { ChalkInstance } from 'chalk';
import type { StatsSnapshot } from './stats.js';

/**
 * The `--stats-file` document. Field names are stable: add fields, never rename or remove
 * them without bumping `version`.
 *
 *   version          1
 *   startedAt        ISO 8601 time the run started
 *   wallMs           wall time of the run, ms
 *   interrupted      true when the run was stopped (signal or closed output) before the end
 *   interruptReason  why, or null
 *   inputs           inputs read (valid or not)
 *   records          records written: one per input read, unless the run was cut short
 *   ok               records with ok: true (2xx final response)
 *   failed           records with ok: false
 *   notFinal         records with final: false (worth trying again in a later run)
 *   failedByStatus   failed records that had a status, by status: {"503": 2, "404": 1}
 *   failedByCode     failed records by error.code: {"HTTP_STATUS": 3, "TIMEOUT": 1}
 *   schemaMismatchesByPath  records failing --schema, by body path (indexes as *): {"/id": 2}
 *   attempts         requests started, retries and redirect hops included
 *   retries          retries scheduled
 *   received429      attempts answered with 429 Too Many Requests
 *   successRate      ok / records, 0..1 rounded to 4 places; null when no records
 *   achievedRps      attempts per second from the first attempt to the end; null if none
 *   latencyMs        {p50, p95, p99} of each record's last attempt (start to last byte), ms,
 *                    about 1% relative error; each null when no record has a latency
 *   rateWaitMs       wall time in which requests were ready and a slot was free, but a rate
 *                    limit or a host pause let none start: the time the run was rate-limited
 */
export interface StatsJson {
  version: 1;
  startedAt: string;
  wallMs: number;
  interrupted: boolean;
  interruptReason: string | null;
  inputs: number;
  records: number;
  ok: number;
  failed: number;
  notFinal: number;
  failedByStatus: Record<string, number>;
  failedByCode: Record<string, number>;
  schemaMismatchesByPath: Record<string, number>;
  attempts: number;
  retries: number;
  received429: number;
  successRate: number | null;
  achievedRps: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  rateWaitMs: number;
  /** The rates the rate controller held each host or route to at the end, and the last that held. */
  laneRates: Array<{ lane: string; rps: number; found: boolean; settledRps: number }>;
}

export function toStatsJson(s: StatsSnapshot): StatsJson {
  return {
    version: 1,
    startedAt: new Date(s.startedAt).toISOString(),
    wallMs: Math.round(s.elapsedMs),
    interrupted: s.interrupted,
    interruptReason: s.interruptReason,
    inputs: s.read,
    records: s.done,
    ok: s.ok,
    failed: s.failed,
    notFinal: s.notFinal,
    failedByStatus: sortedCounts(s.byStatus),
    failedByCode: sortedCounts(s.byErrorCode),
    schemaMismatchesByPath: sortedCounts(s.schemaMismatchByPath),
    attempts: s.attemptsStarted,
    retries: s.retries,
    received429: s.received429,
    successRate: roundOrNull(s.successRate, 4),
    achievedRps: roundOrNull(s.achievedRps, 2),
    latencyMs: {
      p50: roundOrNull(s.latencyMs.p50, 1),
      p95: roundOrNull(s.latencyMs.p95, 1),
      p99: roundOrNull(s.latencyMs.p99, 1),
    },
    rateWaitMs: Math.round(s.rateWaitMs),
    laneRates: s.laneRates.map((rate) => ({ ...rate, rps: Math.round(rate.rps * 100) / 100, settledRps: Math.round(rate.settledRps * 100) / 100 })),
  };
}

/** The end-of-run block for stderr, ending with a newline. */
export function formatSummary(s: StatsSnapshot, chalk: ChalkInstance): string {
  const label = (text: string): string => chalk.dim(`  ${text.padEnd(13)}`);
  const lines: string[] = [];

  lines.push(chalk.bold(s.interrupted ? 'ratefetch: interrupted' : 'ratefetch: done'));

  const outOf = s.total !== null && s.total !== s.done ? ` of ${formatCount(s.total)} inputs` : '';
  lines.push(`${label('records')}${formatCount(s.done)}${outOf}`);

  const rate = s.successRate === null ? '' : ` (${formatPercent(s.successRate)} success rate)`;
  lines.push(`${label('ok')}${chalk.green(formatCount(s.ok))}${rate}`);

  let failed = s.failed > 0 ? chalk.red(formatCount(s.failed)) : '0';
  const byStatus = formatBreakdown(s.byStatus);
  const byCode = formatBreakdown(s.byErrorCode);
  if (byStatus !== '') failed += ` · by status: ${byStatus}`;
  if (byCode !== '') failed += ` · by code: ${byCode}`;
  lines.push(`${label('failed')}${failed}`);
  const byPath = formatBreakdown(s.schemaMismatchByPath);
  if (byPath !== '') lines.push(`${label('schema')}mismatches by path: ${byPath}`);

  if (s.notFinal > 0) {
    lines.push(`${label('not final')}${chalk.yellow(formatCount(s.notFinal))} (worth retrying in a later run)`);
  }

  lines.push(
    `${label('retries')}${formatCount(s.retries)} · 429 received: ${formatCount(s.received429)}`,
  );

  const rps = s.achievedRps === null ? 'no requests' : `${formatRate(s.achievedRps)} achieved`;
  lines.push(
    `${label('wall time')}${formatDuration(s.elapsedMs)} · ${rps} (${formatCount(s.attemptsStarted)} attempts)`,
  );

  const { p50, p95, p99 } = s.latencyMs;
  lines.push(
    p50 === null
      ? `${label('latency')}n/a`
      : `${label('latency')}p50 ${formatLatency(p50)} · p95 ${formatLatency(p95)} · p99 ${formatLatency(p99)} (last attempt)`,
  );

  lines.push(`${label('rate limits')}${formatDuration(s.rateWaitMs)} held back by rate limits or pauses`);
  for (const rate of s.laneRates) {
    const how = rate.found ? `settled at ${formatLimit(rate.settledRps)}` : `climbed to (no 429 seen) ${formatLimit(rate.rps)}`;
    const probing = rate.found && rate.rps > rate.settledRps ? ` (probing ${formatLimit(rate.rps)} at the end)` : '';
    lines.push(`${label('rate found')}${how} for ${rate.lane}${probing}`);
  }

  if (s.interrupted) {
    const unfinished = s.total !== null && s.total > s.done ? `, ${formatCount(s.total - s.done)} inputs not finished` : '';
    lines.push(`${label('interrupted')}${chalk.yellow(`${s.interruptReason ?? 'yes'}${unfinished}`)}`);
  }

  return `${lines.join('\n')}\n`;
}

/** `480ms`, `1.2s`, `25.1s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${stripZero((tenths / 10).toFixed(1))}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`;
}

/** Whole seconds, rounded up (for countdowns: `waiting 12s`, `eta 4m05s`). */
export function formatCountdown(ms: number): string {
  return formatDuration(Math.ceil(Math.max(0, ms) / 1000) * 1000);
}

/** `12.0 req/s`. */
/** `18.4/s`, or `3.0/min` below one a second, for a rate limit. */
export function formatLimit(rps: number): string {
  return rps >= 1 ? `${rps.toFixed(1)}/s` : `${(rps * 60).toFixed(1)}/min`;
}

export function formatRate(rps: number | null): string {
  return `${(rps ?? 0).toFixed(1)} req/s`;
}

/** `1,234,567`. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `96.7%` from 0.967; never shows 100% unless it is exactly 1. */
export function formatPercent(fraction: number): string {
  const tenths = Math.floor(fraction * 1000 + 1e-9); // 0.967 * 1000 is 966.999…
  return `${stripZero((tenths / 10).toFixed(1))}%`;
}

/**
 * Server-supplied text (a status text inside a reason) must not break a line or reach the
 * terminal as an escape sequence: control characters become spaces.
 */
export function toOneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

/** Sub-10 ms latencies keep a decimal: `0.8ms`, `120ms`, `1.2s`. */
function formatLatency(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms < 10) return `${stripZero(ms.toFixed(1))}ms`;
  return formatDuration(ms);
}

/** `503 ×6, 404 ×2`, largest first. */
function formatBreakdown(counts: Record<string, number>): string {
  return sortedEntries(counts)
    .map(([key, n]) => `${key} ×${formatCount(n)}`)
    .join(', ');
}

function sortedEntries(counts: Record<string, number>): Array<[string, number]> {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Largest first for codes; JS objects put integer-like keys (statuses) in numeric order anyway. */
function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(sortedEntries(counts));
}

function roundOrNull(n: number | null, places: number): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** places;
  return Math.round(n * f) / f;
}

function stripZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
