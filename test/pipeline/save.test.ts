// Issue #28 part 3, bodies to files (--save), through the library over real HTTP: each ok body
// written to its own file with the bytes the server sent (the fixture's /file/:id is seeded by
// the id, so the test knows them), paths that would leave the save directory refused with no
// request, --max-filesize, bodies cut short, retries and interrupts leaving no temporary file,
// and what --resume finds on disk.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchAll, type FetchRecord, type InputItem } from '../../src/index.js';
import { fileBytes, fileSha256 } from '../../fixtures/files.js';
import type { FixtureServer } from '../../fixtures/server.js';
import { FAST, assertOneRecordPerInput, collect, hitsTo, lineNumbers, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 30_000 };

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-save-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Items with an `id` (and the other fields given) for a template. */
function items(rows: Array<Record<string, string>>): InputItem[] {
  return rows.map((fields, i) => ({ line: i + 1, text: fields.id ?? '', fields }));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every file under `dir`, temporary ones included, relative. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath: string; isFile(): boolean }>)
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

const temps = (dir: string): string[] => (existsSync(dir) ? filesUnder(dir).filter((name) => name.includes('.ratefetch-tmp-')) : []);

function get(records: readonly FetchRecord[], line: number): FetchRecord {
  const record = records.find((r) => r.line === line);
  assert.ok(record, `a record for line ${line}`);
  return record;
}

const fileTemplate = (server: FixtureServer, query = 'size={size}') => `${server.url}/file/{id}?${query}`;

test('#28: each ok body goes to its own file, bytes and SHA-256 as sent; the record carries the path, not the body', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const sizes = { a: 1, b: 70_000, c: 3_000_000, empty: 0 };
  const rows = Object.entries(sizes).map(([id, size]) => ({ id, size: String(size) }));
  const { records } = await run(items(rows), { template: fileTemplate(server), save: `${dir}/covers/{id}.bin`, concurrency: 3 });

  assertOneRecordPerInput(records, lineNumbers(rows.length));
  for (const [i, [id, size]] of Object.entries(sizes).entries()) {
    const record = get(records, i + 1);
    const path = `${dir}/covers/${id}.bin`;
    assert.equal(record.ok, true, JSON.stringify(record.error));
    assert.deepEqual(record.saved, { path, bytes: size, sha256: fileSha256(id, size) });
    assert.equal(record.body, null);
    assert.equal(record.bodyEncoding, 'none');
    assert.equal(record.bytes, size);
    assert.equal(record.fromFile, undefined);
    assert.deepEqual(readFileSync(path), fileBytes(id, size));
  }
  assert.deepEqual(filesUnder(dir), ['covers/a.bin', 'covers/b.bin', 'covers/c.bin', 'covers/empty.bin'], 'no temporary file is left');
});

test('#28: a body larger than --max-body is saved whole (no --max-body for files), decoded when gzipped', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const size = 20 * 1024 * 1024;
  const { records } = await run(
    items([
      { id: 'big', query: `size=${size}` },
      { id: 'zipped', query: 'size=300000&gzip=1' },
    ]),
    { template: `${server.url}/file/{id}?{query:raw}`, save: `${dir}/{id}`, maxBodyBytes: 1024 * 1024 },
  );
  assertOneRecordPerInput(records, [1, 2]);
  assert.deepEqual(get(records, 1).saved, { path: `${dir}/big`, bytes: size, sha256: fileSha256('big', size) });
  assert.equal(get(records, 1).body, null, 'the record holds no body');
  assert.equal(sha256(`${dir}/big`), fileSha256('big', size));
  assert.deepEqual(get(records, 2).saved, { path: `${dir}/zipped`, bytes: 300_000, sha256: fileSha256('zipped', 300_000) });
  assert.deepEqual(readFileSync(`${dir}/zipped`), fileBytes('zipped', 300_000), 'the file holds the body decoded');
});

