/**
 * The limits scenario (issue #11) as a markdown table, and what the server's hit log says about
 * each ratefetch run that misses its target. Nothing here measures anything.
 */
import type { LimitsRow } from '../scenarios/limits.js';
import { TARGETS } from '../scenarios/limits.js';
import { markdownTable } from './report.js';
import { count, ratio, seconds } from './units.js';

export function limitsTable(rows: readonly LimitsRow[]): string {
  return markdownTable(
    [
      'server says',
      'client',
      'told',
      'wall s',
      'wall / ideal (ideal s)',
      'requests',
      '429s',
      'most 429s in one window (windows with any / all)',
      'sent during a wait',
      'records complete',
      'target',
      'result',
    ],
    rows.map((row) => [
      row.mode.name,
      row.label,
      row.told,
      `${seconds(row.wallMs)}${row.stopped ? ' (stopped)' : ''}`,
      `${row.usageError === null ? ratio(row.wallMs / row.idealMs, row.stopped) : '—'} (${seconds(row.idealMs)})`,
      count(row.requests),
      count(row.answered429),
      `${count(row.byWindow.max429)} (${count(row.byWindow.windowsWith429)} / ${count(row.byWindow.windows)})`,
      row.sentDuringWait === null ? '— (never told)' : `${count(row.sentDuringWait)}${row.punished > 0 ? ` (${count(row.punished)} punished)` : ''}`,
      `${count(row.complete)} / ${count(row.urlCount)}`,
      `${TARGETS[row.mode.hints].text}, 0 sent during a wait`,
      describeResult(row),
    ]),
  );
}

function describeResult(row: LimitsRow): string {
  const { verdict, misses } = row.result;
  if (verdict === 'pass') return 'pass';
  if (verdict === 'not measured') return `**not measured**: exit 2, \`${row.usageError}\``;
  return `**fail**: ${misses.join('; ')}`;
}

/** One sentence per ratefetch row that missed (or could not be measured), from the hit log. */
export function limitsObservations(rows: readonly LimitsRow[], limitPerWindow: number): string[] {
  const notes: string[] = [];
  for (const row of rows) {
    if (row.client !== 'ratefetch' || row.result.verdict === 'pass') continue;
    const what = `${row.mode.name}, ${row.label} (told ${row.told})`;
    if (row.result.verdict === 'not measured') {
      notes.push(`${what}: not measured: ratefetch exited 2 with \`${row.usageError}\` (the flag is not there yet).`);
      continue;
    }
    const w = row.byWindow;
    const meanOk = w.steadyOk.length === 0 ? null : w.steadyOk.reduce((a, b) => a + b, 0) / w.steadyOk.length;
    const parts = [
      `${what} missed: ${row.result.misses.join('; ')}.`,
      `Its requests fell in ${count(w.windows)} windows (the ideal spans ${seconds(row.idealMs)}); 200s per window, first to last: ${w.ok.join(' ')}.`,
      meanOk === null
        ? ''
        : `Between the first and the last window it got ${meanOk.toFixed(1)} of the ${limitPerWindow} allowed${row.mode.limit.halveAfterMs === undefined ? '' : ` (${Math.floor(limitPerWindow / 2)} after the halving)`} on average.`,
      row.answered429 > 0 ? `429s came in ${count(w.windowsWith429)} of ${count(w.windows)} windows, up to ${count(w.max429)} in one.` : '',
      row.latestOffenceMs === null
        ? ''
        : `The requests sent during a wait arrived ${describeSpread(
            row.offencesAtMs.map((ms) => ms / 1000),
            's',
          )} into the run, ` + `the latest ${row.latestOffenceMs.toFixed(1)} ms after the wait was told.`,
      row.stats ? describeStats(row) : '',
    ];
    notes.push(parts.filter((part) => part !== '').join(' '));
  }
  return notes;
}

function describeStats(row: LimitsRow): string {
  const stats = row.stats!;
  const lanes = stats.laneRates?.map((lane) => `${lane.lane} ${lane.rps.toFixed(1)}/s${lane.found ? ' (found)' : ''}`).join(', ');
  return (
    `ratefetch's stats: ${count(stats.received429)} × 429 received` +
    (stats.rateWaitMs === undefined ? '' : `, ${seconds(stats.rateWaitMs)} s rate-limited`) +
    (lanes ? `, rates at the end: ${lanes}` : '') +
    '.'
  );
}

/** `0.09–0.10 s`, or `0.09 s` when all are the same to two places. */
function describeSpread(values: readonly number[], unit: string): string {
  const low = Math.min(...values).toFixed(2);
  const high = Math.max(...values).toFixed(2);
  return low === high ? `${low} ${unit}` : `${low}–${high} ${unit}`;
}
