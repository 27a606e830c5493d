// Issue 12, hostile input: whatever the input file holds, every line that is an input gets one
// record (an INVALID_URL one with its line number when it is not an http(s) URL), stdout stays
// NDJSON, and nothing crashes. Input that cannot be read at all is a usage error.
//
// Also asserted elsewhere: -o /dev/full exits 74 with one sentence (exit-codes.test.ts, with and
// without --quiet); URL user:password is sent as Basic auth and redacted everywhere
// (redaction.test.ts and secrets.test.ts; here too, next to the other schemes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import {
  assertOneRecordPerLine,
  assertUsageError,
  BIN,
  cleanEnv,
  collectChild,
  parseRecords,
  range,
  runCli,
  STACK_LINE,
  startServer,
  tempDir,
  writeLines,
  type CliResult,
} from './helpers.ts';

/** The conventional uid and gid of `nobody`, for checks that root would pass by privilege. */
const NOBODY = 65534;

/** The lines of `bytes` that are inputs, as readLines counts them: 1-based, blank and # lines skipped. */
function inputLines(bytes: Buffer): number[] {
  const lines: number[] = [];
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    const text = bytes.subarray(start, end).toString('utf8').trim();
    if (text !== '' && !text.startsWith('#')) lines.push(line);
    start = end + 1;
  }
  return lines;
}

/** The things every run must show, whatever its input: NDJSON on stdout, no crash on stderr. */
function assertCleanRun(result: CliResult): void {
  assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}\n${result.stderr.slice(0, 2000)}`);
  assert.doesNotMatch(result.stderr, STACK_LINE);
  assert.doesNotMatch(result.stderr, /internal error/);
}

/** A tiny deterministic byte generator, so a failure can be replayed. */
function randomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

test('#12: a 10 MB line is one INVALID_URL record with a short excerpt; the lines around it are fetched', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = join(dir, 'urls.txt');
  writeFileSync(input, `${server.url}/items/1\n${server.url}/items/${'a'.repeat(10 * 1024 * 1024)}\n${server.url}/items/3\n`);
  const result = await runCli([input]);
  assertCleanRun(result);
  assert.equal(result.code, 1);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3]);
  const long = records.find((r) => r.line === 2)!;
  assert.deepEqual([long.ok, long.error?.code, long.attempts, long.status], [false, 'INVALID_URL', 0, null]);
  assert.match(long.error!.message, /line 2: .*too long/);
  assert.ok(long.url.length <= 1_000, `the record keeps ${long.url.length} characters of the line`);
  assert.ok(result.stdout.length < 10_000, `stdout is ${result.stdout.length} bytes`);
  assert.deepEqual(server.hits.map((h) => h.path).sort(), ['/items/1', '/items/3'], 'nothing was sent for the long line');
});

test('#12: binary bytes, NULs and invalid UTF-8 are INVALID_URL records, one per line, and stdout stays valid NDJSON', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const crafted = Buffer.concat([
    Buffer.from('\ufeff'), // a UTF-8 byte order mark before the first URL (editors on Windows add one)
    Buffer.from(`${server.url}/items/1\n`),
    Buffer.from(`${server.url}/items/a\u0000b\n`), // 2: a NUL inside a URL
    Buffer.from([0x00, 0x00, 0x0a]), // 3: only NULs
    Buffer.concat([Buffer.from(`${server.url}/items/caf`), Buffer.from([0xe9, 0xff, 0x0a])]), // 4: not UTF-8
    Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x0d, 0x0a]), // 5: terminal escapes, BEL, CRLF
    Buffer.from(`${server.url}/items/2\n`), // 6
  ]);
  const noise = randomBytes(64 * 1024, 12);
  const bytes = Buffer.concat([crafted, noise]);
  const input = join(dir, 'binary.txt');
  writeFileSync(input, bytes);
  const expectedLines = inputLines(bytes);
  assert.ok(expectedLines.length > 100, `${expectedLines.length} input lines in the noise`);

  const result = await runCli([input, '--concurrency', '2']);
  assertCleanRun(result);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, expectedLines);
  const byLine = new Map(records.map((r) => [r.line, r]));
  assert.equal(byLine.get(1)!.ok, true, `the BOM is not part of the URL: ${JSON.stringify(byLine.get(1)!.error)}`);
  assert.equal(byLine.get(6)!.ok, true);
  for (const record of records.filter((r) => r.line !== 1 && r.line !== 6)) {
    assert.equal(record.error?.code, 'INVALID_URL', `line ${record.line}: ${JSON.stringify(record.error)}`);
    assert.match(record.error!.message, new RegExp(`^line ${record.line}: `));
    assert.equal(record.attempts, 0);
  }
  assert.deepEqual(server.hits.map((h) => h.path).sort(), ['/items/1', '/items/2'], 'only the two real URLs were sent');
  // Raw control bytes stay inside JSON strings, escaped; none reach the terminal from stdout.
  assert.doesNotMatch(result.stdout, /[\u0000-\u0009\u000b-\u001f]/);
});

test('#12: file:, data:, ftp: and javascript: URLs are INVALID_URL records with their line; user:password URLs are fetched, redacted', {
  timeout: 30_000,
}, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const withUser = `http://user:HOSTILE-PASS-77@${new URL(server.url).host}`;
  const lines = [
    'file:///etc/passwd',
    'data:text/plain;base64,aGVsbG8=',
    'ftp://example.invalid/pub/file.txt',
    'javascript:alert(document.cookie)',
    'JavaScript:alert(1)',
    `${withUser}/items/1`,
    'mailto:someone@example.invalid',
    '//example.invalid/no-scheme',
  ];
  const input = writeLines(dir, 'urls.txt', lines);
  const out = join(dir, 'out.ndjson');
  const stats = join(dir, 'stats.json');
  const result = await runCli([input, '--verbose', '-o', out, '--stats-file', stats, '--failed-output', join(dir, 'failed.ndjson')]);
  assertCleanRun(result);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  const records = parseRecords(readFileSync(out, 'utf8'), out);
  assertOneRecordPerLine(records, range(lines.length));
  for (const record of records) {
    if (record.line === 6) {
      assert.equal(record.ok, true, JSON.stringify(record.error));
      continue;
    }
    assert.deepEqual([record.ok, record.error?.code, record.attempts, record.final], [false, 'INVALID_URL', 0, true], `line ${record.line}`);
    assert.match(record.error!.message, new RegExp(`^line ${record.line}: `));
  }
  for (const line of [1, 2, 3, 4, 5, 7]) {
    assert.match(records.find((r) => r.line === line)!.error!.message, /only http and https URLs are fetched/, `line ${line}`);
  }
  assert.equal(server.hits.length, 1, 'only the http URL was fetched');
  assert.equal(server.hits[0]!.headers.authorization, `Basic ${Buffer.from('user:HOSTILE-PASS-77').toString('base64')}`);
  for (const [what, text] of [
    ['records', readFileSync(out, 'utf8')],
    ['stderr', result.stderr],
    ['stats', readFileSync(stats, 'utf8')],
    ['failed', readFileSync(join(dir, 'failed.ndjson'), 'utf8')],
  ]) {
    assert.ok(!text!.includes('HOSTILE-PASS-77'), `${what} shows the password`);
  }
});

