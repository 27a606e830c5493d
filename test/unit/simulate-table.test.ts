// #23: bench/SIMULATE.md, the table of `npm run simulate`, is what the run loop does now. Its
// header and most of its rows are built again here, in virtual time (the same figures on every
// run and every machine), so a change to the controller, the limiter or the retry policy that
// moves a figure fails this test until the table is refreshed and committed with the change.
//
// Which rows: every mode with --rps auto and with no --rps (36 of the 54). The rows with --rps
// twice the limit are left to `npm run simulate`: measured on the 2-core box, the whole table
// costs 28 s of CPU under node:test, these rows 20 s. Each run has its own model, clock and
// seeds, so a row built without the others is the row the whole table has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ClientKind } from '../../bench/lib/sim-targets.ts';
import { TABLE_FILE, tableHeader, tableRows } from '../../bench/lib/simulate-table.ts';

const CHECKED_CLIENTS: readonly ClientKind[] = ['auto', 'none'];

// Started here, outside the test: node:test carries its async context through every promise made
// inside a test, and the whole table took 36 s of CPU built there, 28 s built here. The catch
// marks a failure as handled until the test awaits it, and fails with it.
const built = tableRows(undefined, CHECKED_CLIENTS);
built.catch(() => {});

test('#23: bench/SIMULATE.md: its header, and its rows for --rps auto and no --rps, are what npm run simulate gives now', async () => {
  const committed = readFileSync(TABLE_FILE, 'utf8');
  const header = tableHeader();
  const differences: string[] = [];
  if (!committed.startsWith(header)) differences.push(diffLines(committed.slice(0, header.length), header));
  const lines = committed.split('\n');
  for (const row of await built) {
    // A row is named by its first two cells: the mode and the client.
    const key = row.split(' | ').slice(0, 2).join(' | ');
    const before = lines.find((line) => line.startsWith(`${key} | `));
    if (before !== row) differences.push(`- ${before ?? `(no row ${key} |)`}\n+ ${row}`);
  }
  if (differences.length === 0) return;
  assert.fail(
    `bench/SIMULATE.md differs from what the run loop gives now:\n${differences.join('\n')}\nRefresh it with \`npm run simulate\` and commit it with the change.`,
  );
});

/** The lines that differ, as `- committed` / `+ now`. */
function diffLines(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const lines: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (a[i] !== undefined) lines.push(`- ${a[i]}`);
    if (b[i] !== undefined) lines.push(`+ ${b[i]}`);
  }
  return lines.join('\n');
}
