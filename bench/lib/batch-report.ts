/** Section 10's table (issue #28 part 2, --batch) from the measured rows. */
import type { BatchRow } from '../scenarios/batch.js';
import { markdownTable } from './report.js';
import { count, ratio, seconds } from './units.js';

export function batchTable(rows: readonly BatchRow[], allowedRps: number): string {
  const first = rows[0];
  return markdownTable(
    ['ratefetch', 'IDs', 'requests', 'requests / ideal', 'wall s', 'wall ÷ one per ID', '429s', '400s', 'records ok', 'attempts (its stats)'],
    rows.map((row) => [
      row.label,
      count(row.idCount),
      count(row.requests),
      // The least time the requests it sent could take at the allowed rate.
      `${seconds((row.requests / allowedRps) * 1000)} s`,
      `${seconds(row.wallMs)}${row.stopped ? ' (stopped)' : ''}`,
      first === undefined ? '' : ratio(row.wallMs / first.wallMs),
      count(row.answered429),
      count(row.answered400),
      row.stats === undefined ? '?' : `${count(row.stats.ok)} / ${count(row.stats.records)}`,
      row.stats === undefined ? '?' : count(row.stats.attempts),
    ]),
  );
}