test('#12: an empty input exits 0 with a summary of zero records', async (t) => {
  const dir = tempDir(t);
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  const stats = join(dir, 'stats.json');
  for (const [args, stdin] of [
    [[empty, '--stats-file', stats], undefined],
    [['-'], ''],
  ] as const) {
    const result = await runCli([...args], stdin === undefined ? {} : { stdin });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^\s*records\s+0$/m, `a summary of zero:\n${result.stderr}`);
    assert.doesNotMatch(result.stderr, /NaN|undefined|Infinity/);
  }
  const figures = JSON.parse(readFileSync(stats, 'utf8')) as { inputs: number; records: number; ok: number; failed: number };
  assert.deepEqual([figures.inputs, figures.records, figures.ok, figures.failed], [0, 0, 0, 0]);
});

test('#12: an input path that is a directory, missing or unreadable is a usage error, one sentence', async (t) => {
  const dir = tempDir(t);
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  assertUsageError(await runCli([folder]), /folder is a directory/);
  assertUsageError(await runCli([join(dir, 'missing.txt')]), /cannot read input .*missing\.txt: no such file/);

  await t.test('unreadable (chmod 000)', async (st) => {
    const locked = writeLines(dir, 'locked.txt', ['http://127.0.0.1:9/never']);
    chmodSync(locked, 0o000);
    st.after(() => chmodSync(locked, 0o600));
    if (process.getuid?.() !== 0) {
      assertUsageError(await runCli([locked]), /cannot read input .*locked\.txt: permission denied/);
      return;
    }
    // Root reads a chmod 000 file anyway, so the CLI runs as nobody; the folder must let it in.
    chmodSync(dir, 0o755);
    const child = spawn(process.execPath, [BIN, locked], { cwd: dir, env: cleanEnv(), uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collectChild(child, 20_000).catch((error: NodeJS.ErrnoException) => error);
    if (result instanceof Error)
      return st.skip(`running as root and cannot run the CLI as nobody (${result.code}): the unreadable-input check needs a normal user`);
    // A checkout under a folder nobody may enter (mktemp -d is 0700) shows as EACCES or as a missing module.
    if (/EACCES|Cannot find module/.test(result.stderr) && !result.stderr.includes('locked.txt')) {
      return st.skip('running as root, and nobody cannot load the CLI here: the unreadable-input check needs a normal user');
    }
    assertUsageError(result, /cannot read input .*locked\.txt: permission denied/);
  });
});
