// src/sinks/ndjson.ts: whole lines, and the fsync cadence for a file we own (every N records
// or every T ms, whichever first, and at close). fsync itself is counted, not mocked away:
// the counting wrapper still syncs the real file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, fsync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
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
  for (let line = 1; line <= 7; line += 1) await sink.write({ line, ok: true });
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
