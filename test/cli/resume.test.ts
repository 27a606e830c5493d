// Issue 12, resume: `--resume -o out.ndjson` skips every input that already has a final record,
// fetches the rest and appends. Real processes against the fixture server, including a run
// killed with SIGKILL again and again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertOneRecordPerLine,
  assertUsageError,
  parseRecords,
  runCli,
  runShell,
  shq,
  spawnCli,
  startServer,
  tempDir,
  writeLines,
  type CliRecord,
} from './helpers.ts';

function readRecords(path: string): CliRecord[] {
  return parseRecords(readFileSync(path, 'utf8'), path);
}

/** Requests the server saw for a path (query included). */
function hitsFor(server: { hits: Array<{ path: string }> }, path: string): number {
  return server.hits.filter((hit) => hit.path === path).length;
}

test('#12: --resume with no output yet starts afresh; a rerun finds nothing to fetch and exits 0', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`, `${server.url}/items/2`, `${server.url}/status/404`]);
  const out = join(dir, 'out.ndjson');

  const first = await runCli([input, '-o', out, '--resume', '--quiet']);
  assert.equal(first.code, 1, 'a 404 is not ok');
  assert.equal(first.stderr, '');
  assert.equal(first.stdout, '', 'records go to -o only');
  assertOneRecordPerLine(readRecords(out), [1, 2, 3]);

  const hits = server.hits.length;
  const before = readFileSync(out);
  const again = await runCli([input, '-o', out, '--resume']);
  assert.equal(again.code, 0);
  assert.equal(again.stderr, `ratefetch: every input already has a final record in ${out}; nothing to fetch.\n`);
  assert.equal(again.stdout, '');
  assert.equal(server.hits.length, hits, 'nothing sent');
  assert.deepEqual(readFileSync(out), before, 'the file is unchanged');
});

test('#12: lines appended to the input: only the new ones are fetched, and their records appended', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const urls = [1, 2, 3].map((n) => `${server.url}/items/${n}`);
  const input = writeLines(dir, 'urls.txt', urls);
  const out = join(dir, 'out.ndjson');
  assert.equal((await runCli([input, '-o', out, '--quiet'])).code, 0);
  const before = readFileSync(out, 'utf8');

  appendFileSync(input, `${server.url}/items/4\n# a comment\n${server.url}/items/5\n`);
  const resumed = await runCli([input, '-o', out, '--resume', '--no-progress']);
  assert.equal(resumed.code, 0);
  assert.match(
    resumed.stderr,
    new RegExp(`^ratefetch: skipped 3 inputs that already had a final record in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\n`),
  );
  assert.match(resumed.stderr, /records\s+2\b/, 'the summary counts this run');
  for (const n of [1, 2, 3]) assert.equal(hitsFor(server, `/items/${n}`), 1, `/items/${n} fetched once`);
  for (const n of [4, 5]) assert.equal(hitsFor(server, `/items/${n}`), 1);
  const after = readFileSync(out, 'utf8');
  assert.ok(after.startsWith(before), 'the records already there are kept as they were');
  assertOneRecordPerLine(readRecords(out), [1, 2, 3, 4, 6]);
});

test('#12: after a run stopped early, --resume fetches what has no final record; the last record per input is final', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    [1, 2, 3, 4, 5, 6].map((n) => `${server.url}/items/${n}`),
  );
  const out = join(dir, 'out.ndjson');
  const stopped = await runCli([input, '-o', out, '--max-requests', '2', '-c', '1', '--quiet']);
  assert.equal(stopped.code, 3);
  const early = readRecords(out);
  assert.equal(early.filter((r) => r.final).length, 2);
  const unfinished = early.filter((r) => !r.final).map((r) => r.line);

  const resumed = await runCli([input, '-o', out, '--resume', '--quiet']);
  assert.equal(resumed.code, 0);
  assert.equal(server.hits.length, 6, 'each input fetched once over both runs');
  const records = readRecords(out);
  assert.equal(records.length, early.length + 6 - 2);
  // The truth: for each input, the last record with its key (and line) wins.
  const last = new Map(records.map((r) => [`${r.key} ${r.line}`, r]));
  assertOneRecordPerLine([...last.values()], [1, 2, 3, 4, 5, 6]);
  assert.ok([...last.values()].every((r) => r.ok && r.final));
  assert.ok(unfinished.every((line) => records.some((r) => r.line === line && r.final)));
});

test('#12: the README jq line leaves one record per input, the last one', async (t) => {
  const jq = await runShell('command -v jq');
  if (jq.code !== 0) return t.skip('jq is not installed');
  const dir = tempDir(t);
  const out = join(dir, 'out.ndjson');
  const rec = (line: number, key: string, ok: boolean, final: boolean) => JSON.stringify({ line, key, ok, final, error: null });
  // Line 2 interrupted then fetched; lines 3 and 4 the same request, each with its own record.
  writeFileSync(
    out,
    [rec(1, 'a', true, true), rec(2, 'b', false, false), rec(3, 'k', true, true), rec(2, 'b', true, true), rec(4, 'k', false, true)].join('\n') + '\n',
  );
  const result = await runShell(`jq -c -n 'reduce inputs as $r ({}; .["\\($r.line) \\($r.key)"] = $r) | .[]' ${shq(out)}`);
  assert.equal(result.code, 0, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3, 4]);
  assert.equal(records.find((r) => r.line === 2)?.ok, true);
  assert.equal(records.find((r) => r.line === 4)?.ok, false);
});

