// src/output/ndjson-sink.ts: whole lines, one write per turn of the event loop, backpressure,
// and the fsync cadence for a file we own (every N records or every T ms, whichever first, and
// at close). fsync itself is counted, not mocked away: the counting wrapper still syncs the real file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, fsync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { createNdjsonSink } from '../../src/output/ndjson-sink.ts';

/** What these tests write: the line and sync handling do not depend on a whole record. */
type Line = { line: number; ok?: boolean };

function openFile(t: TestContext): { path: string; fd: number; stream: ReturnType<typeof createWriteStream> } {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-sink-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ndjson');
  const fd = openSync(path, 'a');
  return { path, fd, stream: createWriteStream(path, { fd }) };
}

/** A real fsync that also counts its calls and remembers the bytes on disk at each. */
function countingFsync(path: string): { calls: number[]; sizes: number[]; fsync: (fd: number) => Promise<void> } {
  const calls: number[] = [];
  const sizes: number[] = [];
  return {
    calls,
    sizes,
    fsync: (fd) =>
      new Promise((resolve, reject) => {
        calls.push(fd);
        sizes.push(readFileSync(path).length);
        fsync(fd, (error) => (error ? reject(error) : resolve()));
      }),
  };
}

test('#12: a file is synced every N records and at close, and holds whole lines', async (t) => {
  const { path, fd, stream } = openFile(t);
  const counter = countingFsync(path);
  const sink = createNdjsonSink<Line>(stream, path, true, { everyRecords: 3, everyMs: 60_000, fsync: counter.fsync });
  for (let line = 1; line <= 7; line += 1) {
    await sink.write({ line, ok: true });
    await sleep(5); // a record per turn of the event loop: a write each
  }
  await sink.close();
  assert.deepEqual(counter.calls, [fd, fd, fd], 'after the 3rd and 6th record, and the 7th at close');
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).line),
    [1, 2, 3, 4, 5, 6, 7],
  );
  // Each sync came after the lines it covers were in the file.
  const lineBytes = Buffer.byteLength(`${lines[0]}\n`);
  assert.ok(counter.sizes[0]! >= 3 * lineBytes, `first sync saw ${counter.sizes[0]} bytes`);
});

test('#12: a record that comes alone is synced within the interval, without waiting for close', async (t) => {
  const { path, stream } = openFile(t);
  const counter = countingFsync(path);
  const sink = createNdjsonSink<Line>(stream, path, true, { everyRecords: 1000, everyMs: 30, fsync: counter.fsync });
  await sink.write({ line: 1 });
  const deadline = Date.now() + 2_000;
  while (counter.calls.length === 0 && Date.now() < deadline) await sleep(10);
  assert.equal(counter.calls.length, 1, 'synced by the timer');
  await sink.close();
  assert.equal(counter.calls.length, 1, 'nothing new to sync at close');
});

test('#12: the fd of a file the sink owns is found by itself; a pipe is never synced', async (t) => {
  const { path, fd, stream } = openFile(t);
  const counter = countingFsync(path);
  const sink = createNdjsonSink<Line>(stream, path, true, { fsync: counter.fsync });
  await sink.write({ line: 1 });
  await sink.close();
  assert.deepEqual(counter.calls, [fd]);

  const pipe = new PassThrough();
  pipe.resume();
  const piped = countingFsync(path);
  const pipeSink = createNdjsonSink<Line>(pipe, 'stdout', false, { fsync: piped.fsync });
  await pipeSink.write({ line: 1 });
  await pipeSink.close();
  assert.deepEqual(piped.calls, []);
});

/** A stream that keeps each chunk it is handed, and finishes each write on the next turn. */
function chunkRecorder(highWaterMark = 16 * 1024): { chunks: string[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      setImmediate(done);
    },
  });
  return { chunks, stream };
}

test('#24: the records of one turn go out in one write of whole lines, in order', async () => {
  const { chunks, stream } = chunkRecorder();
  const sink = createNdjsonSink<Line>(stream, 'stdout', false);
  for (let line = 1; line <= 5; line += 1) assert.equal(sink.write({ line }), undefined, 'nothing to wait for');
  assert.deepEqual(chunks, [], 'nothing written before the turn ends');
  await nextTurn();
  for (let line = 6; line <= 7; line += 1) sink.write({ line });
  await sink.close();
  const lines = (...numbers: number[]) => numbers.map((line) => `{"line":${line}}\n`).join('');
  assert.deepEqual(
    chunks.filter((chunk) => chunk !== ''), // close() writes '' to wait for the writes before it
    [lines(1, 2, 3, 4, 5), lines(6, 7)],
  );
});

test('#24: a slow output holds the writer back: write returns a promise to wait for, and every line arrives whole and once', async () => {
  const { chunks, stream } = chunkRecorder(256);
  const sink = createNdjsonSink<Line & { pad: string }>(stream, 'stdout', false);
  const pad = 'x'.repeat(100);
  let waits = 0;
  for (let line = 1; line <= 2_000; line += 1) {
    const behind = sink.write({ line, pad });
    if (behind !== undefined) {
      waits += 1;
      await behind;
    }
  }
  await sink.close();
  assert.ok(waits > 0, 'the writer waited for the output at least once');
  const text = chunks.join('');
  assert.ok(text.endsWith('\n'));
  assert.ok(
    chunks.every((chunk) => chunk === '' || chunk.endsWith('\n')),
    'every write ends at the end of a line',
  );
  assert.deepEqual(
    text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).line),
    Array.from({ length: 2_000 }, (_, i) => i + 1),
  );
});

test('#24: a closed pipe turns the next write into OutputClosed', async () => {
  const stream = new Writable({
    write(_chunk, _encoding, done) {
      done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const sink = createNdjsonSink<Line>(stream, 'stdout', false);
  sink.write({ line: 1 });
  await nextTurn();
  await nextTurn();
  assert.throws(() => sink.write({ line: 2 }), { name: 'OutputClosed' });
  await assert.rejects(sink.close(), { name: 'OutputClosed' });
});
