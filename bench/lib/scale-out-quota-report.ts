/** The section on quota headers shared across workers (issue #25) as markdown. Nothing here measures anything. */
import type { QuotaRun } from '../scenarios/scale-out-quota.js';
import { markdownTable } from './report.js';
import { spread } from './shapes-report.js';

export function scaleOutQuotaTable(runs: readonly QuotaRun[], urlCount: number): string {
  const groups = new Map<string, QuotaRun[]>();
  for (const run of runs) groups.set(run.setup.key, [...(groups.get(run.setup.key) ?? []), run]);
  const figure = (group: readonly QuotaRun[], of: (run: QuotaRun) => number, digits: number) => spread(group.map(of), digits);
  return markdownTable(
    [
      'setup',
      'wall s',
      'wall ÷ ideal',
      'requests',
      '429s',
      'busiest server window',
      'most in any 1 s',
      'records ÷ inputs (records)',
      'duplicate fetches',
      'exits (coordinator · workers)',
    ],
    [...groups.values()].map((group) => {
      const stopped = group.some((run) => run.stopped);
      return [
        group[0]!.setup.label,
        `${figure(group, (r) => r.wallMs / 1000, 1)}${stopped ? ' (stopped)' : ''}`,
        `${stopped ? '>' : ''}${figure(group, (r) => r.wallMs / r.idealMs, 2)}`,
        figure(group, (r) => r.requests, 0),
        figure(group, (r) => r.refused, 0),
        figure(group, (r) => r.busiestWindow, 0),
        figure(group, (r) => r.maxIn1s, 0),
        `${figure(group, (r) => r.linesWithRecord / urlCount, 2)} (${figure(group, (r) => r.records, 0)})`,
        figure(group, (r) => r.duplicates, 0),
        [...new Set(group.map((r) => r.exits))].join(' / '),
      ];
    }),
  );
}

/** The load average (1 min) at the end of the runs, min–median–max. */
export function scaleOutQuotaLoad(runs: readonly QuotaRun[]): string {
  return spread(
    runs.map((run) => run.loadAverage[0] ?? Number.NaN),
    2,
  );
}