test('#12: --retry-failed fetches not-ok inputs again, but never re-records an invalid line', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  // /flaky answers 404 the first time, 200 after.
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`, `${server.url}/flaky/r1?fail=1&status=404`, 'not a url']);
  const out = join(dir, 'out.ndjson');
  const failed = join(dir, 'failed.ndjson');
  assert.equal((await runCli([input, '-o', out, '--failed-output', failed, '--resume', '--quiet'])).code, 1);
  assert.equal(readRecords(failed).length, 2);

  const plain = await runCli([input, '-o', out, '--resume', '--quiet']);
  assert.equal(plain.code, 0, 'a final 404 counts as done without --retry-failed');
  assert.equal(server.hits.length, 2);

  const retried = await runCli([input, '-o', out, '--failed-output', failed, '--resume', '--retry-failed', '--quiet']);
  assert.equal(retried.code, 0, 'every record of this run is ok');
  assert.equal(hitsFor(server, '/flaky/r1?fail=1&status=404'), 2);
  assert.equal(hitsFor(server, '/items/1'), 1);
  const records = readRecords(out);
  assert.equal(records.length, 4, 'one new record, appended');
  assert.deepEqual([records.at(-1)?.line, records.at(-1)?.ok], [2, true]);
  assert.equal(records.filter((r) => r.line === 3).length, 1, 'the invalid line keeps its one record');
  assert.equal(records.filter((r) => r.line === 2).at(-1)?.ok, true, 'the last record for line 2 is the ok one');
  assert.equal(readRecords(failed).length, 2, '--failed-output is appended to, not replaced');

  const nothing = await runCli([input, '-o', out, '--resume', '--retry-failed']);
  assert.equal(nothing.code, 0);
  assert.match(nothing.stderr, /nothing to fetch/);
});

test('#12: the same URL on two lines: the line that has no record is fetched, the other is not', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`, `${server.url}/items/2`, `${server.url}/items/1`]);
  const out = join(dir, 'out.ndjson');
  assert.equal((await runCli([input, '-o', out, '--quiet'])).code, 0);
  // As a crash might leave it: line 3 finished, line 1 (the same request) did not.
  const kept = readRecords(out).filter((r) => r.line !== 1);
  writeFileSync(out, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));

  assert.equal((await runCli([input, '-o', out, '--resume', '--quiet'])).code, 0);
  assert.equal(hitsFor(server, '/items/1'), 3, 'fetched again for line 1 only');
  assert.equal(hitsFor(server, '/items/2'), 1);
  const records = readRecords(out);
  assertOneRecordPerLine(records, [1, 2, 3]);
  assert.equal(records.find((r) => r.line === 1)?.key, records.find((r) => r.line === 3)?.key);
});

test('#12: a half-written last line is cut off with one line on stderr (even with --quiet), nothing before it changes', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    [1, 2, 3].map((n) => `${server.url}/items/${n}`),
  );
  const out = join(dir, 'out.ndjson');
  assert.equal((await runCli([input, '-o', out, '-c', '1', '--quiet'])).code, 0);
  const [one, two, three] = readFileSync(out, 'utf8').split('\n');
  const whole = `${one}\n${two}\n`;
  const cut = three!.slice(0, 50);
  writeFileSync(out, whole + cut);

  const resumed = await runCli([input, '-o', out, '--resume', '--quiet']);
  assert.equal(resumed.code, 0);
  assert.equal(
    resumed.stderr,
    `ratefetch: ${out} ended in a half-written record (50 bytes, left by a crash); cut it off, and its input will be fetched again.\n`,
  );
  const after = readFileSync(out, 'utf8');
  assert.ok(after.startsWith(whole), 'the whole records are untouched');
  assertOneRecordPerLine(readRecords(out), [1, 2, 3]);
});

test('#12: --resume usage errors: exit 2, one sentence, and the file is not touched', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/a']);
  assertUsageError(await runCli([input, '--resume']), /--resume needs -o/);
  assertUsageError(await runCli([input, '-o', join(dir, 'x.ndjson'), '--retry-failed']), /--retry-failed goes with --resume/);
  assertUsageError(await runCli([input, '-o', join(dir, 'y.ndjson'), '--resume', '--dry-run']), /--dry-run/);

  const notOurs = writeLines(dir, 'notes.txt', ['dear diary', 'today I fetched nothing']);
  const before = readFileSync(notOurs);
  const mtime = statSync(notOurs).mtimeMs;
  assertUsageError(await runCli([input, '-o', notOurs, '--resume']), /notes\.txt.*line 1 is not a ratefetch record/);
  assert.deepEqual(readFileSync(notOurs), before);
  assert.equal(statSync(notOurs).mtimeMs, mtime);
});

