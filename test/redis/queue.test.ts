// The run's inputs through BullMQ on a real Redis, to worker processes that fetch from a real
// server: backpressure on the queue, and one record per input when a worker is killed mid-job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { InputQueue } from '../../src/run/redis-queue.ts';
import type { FetchRecord } from '../../src/record/record.ts';
import { lineNumbers, startServer } from '../helpers.ts';
import { NO_REDIS, type RedisServer, startRedisServer } from './redis-server.ts';

const WORKER = new URL('./queue-worker.ts', import.meta.url).pathname;

/** A worker process; resolves once it listens. `took` lists the lines it started. */
async function startWorker(redis: RedisServer, name: string, concurrency: number) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER, redis.socket, name, String(concurrency)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  redis.closeFirst(() => child.kill('SIGKILL'));
  const took: number[] = [];
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (line === 'ready') ready();
      else if (line.startsWith('took ')) took.push(Number(line.slice(5)));
    }
  });
  await listening;
  return { child, took };
}

/** The first record of each line, as the coordinator keeps them, until `count` lines have one. */
async function collect(queue: InputQueue, count: number): Promise<FetchRecord[]> {
  const records: FetchRecord[] = [];
  const seen = new Set<number>();
  while (records.length < count) {
    const record = await queue.nextRecord(20_000);
    assert.ok(record !== null, `no record within 20 s after ${records.length} of ${count}`);
    if (seen.has(record.line)) continue;
    seen.add(record.line);
    records.push(record);
  }
  return records;
}

test('#25: the coordinator enqueues with backpressure: no more than maxWaiting inputs wait in Redis', { skip: NO_REDIS, timeout: 60_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const queue = new InputQueue({ redis: redis.socket, name: 'bp' });
  redis.closeFirst(() => queue.close());
  const lines = lineNumbers(120);
  let enqueued = 0;
  const enqueuing = (async () => {
    for (const line of lines) {
      await queue.enqueue({ line, item: { line, text: `${server.url}/items/${line}` } }, 20);
      enqueued += 1;
    }
  })();
  const watcher = new Queue('ratefetch-bp', { connection: { path: redis.socket, maxRetriesPerRequest: null } });
  redis.closeFirst(() => watcher.close());
  // No worker yet: the coordinator stops at the bound.
  while (enqueued < 20) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(enqueued, 20);
  assert.equal(await watcher.getWaitingCount(), 20);
  await startWorker(redis, 'bp', 4);
  const records = await collect(queue, 120);
  await enqueuing;
  assert.deepEqual(
    records.map((record) => record.line).sort((a, b) => a - b),
    lines,
  );
  assert.equal(server.countRequests(), 120);
});

test('#25: a worker killed mid-job loses nothing: its jobs come back, and each input has one record', { skip: NO_REDIS, timeout: 60_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const queue = new InputQueue({ redis: redis.socket, name: 'kill' });
  redis.closeFirst(() => queue.close());
  const [doomed, survivor] = [await startWorker(redis, 'kill', 4), await startWorker(redis, 'kill', 4)];
  const lines = lineNumbers(40);
  for (const line of lines) await queue.enqueue({ line, item: { line, text: `${server.url}/delay/300?line=${line}` } }, 1_000);
  while (doomed.took.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
  doomed.child.kill('SIGKILL');
  const records = await collect(queue, 40);
  assert.deepEqual(
    records.map((record) => record.line).sort((a, b) => a - b),
    lines,
    'one record per input',
  );
  assert.ok(records.every((record) => record.ok));
  assert.ok(survivor.took.length > 0);
  // Only the killed worker's jobs may have been fetched twice.
  const fetched = server.hits.map((hit) => Number(new URL(hit.path, server.url).searchParams.get('line')));
  const twice = [...new Set(fetched.filter((line, i) => fetched.indexOf(line) !== i))];
  assert.ok(
    twice.every((line) => doomed.took.includes(line)),
    `fetched twice: ${twice}; the killed worker took ${doomed.took}`,
  );
});