test('#28: a not-ok answer keeps its body in the record, as without --save, and writes nothing', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const { records } = await run(items([{ id: 'gone', size: '40' }]), {
    template: `${server.url}/file/{id}?size={size}&status=404`,
    save: `${dir}/{id}.bin`,
  });
  const record = get(records, 1);
  assert.equal(record.ok, false);
  assert.equal(record.error?.code, 'HTTP_STATUS');
  assert.equal(record.saved, undefined);
  assert.deepEqual(Buffer.from(record.body as string, 'base64'), fileBytes('gone', 40));
  assert.deepEqual(filesUnder(dir), []);
});

test('#28: --expect-status decides what is saved: a listed 404 is ok and saved', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const { records } = await run(items([{ id: 'x', size: '10' }]), {
    template: `${server.url}/file/{id}?size={size}&status=404`,
    save: `${dir}/{id}.bin`,
    expectStatus: '200,404',
  });
  assert.equal(get(records, 1).ok, true);
  assert.equal(get(records, 1).saved?.sha256, fileSha256('x', 10));
});

test('#28: paths that would leave the save directory are refused with a clear record, and nothing is sent for them', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const values = ['ok', 'a/b', '..', '.', '', 'x\u0000y', 'a\\b', '/etc/passwd', 'line\nbreak', 'ok'];
  const { records } = await run(
    values.map((id, i) => ({ line: i + 1, text: id, fields: { id, dot: '.' } })),
    { template: `${server.url}/file/x?size=10&n={id}`, save: `${dir}/out/{id}.bin` },
  );
  assertOneRecordPerInput(records, lineNumbers(values.length));
  assert.equal(get(records, 1).ok, true);
  const reasons = records
    .filter((r) => r.line > 1)
    .sort((a, b) => a.line - b.line)
    .map((r) => [r.line, r.error?.code, r.final, r.attempts, r.error?.message.replace(/^line \d+: --save path refused: /, '')]);
  assert.deepEqual(reasons, [
    [2, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} ("a/b") holds "/"'],
    [3, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} is ".."'],
    [4, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} is "."'],
    [5, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} is empty'],
    [6, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} ("x\\u0000y") holds a control character'],
    [7, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} ("a\\\\b") holds "\\"'],
    [8, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} ("/etc/passwd") holds "/"'],
    [9, 'SAVE_PATH_REFUSED', true, 0, 'the value of {id} ("line\\nbreak") holds a control character'],
    [10, 'SAVE_PATH_REFUSED', true, 0, `${dir}/out/ok.bin is line 1's file already`],
  ]);
  assert.equal(hitsTo(server, '/file/').length, 1, 'only line 1 was fetched');
  assert.deepEqual(filesUnder(dir), ['out/ok.bin']);
});

test('#28: a value that makes a file name longer than 255 bytes is refused', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const { records } = await run([{ line: 1, text: '', fields: { id: 'é'.repeat(130) } }], {
    template: `${server.url}/file/x`,
    save: `${dir}/{id}.bin`,
  });
  assert.equal(get(records, 1).error?.code, 'SAVE_PATH_REFUSED');
  assert.match(get(records, 1).error!.message, /the values make a name of 264 bytes, more than 255/);
  assert.equal(server.hits.length, 0);
});

test('#28: a symbolic link in the save directory that leads out of it is refused before anything is sent', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const outside = tempDir(t);
  mkdirSync(join(dir, 'save'));
  symlinkSync(outside, join(dir, 'save', 'escape'));
  mkdirSync(join(dir, 'save', 'inside'));
  const { records } = await run(
    items([
      { id: 'escape', name: 'f' },
      { id: 'inside', name: 'g' },
    ]),
    { template: `${server.url}/file/{name}?size=5`, save: `${dir}/save/{id}/deeper/{name}.bin` },
  );
  assert.equal(get(records, 1).error?.code, 'SAVE_PATH_REFUSED');
  assert.match(get(records, 1).error!.message, /leads out of the save directory through a symbolic link/);
  assert.equal(get(records, 1).attempts, 0);
  assert.equal(get(records, 2).ok, true, 'directories are made as needed');
  assert.deepEqual(readdirSync(outside), [], 'nothing was made outside');
  assert.deepEqual(
    hitsTo(server, '/file/').map((hit) => hit.path),
    ['/file/g?size=5'],
  );
});

