// Issue #27 from the command line: a paginated run stopped part way (exit 3, or Ctrl-C) and resumed with
// --resume goes on from each input's last final page, and the -o file ends with exactly one
// final `last: true` record per input and every page once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecords, range, runCli, spawnCli, startServer, tempDir, waitFor, writeLines } from './helpers.ts';

test('#27: --paginate stopped by --max-requests, then --resume: every page once, one final last record per input', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/pages/a?n=4&style=next`, `${server.url}/pages/b?n=3&style=next`, 'not a url']);
  const out = join(dir, 'out.ndjson');

  const first = await runCli([input, '--next', '.next', '--max-requests', '3', '-c', '1', '-o', out, '-q']);
  assert.equal(first.code, 3, first.stderr);
  const second = await runCli([input, '--next', '.next', '-o', out, '--resume', '-q']);
  assert.equal(second.code, 0, second.stderr);
  const third = await runCli([input, '--next', '.next', '-o', out, '--resume']);
  assert.equal(third.code, 0, 'nothing left to fetch');
  assert.equal(third.stdout, '');
  assert.match(third.stderr, /nothing/i);

  const records = parseRecords(readFileSync(out, 'utf8'), out);
  for (const line of [1, 2, 3]) {
    const lasts = records.filter((r) => r.line === line && r.last === true);
    assert.equal(lasts.at(-1)?.final, true, `line ${line} ends with a final last record`);
  }
  for (const [line, name, n] of [[1, 'a', 4] as const, [2, 'b', 3] as const]) {
    const pages = records.filter((r) => r.line === line && r.ok).map((r) => r.page);
    assert.deepEqual(pages, range(n), `each page of ${name} once, in order`);
    assert.equal(server.hits.filter((hit) => hit.path.startsWith(`/pages/${name}`)).length, n, `no page of ${name} fetched twice`);
  }
});

test('#27: Ctrl-C part way through pages: exit 130, exactly one last record per input read; --resume then fetches no page twice', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/pages/x?n=20&style=link`, `${server.url}/pages/y?n=20&style=link`]);
  const out = join(dir, 'out.ndjson');
  const run = spawnCli([input, '--paginate', '--rps', '8', '-c', '2', '-o', out, '-q']);
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 6, 'a few pages written');
  run.child.kill('SIGINT');
  const stopped = await run.result;
  assert.equal(stopped.code, 130, stopped.stderr);
  const before = parseRecords(readFileSync(out, 'utf8'), out);
  for (const line of [1, 2]) {
    const lasts = before.filter((r) => r.line === line && r.last === true);
    assert.equal(lasts.length, 1, `line ${line}: one last record`);
    assert.equal(lasts[0]!.error?.code, 'INTERRUPTED');
    assert.equal(lasts[0]!.final, false);
  }
  const resumed = await runCli([input, '--paginate', '-o', out, '--resume', '-q']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const records = parseRecords(readFileSync(out, 'utf8'), out);
  for (const [line, name] of [[1, 'x'] as const, [2, 'y'] as const]) {
    assert.deepEqual(
      records.filter((r) => r.line === line && r.ok).map((r) => r.page),
      range(20),
      `each page of ${name} once, in order`,
    );
    assert.equal(server.hits.filter((hit) => hit.path.startsWith(`/pages/${name}`)).length, 20, `no page of ${name} fetched twice`);
    assert.equal(records.filter((r) => r.line === line && r.last === true).at(-1)?.final, true);
  }
});
