import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecords, runCli, startServer } from './helpers.ts';

test('#11: --max-requests: exit 3, one sentence on stderr even with --quiet, a record per input read', async (t) => {
  const server = await startServer(t);
  const stdin = Array.from({ length: 12 }, (_, i) => `${server.url}/items/${i}`).join('\n');
  const result = await runCli(['-', '--max-requests', '4', '-c', '1', '--quiet'], { stdin });
  assert.equal(result.code, 3);
  assert.equal(server.hits.length, 4);
  const records = parseRecords(result.stdout);
  assert.equal(records.length, 12);
  assert.equal(records.filter((r) => r.ok).length, 4);
  assert.ok(records.filter((r) => !r.ok).every((r) => r.error?.code === 'BUDGET_EXHAUSTED'));
  assert.match(result.stderr, /^ratefetch: stopping early: request budget of 4 used up \(--max-requests\)[^\n]*\n$/);
});

test('#11: bad --max-error-rate and --max-requests values are usage errors', async () => {
  for (const args of [
    ['--max-error-rate', '1.5'],
    ['--max-error-rate', 'x'],
    ['--max-requests', '0'],
  ]) {
    const result = await runCli(['-', ...args], { stdin: 'http://127.0.0.1:9/\n' });
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, /^ratefetch: .*\nRun 'ratefetch --help' for usage\.\n$/);
  }
});
