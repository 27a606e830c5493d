// #23: bench/SIMULATE.md, the table of `npm run simulate`, is what the run loop does now. It is
// built again here, in virtual time (the same figures on every run and every machine), so a
// change to the controller, the limiter or the retry policy that moves a figure fails this test
// until the table is refreshed and committed with the change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TABLE_FILE, buildTable } from '../../bench/lib/simulate-table.ts';

test('#23: bench/SIMULATE.md is the table npm run simulate gives now', async () => {
  const committed = readFileSync(TABLE_FILE, 'utf8');
  const now = await buildTable();
  if (now === committed) return;
  assert.fail(
    `bench/SIMULATE.md differs from what the run loop gives now:\n${diffLines(committed, now)}\nRefresh it with \`npm run simulate\` and commit it with the change.`,
  );
});

/** The lines that differ, as `- committed` / `+ now`: the table's rows keep their order. */
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