/** A small seeded PRNG, so a failing run can be replayed with RESUME_SEED. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

test('#12: killed with SIGKILL at random moments and resumed each time: one final record per input, no broken line', async (t) => {
  const server = await startServer(t, { latencyMs: 25 });
  const dir = tempDir(t);
  const seed = Number(process.env.RESUME_SEED ?? Date.now() % 1_000_000);
  const random = mulberry32(seed);
  const inputs = 240;
  // Small JSON bodies; large ones (records of 1.3 MB, many pages per write); 404s (final,
  // not ok); the same request on lines 7 and 150; an invalid line.
  const urls = Array.from({ length: inputs }, (_, i) => {
    const n = i + 1;
    if (n === 100) return 'not a url';
    if (n === 150) return `${server.url}/items/7`;
    if (n % 40 === 0) return `${server.url}/bytes/1000000?n=${n}`;
    if (n % 25 === 0) return `${server.url}/status/404?n=${n}`;
    return `${server.url}/items/${n}`;
  });
  const input = writeLines(dir, 'urls.txt', urls);
  const out = join(dir, 'out.ndjson');
  const concurrency = 6;
  const args = [input, '-o', out, '--resume', '-c', String(concurrency), '--quiet'];
  const context = () => `seed ${seed} (replay with RESUME_SEED=${seed})`;

  const sizeOf = () => {
    try {
      return statSync(out).size;
    } catch {
      return 0;
    }
  };
  const wholeLines = () => (sizeOf() === 0 ? 0 : readFileSync(out, 'utf8').split('\n').length - 1);
  let kills = 0;
  let killsMidRun = 0;
  let truncations = 0;
  const log: string[] = [];
  const started = Date.now();
  for (let round = 0; round < 6 && Date.now() - started < 4_000; round += 1) {
    const before = wholeLines();
    const sizeBefore = sizeOf();
    const running = spawnCli(args, { timeoutMs: 15_000 });
    let exited = false;
    void running.result.then(() => (exited = true));
    // Odd rounds: any moment from the start (loading, cutting, fetching). Even rounds: a moment
    // after this run's first record, so most kills land while records are being written.
    let delayMs = Math.round(random() * 600);
    if (round % 2 === 0) {
      while (!exited && sizeOf() <= sizeBefore) await sleep(5);
      delayMs = Math.round(random() * 250);
    }
    await sleep(delayMs);
    running.child.kill('SIGKILL');
    const result = await running.result;
    if (/half-written record/.test(result.stderr)) truncations += 1;
    if (result.signal !== 'SIGKILL') {
      assert.ok(result.code === 0 || result.code === 1, `round ${round} exit ${result.code}: ${result.stderr} ${context()}`);
      log.push(`round ${round}: finished before the kill`);
      break;
    }
    kills += 1;
    const after = wholeLines();
    if (after > before) killsMidRun += 1;
    log.push(`round ${round}: SIGKILL ${delayMs} ms ${round % 2 === 0 ? 'after its first record' : 'after the start'}, ${before} → ${after} lines`);
  }

  const final = await runCli(args, { timeoutMs: 20_000 });
  if (/half-written record/.test(final.stderr)) truncations += 1;
  assert.ok(final.code === 0 || final.code === 1, `final run exit ${final.code}: ${final.stderr} ${context()}`);

  const records = readRecords(out); // every line whole and a record, or this fails
  const byLine = new Map<number, CliRecord[]>();
  for (const record of records) byLine.set(record.line, [...(byLine.get(record.line) ?? []), record]);
  const lost = urls.map((_, i) => i + 1).filter((line) => !byLine.get(line)?.some((r) => r.final));
  assert.deepEqual(lost, [], `every input has a final record; ${context()}\n${log.join('\n')}`);
  assertOneRecordPerLine(
    records,
    urls.map((_, i) => i + 1),
  );
  assert.ok(
    records.every((r) => r.final),
    'a killed run writes no INTERRUPTED records, and nothing final was fetched twice',
  );
  assert.equal(byLine.get(7)![0]!.key, byLine.get(150)![0]!.key, 'lines 7 and 150 are the same request, each with its record');
  assert.equal(byLine.get(100)![0]!.error?.code, 'INVALID_URL');
  const notOk = urls.filter((url) => url.includes('/status/404')).length + 1;
  assert.equal(records.filter((r) => r.ok).length, inputs - notOk, 'all ok but the invalid line and the 404s');

  // A kill can cost what was in flight (and a record half-written), never more.
  const refetched = server.hits.length - (inputs - 1);
  assert.ok(refetched >= 0 && refetched <= kills * 2 * concurrency, `refetched ${refetched} after ${kills} kills; ${context()}`);
  t.diagnostic(
    `seed ${seed}: ${kills} SIGKILLs (${killsMidRun} after records were written), ${truncations} half-written lines cut, ${inputs} inputs, ${records.length} records, 0 lost, ${refetched} refetched`,
  );
  t.diagnostic(log.join('; '));
});
