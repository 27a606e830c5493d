// Issue #28 part 2 from the command line: --batch's usage errors (one sentence, exit 2), its help
// group, a run whose summary tells inputs from requests, --dry-run, and Ctrl-C then --resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOneRecordPerLine, assertUsageError, parseRecords, range, runCli, spawnCli, startServer, tempDir, waitFor, writeLines } from './helpers.ts';

const TEMPLATE = 'https://api.example.com/v1/tracks?ids={}';
const PATHS = ['--batch-split', '.tracks', '--batch-key', '.id'];

test('#28: the usage errors of --batch are one sentence each, exit 2', async (t) => {
  const dir = tempDir(t);
  const ids = writeLines(dir, 'ids.txt', ['a', 'b']);
  writeFileSync(join(dir, 'ids.csv'), 'id\na\n');
  const cases: Array<[string[], RegExp]> = [
    [[ids, '-t', TEMPLATE, '--batch', '0', ...PATHS], /--batch.*whole number of 1 or more/],
    [[ids, '-t', TEMPLATE, '--batch', '1001', ...PATHS], /from 1 to 1000, got `1001`/],
    [[ids, '--batch', '5', ...PATHS], /--batch fills the one placeholder of a --template/],
    [[ids, '-t', 'https://api.example.com/{}/x?ids={}', '--batch', '5', ...PATHS], /exactly one placeholder .* this one has 2/],
    [[ids, '-t', 'https://api.example.com/v1/tracks', '--batch', '5', ...PATHS], /exactly one placeholder .* this one has none/],
    [['-t', 'https://api.example.com/v1/tracks?ids=[1-9]', '--batch', '5', ...PATHS], /a glob in --template makes whole URLs/],
    [[ids, '-t', TEMPLATE, '--batch-split', '.tracks'], /--batch-split goes with --batch/],
    [[ids, '-t', TEMPLATE, '--batch', '5'], /--batch needs --batch-split/],
    [[ids, '-t', TEMPLATE, '--batch', '5', '--batch-split', 'tracks', '--batch-key', '.id'], /--batch-split\) to be a path/],
    [[ids, '-t', TEMPLATE, '--batch', '5', ...PATHS, '--paginate'], /--batch and --paginate cannot go together/],
    [
      [join(dir, 'ids.csv'), '-t', 'https://api.example.com/v1/tracks?ids={id}', '-H', 'X-Id: {id}', '--batch', '5', ...PATHS],
      /no -H header or -d body may vary per input/,
    ],
    [[ids, '-t', TEMPLATE, '--batch', '5', ...PATHS, '--redis', '/tmp/none.sock', '--name', 'n'], /--batch is not supported with --redis yet/],
  ];
  for (const [args, mentions] of cases) assertUsageError(await runCli(args), mentions);
});

test('#28: --help shows the batch endpoints group and its example', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Batch endpoints:\n\s+--batch <k>\s+send up to k inputs in one request/);
  for (const flag of ['--batch-join <text>', '--batch-split <path>', '--batch-key <path>']) assert.ok(help.stdout.includes(flag), flag);
  assert.match(help.stdout, /--batch 50 --batch-split \.tracks --batch-key \.id/);
});

test('#28: a batched run: one record per line on stdout, exit 1 for an ID the API does not know, the summary counts requests apart', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const ids = writeLines(dir, 'ids.txt', ['a', 'b', 'gone-c', 'd', 'e']);
  const result = await runCli([ids, '-t', `${server.url}/tracks?ids={}`, '--batch', '2', ...PATHS]);
  assert.equal(result.code, 1, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(5));
  assert.deepEqual(
    records.filter((r) => !r.ok).map((r) => [r.line, r.error?.code]),
    [[3, 'BATCH_MISSING']],
  );
  assert.equal(server.hits.length, 3);
  assert.match(result.stderr, /batched {6}5 inputs in 3 requests \(--batch\)/);
});

test('#28: --dry-run prints the batch requests a run would send', async (t) => {
  const dir = tempDir(t);
  const ids = writeLines(dir, 'ids.txt', ['a', 'b', 'c']);
  const result = await runCli([ids, '-t', TEMPLATE, '--batch', '2', ...PATHS, '--dry-run']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { lines: number[]; url: string })
      .map(({ lines, url }) => [lines, url]),
    [
      [[1, 2], 'https://api.example.com/v1/tracks?ids=a,b'],
      [[3], 'https://api.example.com/v1/tracks?ids=c'],
    ],
  );
});

test('#28: Ctrl-C during a batched run, then --resume: one final record per input, no ID answered twice', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'ids.txt',
    range(30).map((i) => `id${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const args = [input, '-t', `${server.url}/batch?ids={}`, '--batch', '3', '--batch-split', '.items', '--batch-key', '.id', '-o', out, '-q'];
  const run = spawnCli([...args, '--rps', '4', '-c', '1']);
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 6, 'two batches written');
  run.child.kill('SIGINT');
  const stopped = await run.result;
  assert.equal(stopped.code, 130, stopped.stderr);
  const before = parseRecords(readFileSync(out, 'utf8'), out);
  assertOneRecordPerLine(before, range(30));
  assert.ok(before.some((r) => r.error?.code === 'INTERRUPTED'));

  const resumed = await runCli([...args, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const records = parseRecords(readFileSync(out, 'utf8'), out);
  for (const line of range(30)) assert.equal(records.filter((r) => r.line === line).at(-1)?.ok, true, `line ${line} ends ok`);
  const answered = server.hits.filter((hit) => hit.status === 200).flatMap((hit) => new URL(hit.path, server.url).searchParams.get('ids')!.split(','));
  assert.deepEqual(
    answered.sort(),
    range(30)
      .map((i) => `id${i}`)
      .sort(),
    'each ID answered once',
  );
});
