// A worker process for the queue tests: fetches each input's URL (the item's text) from the test
// server and pushes a small record. Says "ready" once listening and "took LINE" per job, so a test
// knows when it holds jobs before it kills it.
//
//   node --import tsx test/redis/queue-worker.ts SOCKET NAME CONCURRENCY
import { request } from 'undici';
import { startQueueWorker } from '../../src/run/redis-queue.ts';
import type { FetchRecord } from '../../src/record/record.ts';

const [socket, name, concurrency = '4'] = process.argv.slice(2);
startQueueWorker({ redis: socket!, name: name!, stalledIntervalMs: 1_000, lockDurationMs: 2_000 }, Number(concurrency), async ({ line, item }) => {
  process.stdout.write(`took ${line}\n`);
  const url = item.text;
  const response = await request(url);
  await response.body.text();
  return { line, url, ok: response.statusCode === 200, final: true, status: response.statusCode, error: null } as unknown as FetchRecord;
});
process.stdout.write('ready\n');
