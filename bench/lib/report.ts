/**
 * Turns measured rows into markdown tables (for stdout and bench/RESULTS.md) and a few
 * observations computed from the same numbers. Nothing here measures anything.
 */
import type { ComparisonRow } from '../scenarios/comparison.js';
import type { GeneratedRow } from '../scenarios/generated.js';
import type { MemoryRow } from '../scenarios/memory.js';
import type { PrecisionRow } from '../scenarios/precision.js';
import { count, mebibytes, ratio, seconds } from './units.js';

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Ok answers per second, as a fraction of the rate the server allows. */
export function goodputRatio(row: ComparisonRow, allowedRps: number): number {
  return row.served200 / (row.wallMs / 1000) / allowedRps;
}

export function comparisonTable(rows: readonly ComparisonRow[], allowedRps: number): string {
  return markdownTable(
    ['client', 'told', 'wall s', 'wall / ideal', 'ok/s ÷ allowed', 'requests sent', '429s provoked', 'sent during a wait', 'records complete'],
    rows.map((row) => [
      row.label,
      row.told,
      `${seconds(row.wallMs)}${row.stopped ? ' (stopped)' : ''}`,
      ratio(row.wallMs / row.idealMs, row.stopped),
      ratio(goodputRatio(row, allowedRps)),
      count(row.requests),
      count(row.answered429),
      count(row.sentDuringWait),
      `${count(row.complete)} / ${count(row.urlCount)}`,
    ]),
  );
}

export function precisionTable(rows: readonly PrecisionRow[]): string {
  return markdownTable(
    [
      '--rps',
      'URLs',
      'achieved rps (server)',
      'achieved ÷ --rps',
      'ratefetch says',
      'most starts in any 1 s',
      'same, after the first second',
      'bound: burst + rps',
      'within bound',
      "limiter's own starts: most in 1 s (after the first)",
      'ok records',
    ],
    rows.map((row) => [
      String(row.rps),
      count(row.urlCount),
      row.achievedRps === null ? 'n/a' : row.achievedRps.toFixed(2),
      row.achievedRps === null ? 'n/a' : ratio(row.achievedRps / row.rps),
      row.reportedRps === null ? 'n/a' : row.reportedRps.toFixed(2),
      count(row.maxInAnySecond),
      count(row.maxInSteadySecond),
      `${count(row.burst)} + ${count(row.rps)} = ${count(row.bound)}`,
      row.maxInAnySecond <= row.bound ? 'yes' : row.maxInSteadySecond <= row.bound ? '**no** (first second only)' : '**no**',
      row.limiter === null ? '— (not needed)' : `${count(row.limiter.maxInAnySecond)} (${count(row.limiter.maxInSteadySecond)})`,
      `${count(row.ok)} / ${count(row.urlCount)}${row.stopped ? ' (stopped)' : ''}`,
    ]),
  );
}

export function memoryTable(rows: readonly MemoryRow[]): string {
  return markdownTable(
    ['inputs', 'from', 'run', 'outcome', 'first request ms', 'wall s', 'requests', 'records written', 'peak RSS', 'RSS while running (s: MiB)'],
    rows.map((row) => [
      count(row.inputLines),
      row.input,
      row.how,
      row.outcome,
      row.firstRequestMs === null ? '—' : row.firstRequestMs.toFixed(0),
      seconds(row.wallMs),
      count(row.requests),
      row.records === null ? 'n/a (no stats file)' : count(row.records),
      `${mebibytes(row.peakKiB)} (${row.peakSource})`,
      summarizeSamples(row.samples),
    ]),
  );
}

export function generatedTable(rows: readonly GeneratedRow[]): string {
  return markdownTable(
    ['generated (--range id=1..N)', 'run', 'how', 'outcome', 'wall s', 'records written', 'requests (server)', 'peak RSS', 'RSS while running (s: MiB)'],
    rows.map((row) => [
      count(row.generated),
      row.mode,
      row.how,
      row.outcome,
      seconds(row.wallMs),
      row.linesWritten !== null
        ? `${count(row.linesWritten)} lines`
        : row.linesEstimated !== null
          ? `≈ ${count(row.linesEstimated)} (from bytes written)`
          : 'not counted',
      row.requests === null ? '— (dry run)' : `${count(row.requests)} (${row.ok === null ? 'n/a' : count(row.ok)} ok)`,
      `${mebibytes(row.peakKiB)} (${row.peakSource})`,
      summarizeSamples(row.samples),
    ]),
  );
}

/** What section 4 shows: whether the dry-run peak grows with N, and the real run beside it. */
export function generatedObservations(rows: readonly GeneratedRow[]): string[] {
  const notes: string[] = [];
  const dry = rows.filter((row) => row.mode === '--dry-run');
  const describe = (row: GeneratedRow) =>
    `${count(row.generated)}${row.linesEstimated !== null ? ` (stopped after ≈ ${count(row.linesEstimated)})` : ''} ${mebibytes(row.peakKiB)}`;
  if (dry.length >= 2) {
    const first = dry[0]!;
    const last = dry[dry.length - 1]!;
    const grows = last.peakKiB > dry[dry.length - 2]!.peakKiB * 1.2;
    notes.push(
      `Peak RSS of --dry-run by N: ${dry.map(describe).join(', ')}; last ÷ first × ${ratio(last.peakKiB / first.peakKiB)}, ` +
        (grows ? '**still growing between the two largest N: memory grows with the number of generated requests**.' : 'flat between the two largest N.'),
    );
  }
  for (const row of rows) {
    if (row.mode !== '--dry-run' && row.requests !== null && row.requests < row.generated) {
      notes.push(`Real run over ${count(row.generated)} generated requests: the server counted only ${count(row.requests)} (${row.outcome}).`);
    }
    if (row.linesWritten !== null && row.linesWritten !== row.generated) {
      notes.push(`${row.mode} over ${count(row.generated)} generated requests wrote ${count(row.linesWritten)} lines, not one per request.`);
    }
    if (row.stderrLine !== '') notes.push(`${row.mode} over ${count(row.generated)}: printed on stderr despite --quiet: \`${row.stderrLine}\`.`);
  }
  return notes;
}

