// Interrupts from outside: the first SIGINT drains (in-flight requests get their grace, the
// rest become INTERRUPTED records, exit 130), a second one leaves at once; SIGTERM exits 143.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  STACK_LINE,
  assertOneRecordPerLine,
  parseRecords,
  range,
  spawnCli,
  startServer,
  tempDir,
  waitFor,
  writeLines,
  type CliRecord,
  type FixtureServer,
} from './helpers.ts';

/** Every record either finished ok or is an INTERRUPTED record that a later run should retry. */
function assertOkOrInterrupted(records: readonly CliRecord[]): void {
  for (const r of records) {
    if (r.ok) continue;
    assert.equal(r.error?.code, 'INTERRUPTED', `line ${r.line}: ${JSON.stringify(r.error)}`);
    assert.equal(r.final, false, `line ${r.line}: an interrupted record is not final`);
  }
}

/** 30 slow URLs, two at a time: a run of several seconds that a signal cuts short. */
function slowList(t: Parameters<typeof tempDir>[0], server: FixtureServer, route: string, n = 30): string {
  return writeLines(
    tempDir(t),
    'urls.txt',
    range(n).map((i) => `${server.url}${route}?i=${i}`),
  );
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test(`${signal} mid-run: exit ${code}, one record per input read, unfinished ones INTERRUPTED and not final`, async (t) => {
    const server = await startServer(t);
    const input = slowList(t, server, '/delay/500');
    const run = spawnCli([input, '-c', '2'], { timeoutMs: 30_000 });
    // About a second in: the first pair has finished and the second is on the wire.
    await waitFor(() => server.countRequests() >= 3, 'the third request to arrive');
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.child.kill(signal);
    const result = await run.result;

    assert.equal(result.code, code, result.stderr);
    const records = parseRecords(result.stdout);
    // All 30 lines are read at once (read-ahead is 2,000), so all 30 get a record.
    assertOneRecordPerLine(records, range(30));
    assertOkOrInterrupted(records);
    const interrupted = records.filter((r) => r.error?.code === 'INTERRUPTED');
    assert.ok(interrupted.length >= 20, `most inputs were never sent: ${interrupted.length} INTERRUPTED`);
    assert.ok(records.filter((r) => r.ok).length >= 2, 'the requests finished before the signal are ok');
    assert.ok(server.countRequests() < 30, 'no new request starts after the signal');
    // stderr: the notice and the summary, no stack.
    assert.match(result.stderr, new RegExp(signal));
    assert.match(result.stderr, /^ratefetch: interrupted/m, result.stderr);
    assert.match(result.stderr, /^ {2}records/m);
    assert.doesNotMatch(result.stderr, STACK_LINE);
    assert.doesNotMatch(result.stderr, /internal error/);
  });
}

test('SIGINT: requests in flight get their grace period and finish ok', async (t) => {
  const server = await startServer(t);
  const input = slowList(t, server, '/delay/800', 6);
  const run = spawnCli([input, '-c', '2'], { timeoutMs: 30_000 });
  await waitFor(() => server.countRequests() >= 2, 'two requests in flight');
  run.child.kill('SIGINT');
  const result = await run.result;
  assert.equal(result.code, 130, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(6));
  // The two on the wire (800 ms, well inside the 2 s grace) complete; the other four never start.
  assert.equal(records.filter((r) => r.ok).length, 2, JSON.stringify(records.map((r) => [r.line, r.ok, r.error?.code])));
  assert.equal(server.countRequests(), 2);
});

