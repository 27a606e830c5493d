/**
 * `ratefetch report` as text: what happened, what failed and why, how the rate went over the
 * run, where it was slow, and what to fetch again with which command. Plain text, no colour:
 * it is the command's data, for a terminal, a mail or a file.
 */
import { formatDuration, formatLimit } from '../text.js';
import type { ResultsReport, ReportSecond } from './results-report.js';
import { formatBreakdown, formatCount, formatLatency, formatPercent } from './summary.js';

const TIMELINE_ROWS = 20;
const BAR_WIDTH = 30;
const BUCKETS_S = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 6 * 3600];

export function formatReport(report: ResultsReport, files: readonly string[], outputName: string): string {
  const lines: string[] = [];
  const what = `${formatCount(report.records)} records, ${formatCount(report.inputs)} inputs`;
  lines.push(`ratefetch report: ${files.join(', ')} (${what})`);
  if (report.startedAt !== null && report.endedAt !== null) {
    const rate = report.achievedRps === null ? '' : `, ${report.achievedRps.toFixed(1)} req/s achieved`;
    lines.push(
      `  ran          ${clock(report.startedAt, true)} → ${clock(report.endedAt, false)} UTC (${formatDuration(report.endedAt - report.startedAt)})${rate}`,
    );
  }
  lines.push(`  ok           ${formatCount(report.ok)}${report.successRate === null ? '' : ` (${formatPercent(report.successRate)} success rate)`}`);
  if (report.failed > 0) {
    const byStatus = Object.keys(report.failedByStatus).length > 0 ? ` · by status: ${formatBreakdown(report.failedByStatus)}` : '';
    lines.push(`  failed       ${formatCount(report.failed)} · by code: ${formatBreakdown(report.failedByCode)}${byStatus}`);
  } else lines.push('  failed       0');
  const refused = report.run === undefined ? '' : ` · 429 received: ${formatCount(report.run.received429)}`;
  lines.push(`  attempts     ${formatCount(report.attempts)} · retries ${formatCount(report.retries)}${refused}`);
  if (report.cache !== undefined) {
    const { hit, revalidated, miss } = report.cache;
    const hits = `${formatCount(hit)} ${hit === 1 ? 'hit' : 'hits'}`;
    lines.push(`  cache        ${hits} · ${formatCount(revalidated)} revalidated · ${formatCount(miss)} ${miss === 1 ? 'miss' : 'misses'} (--cache)`);
  }
  const { p50, p95, p99 } = report.latencyMs;
  lines.push(`  latency      p50 ${formatLatency(p50)} · p95 ${formatLatency(p95)} · p99 ${formatLatency(p99)} (last attempt of each record)`);
  for (const lane of report.run?.laneRates ?? []) {
    lines.push(`  rate found   ${lane.found ? 'settled at' : 'held at'} ${formatLimit(lane.settledRps)} for ${lane.lane}`);
  }
  const pauses = report.run?.pauseTimeline ?? [];
  if (pauses.length > 0) {
    const pausedMs = pauses.reduce((sum, pause) => sum + pause.forMs, 0);
    lines.push(`  pauses       ${formatCount(pauses.length)}, ${formatDuration(pausedMs)} in all (${pauses[0]!.reason}${pauses.length > 1 ? ', …' : ''})`);
  }

  const timeline = timelineRows(report.perSecond);
  if (timeline.length > 0) {
    lines.push('', `Requests per second over the run (each row ${timeline.bucket}):`);
    lines.push(...timeline.rows);
  }
  for (const [title, hosts] of [
    ['Slowest hosts', report.slowestHosts],
    ['Slowest routes', report.slowestRoutes],
  ] as const) {
    if (hosts.length < 2 && title === 'Slowest hosts') continue; // one host: the summary above says it
    if (hosts.length === 0) continue;
    lines.push('', `${title} (by p95 latency):`);
    const width = Math.max(...hosts.map((host) => host.name.length));
    for (const host of hosts) {
      lines.push(
        `  ${host.name.padEnd(width)}  p50 ${formatLatency(host.latencyMs.p50).padStart(6)} · p95 ${formatLatency(host.latencyMs.p95).padStart(6)} · ${formatCount(host.records)} records, ${formatCount(host.failed)} failed`,
      );
    }
  }

  const retry = report.worthRetrying;
  lines.push('');
  if (retry.notFinal + retry.failedFinal === 0) lines.push('Nothing worth fetching again: every input has its final record, ok or an input error.');
  else {
    lines.push(`Worth fetching again: ${formatCount(retry.notFinal + retry.failedFinal)} inputs (${formatBreakdown(retry.byCode)})`);
    for (const example of retry.examples) lines.push(`  line ${example.line}  ${example.code}  ${example.url}`);
    if (retry.notFinal + retry.failedFinal > retry.examples.length)
      lines.push(`  … and ${formatCount(retry.notFinal + retry.failedFinal - retry.examples.length)} more`);
    if (retry.failedFinal === 0) lines.push(`  ${formatCount(retry.notFinal)} were not finished: ratefetch <input> -o ${outputName} --resume`);
    else {
      const notFinal = retry.notFinal > 0 ? `${formatCount(retry.notFinal)} not finished and ` : '';
      lines.push(`  ${notFinal}${formatCount(retry.failedFinal)} failed for good this time: ratefetch <input> -o ${outputName} --resume --retry-failed`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The per-second counts in at most TIMELINE_ROWS rows, each a bar of starts per second. */
function timelineRows(seconds: readonly ReportSecond[]): { bucket: string; rows: string[]; length: number } {
  if (seconds.length === 0) return { bucket: '', rows: [], length: 0 };
  const first = seconds[0]!.atS;
  const span = seconds.at(-1)!.atS - first + 1;
  const bucketS = BUCKETS_S.find((size) => span / size <= TIMELINE_ROWS) ?? BUCKETS_S.at(-1)!;
  const buckets = new Map<number, { starts: number; failed: number; refused: number }>();
  for (const second of seconds) {
    const at = Math.floor(second.atS / bucketS) * bucketS;
    const bucket = buckets.get(at) ?? { starts: 0, failed: 0, refused: 0 };
    bucket.starts += second.starts;
    bucket.failed += second.failed;
    bucket.refused += second.received429;
    buckets.set(at, bucket);
  }
  const most = Math.max(...[...buckets.values()].map((bucket) => bucket.starts / bucketS));
  const rows: string[] = [];
  for (let at = Math.floor(first / bucketS) * bucketS; at <= seconds.at(-1)!.atS; at += bucketS) {
    const bucket = buckets.get(at) ?? { starts: 0, failed: 0, refused: 0 };
    const rps = bucket.starts / bucketS;
    const bar = '█'.repeat(most === 0 ? 0 : Math.round((rps / most) * BAR_WIDTH));
    const notes = [bucket.failed > 0 ? `${formatCount(bucket.failed)} failed` : '', bucket.refused > 0 ? `429 ×${formatCount(bucket.refused)}` : '']
      .filter(Boolean)
      .join(', ');
    rows.push(`  ${clock(at * 1000, false)}  ${rps.toFixed(1).padStart(7)}/s  ${bar.padEnd(BAR_WIDTH)}  ${notes}`.trimEnd());
  }
  return { bucket: bucketS < 60 ? `${bucketS} s` : `${bucketS / 60} min`, rows, length: rows.length };
}

/** `2026-12-07 02:15:03` (with the date) or `02:15:03`, UTC. */
function clock(epochMs: number, withDate: boolean): string {
  const iso = new Date(epochMs).toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : iso.slice(11, 19);
}
