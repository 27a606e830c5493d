// Where the CLI reads and writes: stdout carries NDJSON records only (one per input line),
// stdin or a file feeds it, -o/--append write a file, `| head` ends it quietly, and
// --quiet/--stats-file serve a cron job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STACK_LINE, assertOneRecordPerLine, cliCommand, parseRecords, range, runCli, runShell, startServer, tempDir, writeLines } from './helpers.ts';

test('stdout is NDJSON records only, one per input line; blank and # lines are not inputs; the human text is on stderr', async (t) => {
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [
    '# a comment',
    `${server.url}/ok`,
    '',
    '   ',
    `${server.url}/items/1\r`, // CRLF line ending
    '   # an indented comment',
    `${server.url}/status/404`,
    `${server.url}/text`,
  ]);
  const result = await runCli([input]);
  assert.equal(result.code, 1, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [2, 5, 7, 8]);
  assert.equal(records.find((r) => r.line === 5)?.ok, true, 'the CRLF line is fetched as a URL');
  assert.equal(server.countRequests(), 4);
  // The summary goes to stderr, never into the record stream.
  assert.match(result.stderr, /^ratefetch: done/m);
  assert.doesNotMatch(result.stdout, /ratefetch:/);
});

test("'-' reads the URLs from stdin", async (t) => {
  const server = await startServer(t);
  const result = await runCli(['-'], { stdin: `${server.url}/ok\n\n${server.url}/items/9\n` });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(result.stdout), [1, 3]);
});

test('no argument reads the URLs from piped stdin (last line without a newline too)', async (t) => {
  const server = await startServer(t);
  const result = await runCli([], { stdin: `${server.url}/ok\n${server.url}/items/9` });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(result.stdout), [1, 2]);
});

test('empty input: no records, exit 0', async () => {
  const result = await runCli(['-'], { stdin: '# nothing to do\n\n' });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '');
});

test('-o file writes the records to the file and nothing to stdout; a second run replaces it', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`, `${server.url}/items/2`]);
  const out = join(dir, 'out.ndjson');

  const first = await runCli([input, '-o', out]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, '');
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8'), out), [1, 2, 3]);

  const single = writeLines(dir, 'one.txt', [`${server.url}/text`]);
  const second = await runCli([single, '-o', out]);
  assert.equal(second.code, 0, second.stderr);
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8'), out), [1]);
});

test('--append adds to the -o file and keeps what was there', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const out = join(dir, 'out.ndjson');
  const first = await runCli([writeLines(dir, 'a.txt', [`${server.url}/items/1`, `${server.url}/items/2`]), '-o', out]);
  assert.equal(first.code, 0, first.stderr);
  const before = readFileSync(out, 'utf8');

  const second = await runCli([writeLines(dir, 'b.txt', [`${server.url}/items/3`]), '-o', out, '--append']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, '');
  const after = readFileSync(out, 'utf8');
  assert.ok(after.startsWith(before), 'the earlier records are kept as they were');
  const records = parseRecords(after, out);
  assert.equal(records.length, 3);
  assert.deepEqual(
    records
      .slice(0, 2)
      .map((r) => new URL(r.url).pathname)
      .sort(),
    ['/items/1', '/items/2'],
  );
  assert.equal(new URL(records[2]!.url).pathname, '/items/3', 'the appended record comes last');
});

test('--append to a file that does not exist yet creates it', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const out = join(dir, 'new.ndjson');
  const result = await runCli([writeLines(dir, 'a.txt', [`${server.url}/ok`]), '-o', out, '--append']);
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8'), out), [1]);
});

test('`| head -n 3` ends quickly and quietly with exactly 3 whole lines', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(200).map((i) => `${server.url}/items/${i}`),
  );
  // 200 URLs at 50/s would take 4 s; a reader that leaves after 3 lines must end it well before.
  const result = await runShell(`${cliCommand([input, '--rps', '50'])} | head -n 3`, { timeoutMs: 20_000 });
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  assert.equal(lines.length, 4, `3 lines and a final newline:\n${result.stdout}`);
  parseRecords(result.stdout);
  assert.doesNotMatch(result.stderr, /EPIPE|internal error|Unhandled|Error:/, result.stderr);
  assert.doesNotMatch(result.stderr, STACK_LINE, result.stderr);
  assert.ok(server.countRequests() < 100, `stopped fetching once the reader left (${server.countRequests()} requests sent)`);
  t.diagnostic(`| head -n 3 took ${result.ms} ms, ${server.countRequests()} requests`);
});

test('`| head -n 3`: no internal error, and --stats-file says the run was cut short', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(200).map((i) => `${server.url}/items/${i}`),
  );
  const stats = join(dir, 'stats.json');
  // The subshell reports ratefetch's own exit status on stderr (sh has no pipefail).
  const result = await runShell(`{ ${cliCommand([input, '--rps', '50', '--quiet', '--stats-file', stats])}; echo "exit=$?" >&2; } | head -n 3 >/dev/null`, {
    timeoutMs: 20_000,
  });
  assert.match(result.stderr, /^exit=\d+$/m);
  const code = Number(/exit=(\d+)/.exec(result.stderr)![1]);
  assert.notEqual(code, 70, 'a closed pipe is not an internal error');
  const json = JSON.parse(readFileSync(stats, 'utf8')) as { records: number; inputs: number; interrupted: boolean };
  assert.ok(json.records >= 3 && json.records < 200, `records ${json.records}`);
  // summary.ts documents `interrupted` as "true when the run was stopped (signal or closed
  // output) before the end", and `records` as one per input read "unless the run was cut short".
  assert.equal(json.interrupted, true, `a run cut short by a closed stdout says so in --stats-file: ${JSON.stringify(json)}`);
});

test('--quiet: nothing on stderr for a successful run, records still on stdout', async (t) => {
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`]);
  const result = await runCli([input, '--quiet']);
  assert.equal(result.code, 0);
  assert.equal(result.stderr, '');
  assertOneRecordPerLine(parseRecords(result.stdout), [1, 2]);
});

