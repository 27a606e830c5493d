// Issue #28 part 3 from the command line: --save with a run killed (SIGKILL) in the middle of
// its downloads and resumed, a file whole on disk whose record was never written, --dry-run,
// and the flags that cannot go with --save.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSha256 } from '../../fixtures/files.ts';
import {
  assertOneRecordPerLine,
  assertUsageError,
  parseRecords,
  range,
  runCli,
  spawnCli,
  startServer,
  tempDir,
  waitFor,
  writeLines,
  type CliRecord,
} from './helpers.ts';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const temps = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((name) => name.includes('.ratefetch-tmp-')) : []);
const recordsIn = (path: string): CliRecord[] => (existsSync(path) ? parseRecords(readFileSync(path, 'utf8'), path) : []);

test('#28: killed with SIGKILL in the middle of its downloads and resumed: one ok record per input, every file as the server sent it, no temp left', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  // Slow bodies (a 64 KiB chunk every 25 ms), one of several MB (2 s at least), so the kill finds downloads under way.
  const sizes = range(16).map((n) => (n === 5 ? 6_000_000 : 150_000 + n * 40_000));
  writeFileSync(join(dir, 'ids.csv'), `id,size\n${sizes.map((size, i) => `f${i + 1},${size}`).join('\n')}\n`);
  const args = [
    'ids.csv',
    '-t',
    `${server.url}/file/{id}?size={size}&chunkMs=25`,
    '--save',
    'covers/{id}.bin',
    '-o',
    'out.ndjson',
    '--resume',
    '-c',
    '4',
    '-q',
  ];
  const covers = join(dir, 'covers');
  const out = join(dir, 'out.ndjson');

  const first = spawnCli(args, { cwd: dir });
  let exited = false;
  void first.result.then(() => (exited = true));
  await waitFor(() => exited || (recordsIn(out).length >= 2 && temps(covers).length > 0), 'two records and a download under way');
  first.child.kill('SIGKILL');
  const killed = await first.result;
  assert.equal(killed.signal, 'SIGKILL', 'the run was killed before it ended');
  const before = recordsIn(out).length;
  assert.ok(before < sizes.length, `killed midway: ${before} records`);
  assert.ok(temps(covers).length > 0, 'the kill left a download half done');

  const resumed = await runCli(args, { cwd: dir, timeoutMs: 60_000 });
  assert.equal(resumed.code, 0, resumed.stderr);
  const records = recordsIn(out);
  assertOneRecordPerLine(records, range(sizes.length, 2));
  for (const record of records) {
    const id = `f${record.line - 1}`;
    const size = sizes[record.line - 2]!;
    assert.equal(record.ok, true, JSON.stringify(record.error));
    assert.deepEqual(record.saved, { path: `covers/${id}.bin`, bytes: size, sha256: fileSha256(id, size) });
    assert.equal(sha256(join(covers, `${id}.bin`)), fileSha256(id, size), `${id}.bin holds what the server sent`);
  }
  assert.deepEqual(temps(covers), [], 'the resumed run removed what the killed one left');
  assert.equal(readdirSync(covers).length, sizes.length);
});

test('#28: a file whole on disk whose record was never written gets its record from the file, without a request', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'ids.txt', ['a', 'b', 'c']);
  const args = [input, '-t', `${server.url}/file/{}?size=70000`, '--save', 'files/{}.bin', '-o', 'out.ndjson', '--resume', '--no-progress'];
  const first = await runCli(args, { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /saved\s+3 files, 205 KiB\n/);
  // As if the run died between putting b.bin in place and writing its record.
  const out = join(dir, 'out.ndjson');
  writeFileSync(
    out,
    readFileSync(out, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('{"line":2,'))
      .join('\n'),
  );
  const hits = server.hits.length;

  const resumed = await runCli(args, { cwd: dir });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(server.hits.length, hits, 'nothing was asked of the server');
  assert.match(resumed.stderr, /saved\s+1 file, 68\.4 KiB \(1 found whole on disk, not fetched\)/);
  const records = recordsIn(out);
  assertOneRecordPerLine(records, [1, 2, 3]);
  const found = records.find((record) => record.line === 2)!;
  assert.equal(found.ok, true);
  assert.equal(found.fromFile, true);
  assert.equal(found.status, null);
  assert.deepEqual(found.saved, { path: 'files/b.bin', bytes: 70_000, sha256: fileSha256('b', 70_000) });
});

