/**
 * The scale-out section (issue #25) as markdown: the rate table (each figure min–median–max over
 * the repeats), the Redis memory table, and readings computed from the same runs. Nothing here
 * measures anything.
 */
import { availableParallelism } from 'node:os';
import type { MemoryRun, RateRun } from '../scenarios/scale-out.js';
import { markdownTable } from './report.js';
import { spread } from './shapes-report.js';
import { count, median } from './units.js';

export function scaleOutTable(runs: readonly RateRun[], urlCount: number): string {
  return markdownTable(
    [
      'setup',
      'wall s',
      'wall ÷ ideal',
      'first → last arrival s',
      'most requests in any 1 s',
      'sent during the pause',
      'rate after the pause /s',
      'other 429s',
      'records ÷ inputs (records)',
      'duplicate fetches',
      'exits (coordinator · workers)',
    ],
    groups(runs).map((group) => {
      const stopped = group.some((run) => run.stopped);
      return [
        group[0]!.setup.label,
        `${spread(
          group.map((r) => r.wallMs / 1000),
          1,
        )}${stopped ? ' (stopped)' : ''}`,
        `${stopped ? '>' : ''}${spread(
          group.map((r) => r.wallMs / r.idealMs),
          2,
        )}`,
        spread(
          group.map((r) => r.arrivalSpanMs / 1000),
          1,
        ),
        spread(
          group.map((r) => r.maxIn1s),
          0,
        ),
        group.some((r) => r.sentDuringPause === null)
          ? `${spread(
              group.map((r) => r.sentDuringPause ?? Number.NaN),
              0,
            )} (planted 429 not reached in ${group.filter((r) => r.sentDuringPause === null).length})`
          : spread(
              group.map((r) => r.sentDuringPause!),
              0,
            ),
        spread(
          group.map((r) => r.rateAfterPause ?? Number.NaN),
          1,
        ),
        spread(
          group.map((r) => r.other429),
          0,
        ),
        `${spread(
          group.map((r) => r.linesWithRecord / urlCount),
          2,
        )} (${spread(
          group.map((r) => r.records),
          0,
        )}${
          group.every((r) => r.ok === r.records)
            ? ''
            : `; ${spread(
                group.map((r) => r.ok),
                0,
              )} ok`
        })`,
        spread(
          group.map((r) => r.duplicates),
          0,
        ),
        [...new Set(group.map((r) => r.exits))].join(' / '),
      ];
    }),
  );
}

/** Runs of one setup together, in the order the setups first ran. */
function groups(runs: readonly RateRun[]): RateRun[][] {
  const byKey = new Map<string, RateRun[]>();
  for (const run of runs) byKey.set(run.setup.key, [...(byKey.get(run.setup.key) ?? []), run]);
  return [...byKey.values()];
}

