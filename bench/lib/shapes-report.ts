/**
 * The shapes scenario (issue #23) as a markdown table: one row per mode and client, each figure
 * as min–median–max over the repeats (one value when there was one run, or all agree).
 * Nothing here measures anything.
 */
import type { ShapeRow } from '../scenarios/shapes.js';
import { markdownTable } from './report.js';
import { median } from './units.js';

export function shapesTable(rows: readonly ShapeRow[]): string {
  const groups = new Map<string, ShapeRow[]>();
  for (const row of rows) {
    const key = `${row.mode.name}\u0000${row.client}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return markdownTable(
    [
      'mode',
      'client',
      'wall s',
      'efficiency (ideal s)',
      'requests',
      '429s',
      'most 429s in 10 s after the first',
      'records ok',
      'rate found /s',
      'target (efficiency ≥, and)',
      'result',
    ],
    [...groups.values()].map((runs) => {
      const first = runs[0]!;
      const anyStopped = runs.some((run) => run.stopped);
      return [
        first.mode.name,
        first.label,
        `${spread(
          runs.map((r) => r.wallMs / 1000),
          1,
        )}${anyStopped ? ' (stopped)' : ''}`,
        `${anyStopped ? '<' : ''}${spread(
          runs.map((r) => r.efficiency),
          2,
        )} (${spread(
          runs.map((r) => r.idealMs / 1000),
          1,
        )})`,
        spread(
          runs.map((r) => r.requests),
          0,
        ),
        spread(
          runs.map((r) => r.answered429),
          0,
        ),
        spread(
          runs.map((r) => r.most429In10sAfterFirst),
          0,
        ),
        `${spread(
          runs.map((r) => r.ok),
          0,
        )} / ${first.mode.count}`,
        runs.every((r) => r.rateFound === null)
          ? '—'
          : spread(
              runs.map((r) => r.rateFound ?? Number.NaN),
              1,
            ),
        first.target,
        describeResult(runs),
      ];
    }),
  );
}

function describeResult(runs: readonly ShapeRow[]): string {
  const failed = runs.filter((run) => run.misses.length > 0);
  const misses = [...new Set(failed.flatMap((run) => run.misses))].join('; ');
  if (runs.length === 1) return failed.length === 0 ? 'pass' : `**fail**: ${misses}`;
  if (failed.length === 0) return `pass (${runs.length}/${runs.length})`;
  return `**fail** in ${failed.length}/${runs.length}: ${misses}`;
}

/** `0.91–0.95–0.97` (min–median–max), or one value when they agree to `digits` places. */
export function spread(values: readonly number[], digits: number): string {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return '—';
  const fmt = (v: number) => v.toFixed(digits);
  const low = fmt(sorted[0]!);
  const high = fmt(sorted[sorted.length - 1]!);
  if (low === high) return low;
  return `${low}–${fmt(median(sorted))}–${high}`;
}

/** One sentence per mode whose ratefetch `--rps auto` run missed its target in every repeat. */
export function shapesObservations(rows: readonly ShapeRow[]): string[] {
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.client !== 'auto' || seen.has(row.mode.name)) continue;
    seen.add(row.mode.name);
    const runs = rows.filter((r) => r.mode === row.mode && r.client === 'auto');
    if (runs.some((r) => r.misses.length === 0)) continue;
    const effs = spread(
      runs.map((r) => r.efficiency),
      2,
    );
    notes.push(`${row.mode.name}, ratefetch --rps auto: efficiency ${effs}; missed: ${[...new Set(runs.flatMap((r) => r.misses))].join('; ')}.`);
  }
  return notes;
}