test('--stats-file writes figures that match the run, also under --quiet', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const stats = join(dir, 'stats.json');
  const input = writeLines(dir, 'urls.txt', [
    `${server.url}/ok`,
    `${server.url}/items/1`,
    `${server.url}/status/404`,
    // One 503 then 200 after Retry-After: 0; one 429 then 200: two retries, one 429.
    `${server.url}/flaky/a?fail=1&status=503&retryAfter=0`,
    `${server.url}/flaky/b?fail=1&status=429&retryAfter=0`,
    'not a url',
  ]);
  const result = await runCli([input, '--quiet', '--stats-file', stats]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, '', 'a 404 is not fatal: --quiet keeps stderr empty');
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(6));

  const json = JSON.parse(readFileSync(stats, 'utf8')) as Record<string, unknown> & {
    latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  };
  for (const key of ['records', 'ok', 'failed', 'retries', 'received429', 'latencyMs']) assert.ok(key in json, `stats has ${key}`);
  assert.equal(json.records, records.length);
  assert.equal(json.ok, records.filter((r) => r.ok).length);
  assert.equal(json.ok, 4);
  assert.equal(json.failed, records.filter((r) => !r.ok).length);
  assert.equal(
    json.retries,
    records.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
  );
  assert.equal(json.retries, 2);
  assert.equal(json.received429, server.count429());
  assert.equal(json.received429, 1);
  assert.equal(json.attempts, server.countRequests(), 'attempts counted by the CLI = requests the server saw');
  for (const q of ['p50', 'p95', 'p99'] as const) {
    const v = json.latencyMs[q];
    assert.ok(typeof v === 'number' && v >= 0 && v < 10_000, `latencyMs.${q} = ${v}`);
  }
  assert.ok(json.latencyMs.p50! <= json.latencyMs.p95! && json.latencyMs.p95! <= json.latencyMs.p99!);
  assert.equal(json.interrupted, false);
});

test('--stats-file without --quiet: same file, summary on stderr', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const stats = join(dir, 'stats.json');
  const input = writeLines(dir, 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`]);
  const result = await runCli([input, '--stats-file', stats]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /ratefetch: done/);
  const json = JSON.parse(readFileSync(stats, 'utf8')) as { records: number; ok: number; failed: number };
  assert.deepEqual([json.records, json.ok, json.failed], [2, 2, 0]);
});

test('--help into a reader that has already gone (| true) exits 0 with nothing on stderr, as does --version', async () => {
  // `true` exits at once: by the time the help is written, nobody reads the pipe (EPIPE).
  for (const flag of ['--help', '--version']) {
    const result = await runShell(`{ sleep 0.3; ${cliCommand([flag])}; echo "exit=$?" >&2; } | true`);
    assert.equal(result.stderr, 'exit=0\n', flag);
  }
});