/** Sentences about what the table alone does not show, one per setup where there is something to say. */
export function scaleOutReadings(runs: readonly RateRun[], retryAfterS: number): string[] {
  const notes: string[] = [];
  for (const group of groups(runs)) {
    const label = group[0]!.setup.label;
    const shares = group.filter((r) => r.handedBack.length > 0).map((r) => r.handedBack.map((n) => (n === null ? 'killed' : String(n))).join(' + '));
    if (shares.length > 0) {
      notes.push(
        `${label}: the worker processes handed back ${shares.join(', ')} records (by run); the coordinator's own worker fetched the rest${group[0]!.setup.localWorkers === 0 ? ' (none here: --local-workers 0)' : ''}.`,
      );
    }
    const killed = group.filter((r) => r.killedAtMs !== null);
    if (killed.length > 0) {
      notes.push(
        `${label}: the worker was killed ${killed.map((r) => `${(r.killedAtMs! / 1000).toFixed(1)} s`).join(', ')} after the first request; ` +
          `the inputs it held (lines taken before the kill and first fetched over 1 s after it) came back ${killed
            .map((r) =>
              r.cameBackMs.length === 0
                ? 'none'
                : `${r.cameBackMs.length} of them ${(r.cameBackMs[0]! / 1000).toFixed(1)}–${(r.cameBackMs[r.cameBackMs.length - 1]! / 1000).toFixed(1)} s`,
            )
            .join(', ')} after the kill; ` +
          `duplicate fetches ${killed.map((r) => r.duplicates).join(', ')}; lines with a record ${killed.map((r) => `${r.linesWithRecord}`).join(', ')}.`,
      );
    }
    const lateRetry = group.filter((r) => r.retryAfterPauseMs !== null && r.retryAfterPauseMs > retryAfterS * 1000 + 300);
    if (lateRetry.length > 0) {
      notes.push(
        `${label}: the planted line's own retry came ${lateRetry.map((r) => `${(r.retryAfterPauseMs! / 1000).toFixed(2)} s`).join(', ')} after its 429 ` +
          `(in ${lateRetry.length} of ${group.length} runs; the first request of any line after it came at ${lateRetry.map((r) => `${((r.firstAfterPauseMs ?? Number.NaN) / 1000).toFixed(2)} s`).join(', ')}).`,
      );
    }
    const with429 = group.filter((r) => r.other429 > 0);
    if (with429.length > 0) {
      const gaps = with429.flatMap((r) => r.gapsBefore429);
      const rates = with429.map((r) => r.stats?.laneRates?.map((lane) => `${lane.rps}/s`).join(' ') ?? '?');
      notes.push(
        `${label}: the server's bucket refused ${with429.map((r) => r.other429).join(', ')} requests (runs with any); ` +
          `each came ${gaps.length === 0 ? '?' : `${Math.min(...gaps).toFixed(1)}–${median(gaps).toFixed(1)}–${Math.max(...gaps).toFixed(1)}`} ms (min–median–max) after the arrival before it; ` +
          `the coordinator's own worker ended with its lane at ${rates.join(', ')}; arrivals per second of the first such run: ${with429[0]!.perSecond.join(' ')}.`,
      );
    }
    const stopped = group.filter((r) => r.stopped);
    if (stopped.length > 0) {
      notes.push(
        `${label}: stopped at the cap in ${stopped.length} of ${group.length} runs, with ${stopped.map((r) => `${r.ok}`).join(', ')} of the inputs fetched ok.`,
      );
    }
  }
  const loads = runs.map((r) => r.loadAverage[0]!);
  if (loads.length > 0)
    notes.push(
      `Load average (1 min) at the end of each run: ${Math.min(...loads).toFixed(2)}–${median(loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (min–median–max), on ${availableParallelism()} cores.`,
    );
  return notes;
}

export function scaleOutMemoryTable(runs: readonly MemoryRun[]): string {
  return markdownTable(
    [
      'inputs',
      'how',
      'wall s',
      'inputs fetched (ok)',
      'inputs/s',
      'used_memory before',
      'used_memory median',
      'used_memory peak',
      'samples',
      'Redis RSS peak',
      'exits',
    ],
    runs.map((run) => {
      const used = run.samples.map(([, bytes]) => bytes);
      return [
        count(run.inputs),
        run.stopped ? `SIGINT at the cap (${run.capMs / 1000} s)` : 'to the end',
        (run.wallMs / 1000).toFixed(0),
        run.ok === null ? '?' : count(run.ok),
        run.ok === null ? '?' : count(run.ok / (run.wallMs / 1000)),
        mib(run.baselineBytes),
        used.length === 0 ? '—' : mib(median(used)),
        used.length === 0 ? '—' : mib(Math.max(...used)),
        String(used.length),
        mib(run.peakRssBytes),
        run.exits,
      ];
    }),
  );
}

/** used_memory over the run, in a few points: the curve, not only its peak. */
export function scaleOutMemoryReadings(runs: readonly MemoryRun[]): string[] {
  return runs.map((run) => {
    const points = run.samples.filter((_, i) => i % Math.max(1, Math.ceil(run.samples.length / 10)) === 0);
    return `${count(run.inputs)} inputs, used_memory by second: ${points.map(([t, bytes]) => `${t.toFixed(0)} s ${mib(bytes)}`).join(', ')}; load average at the end ${run.loadAverage.map((n) => n.toFixed(2)).join(' ')}.`;
  });
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
