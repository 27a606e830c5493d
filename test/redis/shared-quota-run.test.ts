// Quota headers shared across worker processes (issue #25), as users run it: a coordinator and
// two `ratefetch worker` processes against a real server whose 1 s windows hold 10 requests
// from all of them together and say so in X-RateLimit headers. Counted from the server's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOneRecordPerLine, parseRecords, range, runCli, spawnCli, startServer, tempDir, waitFor, writeLines } from '../cli/helpers.ts';
import { NO_REDIS, startRedisServer } from './redis-server.ts';

test('#25: three workers sharing one quota in 1 s windows of 10 draw no 429, with a record per input; status shows the shared count', {
  skip: NO_REDIS,
  timeout: 90_000,
}, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t, { limit: { limit: 10, windowMs: 1_000, headers: 'x-ratelimit' } });
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(80).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const workers = [0, 1].map(() => spawnCli(['worker', '--redis', redis.socket, '--name', 'quota', '-c', '4', '--wait', '30']));
  for (const worker of workers) await waitFor(() => worker.stderrSoFar().includes('waiting up to'), 'the workers to wait for the run');
  const running = spawnCli([input, '--redis', redis.socket, '--name', 'quota', '-c', '4', '-o', out]);
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 5, 'a few records');
  // Mid-run, status shows the shared count.
  const status = await runCli(['status', '--redis', redis.socket, '--name', 'quota', '--json']);
  const { quotas } = JSON.parse(status.stdout) as { quotas: Array<{ bucket: string; left: number; limit: number | null }> };
  assert.deepEqual(
    quotas.map(({ bucket, limit }) => ({ bucket, limit })),
    [{ bucket: `quota:host:${new URL(server.url).host}`, limit: 10 }],
  );
  const coordinator = await running.result;
  assert.equal(coordinator.code, 0, coordinator.stderr);
  for (const worker of workers) assert.equal((await worker.result).code, 0);
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8')), range(80));
  assert.equal(server.hits.filter((hit) => hit.status === 429).length, 0, 'no request beyond what the server said remained');
  assert.equal(server.hits.length, 80, 'each input fetched once');
  const fetchedBy = workers.map((worker, i) => [i, /(\d+) records handed back/.exec(worker.stderrSoFar())?.[1]]);
  assert.ok(
    fetchedBy.every(([, n]) => Number(n) > 0),
    `every worker process fetched some: ${JSON.stringify(fetchedBy)}`,
  );
});

test('#25: with the reset in seconds from now, which names a 1 s window only to within a second, three workers still draw no 429', {
  skip: NO_REDIS,
  timeout: 90_000,
}, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t, { limit: { limit: 10, windowMs: 1_000, headers: 'x-ratelimit', reset: 'delta-seconds' } });
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(40).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const workers = [0, 1].map(() => spawnCli(['worker', '--redis', redis.socket, '--name', 'delta', '-c', '4', '--wait', '30']));
  for (const worker of workers) await waitFor(() => worker.stderrSoFar().includes('waiting up to'), 'the workers to wait for the run');
  const coordinator = await runCli([input, '--redis', redis.socket, '--name', 'delta', '-c', '4', '-o', out], { timeoutMs: 60_000 });
  assert.equal(coordinator.code, 0, coordinator.stderr);
  for (const worker of workers) assert.equal((await worker.result).code, 0);
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8')), range(40));
  assert.equal(server.hits.filter((hit) => hit.status === 429).length, 0);
  assert.equal(server.hits.length, 40);
});
