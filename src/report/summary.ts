/** The end-of-run summary on stderr, and the small number formats the reporters share. */
import type { ChalkInstance } from 'chalk';
import { formatBytes, formatDuration, formatLimit } from '../text.js';
import type { StatsSnapshot } from './stats.js';

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

  if (s.saved.files > 0) {
    const found = s.saved.foundWhole > 0 ? ` (${formatCount(s.saved.foundWhole)} found whole on disk, not fetched)` : '';
    lines.push(`${label('saved')}${counted(s.saved.files, 'file')}, ${formatBytes(s.saved.bytes)}${found}`);
  }

  if (s.notFinal > 0) {
    lines.push(`${label('not final')}${chalk.yellow(formatCount(s.notFinal))} (worth retrying in a later run)`);
  }

  lines.push(`${label('retries')}${formatCount(s.retries)} · 429 received: ${formatCount(s.received429)}`);

  const rps = s.achievedRps === null ? 'no requests' : `${formatRate(s.achievedRps)} achieved`;
  lines.push(`${label('wall time')}${formatDuration(s.elapsedMs)} · ${rps} (${counted(s.attemptsStarted, 'attempt')})`);
  // --batch: many inputs to a request, so the records outnumber the requests.
  if (s.batchedInputs > 0) {
    lines.push(`${label('batched')}${counted(s.batchedInputs, 'input')} in ${counted(s.attemptsStarted, 'request')} (--batch)`);
  }

  const { p50, p95, p99 } = s.latencyMs;
  lines.push(
    p50 === null
      ? `${label('latency')}n/a`
      : `${label('latency')}p50 ${formatLatency(p50)} · p95 ${formatLatency(p95)} · p99 ${formatLatency(p99)} (last attempt)`,
  );

  if (s.cache !== undefined) {
    const { hit, revalidated, miss } = s.cache;
    lines.push(
      `${label('cache')}${counted(hit, 'hit')} (${counted(hit, 'request')} saved) · ` +
        `${formatCount(revalidated)} revalidated (304, body from the cache) · ${counted(miss, 'miss', 'misses')}`,
    );
  }

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

/** `12.0 req/s`. */
export function formatRate(rps: number | null): string {
  return `${(rps ?? 0).toFixed(1)} req/s`;
}

/** `1,234,567`. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `1 attempt`, `2,000 attempts`: the count and the noun that agrees with it. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${Math.round(n) === 1 ? one : many}`;
}

/** `96.7%` from 0.967; never shows 100% unless it is exactly 1. */
export function formatPercent(fraction: number): string {
  const tenths = Math.floor(fraction * 1000 + 1e-9); // 0.967 * 1000 is 966.999…
  return `${stripZero((tenths / 10).toFixed(1))}%`;
}

/** Sub-10 ms latencies keep a decimal: `0.8ms`, `120ms`, `1.2s`. */
export function formatLatency(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms < 10) return `${stripZero(ms.toFixed(1))}ms`;
  return formatDuration(ms);
}

/** `503 ×6, 404 ×2`, largest first. */
export function formatBreakdown(counts: Record<string, number>): string {
  return sortedEntries(counts)
    .map(([key, n]) => `${key} ×${formatCount(n)}`)
    .join(', ');
}

export function sortedEntries(counts: Record<string, number>): Array<[string, number]> {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function stripZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}