test('a second SIGINT leaves at once (still 130) and every stdout line is whole JSON', async (t) => {
  const server = await startServer(t);
  // /hang never answers: after one SIGINT the run would wait out the 2 s grace, then write
  // INTERRUPTED records for the two hung requests. A second SIGINT must not wait for that.
  const input = slowList(t, server, '/hang');
  const run = spawnCli([input, '-c', '2', '--timeout', '60'], { timeoutMs: 30_000 });
  await waitFor(() => server.countRequests() >= 2, 'two hung requests');
  run.child.kill('SIGINT');
  await waitFor(() => /SIGINT/.test(run.stderrSoFar()), 'the first SIGINT to be acknowledged on stderr');
  // Let the 28 never-sent inputs' INTERRUPTED records reach the output (well inside the 2 s grace).
  await new Promise((resolve) => setTimeout(resolve, 150));
  const secondAt = performance.now();
  run.child.kill('SIGINT');
  const result = await run.result;
  const afterSecond = Math.round(performance.now() - secondAt);
  t.diagnostic(`exited ${afterSecond} ms after the second SIGINT`);

  assert.equal(result.code, 130, result.stderr);
  const records = parseRecords(result.stdout); // whole lines only, or this throws
  const lines = records.map((r) => r.line);
  assert.equal(new Set(lines).size, lines.length, 'no line twice');
  assertOkOrInterrupted(records);
  // The two hung requests were not waited for: their records were never due.
  assert.ok(records.length < 30, `did not wait for the grace period (${records.length} records)`);
  assert.ok(records.length >= 1, 'the records written before the second SIGINT are there, whole');
  assert.doesNotMatch(result.stderr, STACK_LINE);
  assert.doesNotMatch(result.stderr, /internal error/);
});

test('a second SIGINT with -o file: every line in the file is whole JSON', async (t) => {
  const server = await startServer(t);
  const input = slowList(t, server, '/hang');
  const out = join(tempDir(t), 'out.ndjson');
  const run = spawnCli([input, '-c', '2', '--timeout', '60', '-o', out], { timeoutMs: 30_000 });
  await waitFor(() => server.countRequests() >= 2, 'two hung requests');
  run.child.kill('SIGINT');
  await waitFor(() => /SIGINT/.test(run.stderrSoFar()), 'the first SIGINT to be acknowledged on stderr');
  // Let the 28 never-sent inputs' INTERRUPTED records reach the output (well inside the 2 s grace).
  await new Promise((resolve) => setTimeout(resolve, 150));
  run.child.kill('SIGINT');
  const result = await run.result;
  assert.equal(result.code, 130, result.stderr);
  assert.equal(result.stdout, '');
  const records = parseRecords(readFileSync(out, 'utf8'), out);
  assert.ok(records.length >= 1, 'the records written before the second SIGINT are there, whole');
  assert.equal(new Set(records.map((r) => r.line)).size, records.length, 'no line twice');
  assertOkOrInterrupted(records);
});

test('SIGINT while stdin is still open (a producer that has not finished): stops reading, exit 130', async (t) => {
  const server = await startServer(t);
  const run = spawnCli(['-'], { stdin: `${server.url}/ok\n${server.url}/items/1\n${server.url}/items/2\n`, holdStdin: true, timeoutMs: 20_000 });
  await waitFor(() => server.countRequests() >= 3, 'the three piped URLs to be fetched');
  // Give the three records time to be written before the signal.
  await new Promise((resolve) => setTimeout(resolve, 300));
  run.child.kill('SIGINT');
  const result = await run.result;
  run.child.stdin?.destroy();
  assert.equal(result.code, 130, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3]);
  assert.ok(records.every((r) => r.ok));
  assert.match(result.stderr, /^ratefetch: interrupted/m);
});

test('SIGINT under --quiet: exit 130 and nothing on stderr', async (t) => {
  const server = await startServer(t);
  const input = slowList(t, server, '/delay/300', 10);
  const run = spawnCli([input, '-c', '1', '--quiet'], { timeoutMs: 20_000 });
  await waitFor(() => server.countRequests() >= 1, 'the first request');
  run.child.kill('SIGINT');
  const result = await run.result;
  assert.equal(result.code, 130);
  assert.equal(result.stderr, '');
  assertOneRecordPerLine(parseRecords(result.stdout), range(10));
});

test('#10: SIGINT during --dry-run stops between two lines: exit 130, every line whole', async () => {
  const running = spawnCli(['--range', 'id=1..100000000', '-t', 'http://127.0.0.1:9/items/{id}', '--dry-run', '--quiet']);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  running.child.kill('SIGINT');
  const result = await running.result;
  assert.equal(result.code, 130);
  const lines = result.stdout.split('\n');
  assert.equal(lines.pop(), '', 'stdout ends with a whole line');
  assert.ok(lines.length > 0);
  for (const [i, line] of lines.entries()) assert.equal(JSON.parse(line).line, i + 1);
});