test('#28: --max-filesize stops a larger download, told by Content-Length or counted as it decodes; no file, no temp', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const { records } = await run(
    items([
      { id: 'small', query: 'size=1000' },
      { id: 'long', query: 'size=2000000' },
      { id: 'zipped', query: 'size=2000000&gzip=1' },
    ]),
    { template: `${server.url}/file/{id}?{query:raw}`, save: `${dir}/{id}.bin`, maxFileBytes: 1024 * 1024 },
  );
  assert.equal(get(records, 1).ok, true);
  for (const line of [2, 3]) {
    const record = get(records, line);
    assert.equal(record.error?.code, 'FILE_TOO_LARGE');
    assert.equal(record.final, true, 'the same file would be too large again');
    assert.equal(record.attempts, 1);
    assert.match(record.error!.message, /body larger than 1 MiB \(--max-filesize\)/);
  }
  assert.deepEqual(filesUnder(dir), ['small.bin']);
});

test('#28: a body cut short leaves no file and no temporary file; a retry writes the file afresh', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const { records } = await run(
    items([
      { id: 'always', query: 'size=400000&cut=150000' },
      { id: 'once', query: 'size=400000&cut=150000&cutTimes=1' },
    ]),
    { template: `${server.url}/file/{id}?{query:raw}`, save: `${dir}/{id}.bin`, retries: 2 },
  );
  const cut = get(records, 1);
  assert.equal(cut.ok, false);
  assert.equal(cut.error?.code, 'CONNECTION_RESET');
  assert.equal(cut.attempts, 3);
  const retried = get(records, 2);
  assert.equal(retried.ok, true);
  assert.equal(retried.attempts, 2);
  assert.equal(retried.saved?.sha256, fileSha256('once', 400_000));
  assert.equal(sha256(`${dir}/once.bin`), fileSha256('once', 400_000));
  assert.deepEqual(filesUnder(dir), ['once.bin'], 'neither the cut body nor a temporary file is left');
});

test('#28: a file that cannot be put in place (a directory holds its name) is SAVE_FAILED, not final, and leaves no temp', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  mkdirSync(join(dir, 'taken.bin', 'inside'), { recursive: true });
  writeFileSync(join(dir, 'notadir'), 'a file where a directory should be');
  const { records } = await run(items([{ id: 'taken' }]), { template: `${server.url}/file/{id}?size=100000`, save: `${dir}/{id}.bin` });
  const record = get(records, 1);
  assert.equal(record.error?.code, 'SAVE_FAILED');
  assert.equal(record.final, false, 'a later run may find room');
  assert.equal(record.attempts, 1, 'a full disk is not retried at once');
  assert.match(record.error!.message, /cannot write .*taken\.bin/);
  assert.deepEqual(temps(dir), []);

  const second = await run(items([{ id: 'y', sub: 'notadir' }]), { template: `${server.url}/file/{id}?size=10`, save: `${dir}/{sub}/{id}.bin` });
  assert.equal(get(second.records, 1).error?.code, 'SAVE_FAILED');
  assert.match(get(second.records, 1).error!.message, /cannot make the directory of/);
  assert.equal(get(second.records, 1).attempts, 0, 'nothing was sent');
});

test('#28: a download interrupted midway, or timed out, leaves no temporary file', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const stop = new AbortController();
  const records: FetchRecord[] = [];
  const slow = 'size=3000000&chunkMs=40';
  for await (const record of fetchAll(
    items([
      { id: 'a', query: slow },
      { id: 'b', query: slow },
    ]),
    { ...FAST, template: `${server.url}/file/{id}?{query:raw}`, save: `${dir}/{id}.bin`, graceMs: 0 },
    {
      signal: stop.signal,
      onEvent: (event) => {
        if (event.type === 'attempt-start' && event.line === 2) setTimeout(() => stop.abort('test'), 300);
      },
    },
  )) {
    records.push(record);
  }
  assertOneRecordPerInput(records, [1, 2]);
  assert.ok(
    records.every((r) => r.error?.code === 'INTERRUPTED'),
    JSON.stringify(records.map((r) => r.error)),
  );
  assert.deepEqual(filesUnder(dir), [], 'the temporary files went with the interrupted downloads');

  const timedOut = await run(items([{ id: 'c', query: slow }]), {
    template: `${server.url}/file/{id}?{query:raw}`,
    save: `${dir}/{id}.bin`,
    timeoutMs: 300,
    retries: 0,
  });
  assert.equal(get(timedOut.records, 1).error?.code, 'TIMEOUT');
  assert.deepEqual(filesUnder(dir), []);
});