/** `48.9–50.0 ms (median 49.6 ms)`. */
function describeGaps(gaps: readonly number[]): string {
  if (gaps.length === 0) return 'n/a';
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${sorted[0]!.toFixed(1)}–${sorted[sorted.length - 1]!.toFixed(1)} ms (median ${median.toFixed(1)} ms)`;
}

/** At most ~8 evenly spaced samples, `1: 62 · 5: 80 · …`. */
function summarizeSamples(samples: ReadonlyArray<[number, number]>): string {
  if (samples.length === 0) return 'n/a';
  const step = Math.max(1, Math.ceil(samples.length / 8));
  const picked = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  return picked.map(([s, kib]) => `${s}: ${(kib / 1024).toFixed(0)}`).join(' · ');
}

/** Plain statements of what the numbers show, for the lead to read first. */
export function observations(
  comparison: readonly ComparisonRow[],
  precision: readonly PrecisionRow[],
  memory: readonly MemoryRow[],
  allowedRps: number,
): string[] {
  const notes: string[] = [];
  for (const row of comparison) {
    const goodput = goodputRatio(row, allowedRps);
    const what = `${row.label}, told ${row.told}`;
    if (row.stopped) {
      notes.push(
        `${what}: stopped at ${seconds(row.wallMs)} s with ${count(row.complete)} of ${count(row.urlCount)} records complete; ` +
          `at its ok rate (${ratio(goodput)} of the allowed ${allowedRps}/s) the whole list would take about ${ratio(1 / goodput)} × ideal.`,
      );
    } else if (row.complete < row.urlCount) {
      notes.push(`${what}: finished with only ${count(row.complete)} of ${count(row.urlCount)} records complete (${count(row.answered429)} 429s provoked).`);
    }
    if (row.label.startsWith('ratefetch') && row.answered429 > 0) {
      notes.push(
        `${what}: provoked ${count(row.answered429)} 429s in ${count(row.requests)} requests (ratefetch counted ${row.stats?.received429 ?? 'n/a'}); ` +
          `the arrival before each 429 came ${describeGaps(row.gapsBefore429)} earlier, against the ${(1000 / allowedRps).toFixed(0)} ms the server's bucket needs.`,
      );
    }
    if (row.label.startsWith('ratefetch') && row.stderrLine !== '') {
      notes.push(`${what}: printed on stderr despite --quiet: \`${row.stderrLine}\`.`);
    }
    if (row.label.startsWith('ratefetch') && row.sentDuringWait > 0) {
      notes.push(`${what}: ${count(row.sentDuringWait)} requests arrived while it had been told to wait.`);
    }
  }
  for (const row of precision) {
    if (row.achievedRps !== null && row.achievedRps < row.rps * 0.95) {
      notes.push(`--rps ${row.rps}: achieved only ${row.achievedRps.toFixed(1)}/s (${ratio(row.achievedRps / row.rps)} of the requested rate).`);
    }
    if (row.maxInAnySecond > row.bound) {
      notes.push(
        `--rps ${row.rps}: ${count(row.maxInAnySecond)} starts in one second, over the bound of ${count(row.bound)} ` +
          `(${count(row.maxInSteadySecond)} at most once the first second is left out)` +
          (row.limiter === null
            ? '.'
            : `; the limiter's own start times, same run through the library: ${count(row.limiter.maxInAnySecond)} ` +
              `(${count(row.limiter.maxInSteadySecond)} after the first second), ${row.limiter.maxInAnySecond <= row.bound ? 'within' : '**over**'} the bound.`),
      );
    }
    if (row.stderrLine !== '') notes.push(`--rps ${row.rps}: ratefetch printed on stderr despite --quiet: \`${row.stderrLine}\`.`);
  }
  const [small, large] = memory;
  if (small && large && small.peakKiB > 0) {
    notes.push(
      `Peak RSS, 1M-line input (stopped after ${count(large.requests)} requests) vs 10k-line input (complete): ` +
        `${mebibytes(large.peakKiB)} vs ${mebibytes(small.peakKiB)} (× ${ratio(large.peakKiB / small.peakKiB)}).`,
    );
  }
  for (const row of memory) {
    const settled = row.samples.filter(([second]) => second >= 5).map(([, kib]) => kib);
    if (row.inputLines >= 1_000_000 && row.heapCapMiB === null && settled.length > 0) {
      notes.push(
        `${count(row.inputLines)} inputs (${row.input}), ${row.how}: RSS sampled each second from 5 s on ${mebibytes(Math.min(...settled))}–${mebibytes(Math.max(...settled))}, first request ${row.firstRequestMs === null ? 'never' : `${row.firstRequestMs.toFixed(0)} ms`} after spawn.`,
      );
    }
    if (row.outcome.includes('out of memory')) {
      notes.push(
        `${count(row.inputLines)} lines, ${row.how}: ran out of memory after ${count(row.requests)} requests, so live memory grows with the input read: a leak.`,
      );
    }
  }
  return notes;
}