test('#28: --resume fetches again a file whose record saw another size', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'ids.txt', ['a', 'b']);
  const args = [input, '-t', `${server.url}/file/{}?size=1000`, '--save', 'files/{}.bin', '-o', 'out.ndjson', '--resume', '-q'];
  assert.equal((await runCli(args, { cwd: dir })).code, 0);
  writeFileSync(join(dir, 'files', 'b.bin'), 'truncated');
  const resumed = await runCli(args, { cwd: dir });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(server.hits.filter((hit) => hit.path.startsWith('/file/b')).length, 2);
  assert.equal(server.hits.filter((hit) => hit.path.startsWith('/file/a')).length, 1);
  assert.equal(sha256(join(dir, 'files', 'b.bin')), fileSha256('b', 1000));
  const last = recordsIn(join(dir, 'out.ndjson')).at(-1)!;
  assert.equal(last.line, 2);
  assert.equal(last.fromFile, undefined);
});

test('#28: --dry-run says where each body would go, and refuses the same paths a run would; nothing is made', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'ids.txt', ['1', 'x/y', '1']);
  const result = await runCli([input, '-t', 'https://api.example.com/covers/{}', '--save', 'covers/{}.jpg', '--dry-run'], { cwd: dir });
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { line: number; save?: string; error: { code: string } | null });
  assert.deepEqual(
    lines.map((line) => [line.line, line.save ?? null, line.error?.code ?? null]),
    [
      [1, 'covers/1.jpg', null],
      [2, null, 'SAVE_PATH_REFUSED'],
      [3, null, 'SAVE_PATH_REFUSED'],
    ],
  );
  assert.equal(existsSync(join(dir, 'covers')), false);
});

test('#28: flags that cannot go with --save, and bad values, are one sentence and exit 2', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'ids.txt', ['1']);
  const base = [input, '-t', 'http://127.0.0.1:9/items/{}'];
  assertUsageError(await runCli([...base, '--save', 'covers/{}.jpg', '--max-filesize', 'lots']), /--max-filesize.*Expected a size/);
  assertUsageError(await runCli([...base, '--max-filesize', '10M']), /--max-filesize goes with --save/);
  assertUsageError(await runCli([...base, '--save', 'covers/all.jpg']), /placeholder/);
  assertUsageError(await runCli([...base, '--save', 'covers/{}.jpg', '--paginate']), /--paginate makes a record per page/);
  assertUsageError(await runCli([...base, '--save', 'covers/{}.jpg', '--redis', 'redis://127.0.0.1:9', '--name', 'x']), /--save is not supported with --redis/);
  writeFileSync(join(dir, 'tokens.csv'), 'token\nabc\n');
  const secret = await runCli([join(dir, 'tokens.csv'), '-t', 'http://127.0.0.1:9/me', '-H', 'Authorization: Bearer {token}', '--save', 'x/{token}.bin']);
  assertUsageError(secret, /--save uses \{token\}, which fills a secret/);
  assert.doesNotMatch(secret.stderr, /abc/);
});

test('#28: a save directory that cannot be made stops the run before anything is sent (exit 74)', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'taken'), 'a file');
  const input = writeLines(dir, 'ids.txt', ['1']);
  const result = await runCli([input, '-t', `${server.url}/file/{}`, '--save', 'taken/{}.bin', '-q'], { cwd: dir });
  assert.equal(result.code, 74, result.stderr);
  assert.match(result.stderr, /^ratefetch: cannot make the --save directory .*taken/);
  assert.equal(server.hits.length, 0);
});