test('#28 resume: a file already whole at its path gets its record from the file, without a request; a stale temp is removed', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'found.bin'), fileBytes('found', 5000));
  writeFileSync(join(dir, 'changed.bin'), 'an earlier record saw another size here');
  // A process that has ended: its pid names the temporary file it "left".
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const stale = join(dir, `.lost.bin.ratefetch-tmp-${gone}-3`);
  writeFileSync(stale, 'half a body');
  const { records } = await run(
    items([{ id: 'found' }, { id: 'missing' }, { id: 'changed' }]),
    { template: `${server.url}/file/{id}?size=5000`, save: `${dir}/{id}.bin` },
    { savedFiles: { isChanged: (path) => path.endsWith('changed.bin') } },
  );
  assertOneRecordPerInput(records, [1, 2, 3]);
  const found = get(records, 1);
  assert.equal(found.ok, true);
  assert.equal(found.final, true);
  assert.equal(found.fromFile, true);
  assert.equal(found.status, null, 'nothing was asked of the server');
  assert.equal(found.attempts, 0);
  assert.deepEqual(found.saved, { path: `${dir}/found.bin`, bytes: 5000, sha256: fileSha256('found', 5000) });
  assert.equal(get(records, 2).saved?.sha256, fileSha256('missing', 5000));
  assert.equal(get(records, 3).fromFile, undefined, 'a file an earlier record saw with another size is fetched again');
  assert.equal(sha256(join(dir, 'changed.bin')), fileSha256('changed', 5000));
  assert.deepEqual(
    hitsTo(server, '/file/')
      .map((hit) => hit.path.split('?')[0])
      .sort(),
    ['/file/changed', '/file/missing'],
  );
  assert.equal(existsSync(stale), false, 'the stale temporary file was removed');
});

test('#28: without --resume a file already there is fetched again and replaced', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.bin'), 'old');
  const records = await collect(fetchAll(items([{ id: 'a' }]), { ...FAST, template: `${server.url}/file/{id}?size=64`, save: `${dir}/{id}.bin` }));
  assert.equal(records[0]?.fromFile, undefined);
  assert.deepEqual(readFileSync(join(dir, 'a.bin')), fileBytes('a', 64));
});

test('#28: the body saved is the one at the end of the redirects', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const { records } = await run(items([{ id: 'moved' }]), {
    template: `${server.url}/redirect-to?url=${encodeURIComponent('/file/moved?size=90000')}&n={id}`,
    save: `${dir}/{id}.bin`,
  });
  const record = get(records, 1);
  assert.equal(record.ok, true, JSON.stringify(record.error));
  assert.match(record.finalUrl ?? '', /\/file\/moved\?size=90000$/);
  assert.equal(record.saved?.sha256, fileSha256('moved', 90_000));
  assert.deepEqual(filesUnder(dir), ['moved.bin'], 'the redirect body went nowhere');
});

test('#28: a save directory under /proc fails at once (Node 20 recursive mkdir would spin there for ever)', {
  ...TEST_TIMEOUT,
  skip: existsSync('/proc/self') ? false : 'no /proc here',
}, async () => {
  await assert.rejects(
    collect(fetchAll([{ line: 1, text: 'x', fields: { id: 'x' } }], { ...FAST, template: 'http://127.0.0.1:9/{id}', save: '/proc/ratefetch-save/{id}' })),
    /cannot make the --save directory \/proc\/ratefetch-save: no such file or directory/,
  );
});
