// Runs that share one rate through a real Redis, fetching from a real server on loopback: two
// runs in this process stand in for two workers (each its own Redis connection and limiter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisLimiter } from '../../src/rate/shared-limiter.ts';
import { FAST, assertOneRecordPerInput, lineNumbers, maxStartsInWindow, run, startServer, startsDuringPauses } from '../helpers.ts';
import { NO_REDIS, startRedisServer } from './redis-server.ts';

test('#25: two runs sharing a limiter in Redis keep to one rate together, as the server counts', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const urls = (prefix: string) => lineNumbers(40).map((i) => `${server.url}/items/${prefix}${i}`);
  const options = { ...FAST, rps: 40, concurrency: 4 };
  const [a, b] = await Promise.all([
    run(urls('a'), options, { shared: new RedisLimiter(redis.client(), 'two-runs') }),
    run(urls('b'), options, { shared: new RedisLimiter(redis.client(), 'two-runs') }),
  ]);
  assertOneRecordPerInput(a.records, lineNumbers(40));
  assertOneRecordPerInput(b.records, lineNumbers(40));
  assert.ok([...a.records, ...b.records].every((record) => record.ok));
  // Each alone may go at 40/s; together they reach 80/s without the shared limiter. The bound
  // is exact on Redis's clock (shared-limiter.test.ts); here, arrival times carry the machine's
  // jitter, so the check is wide: it tells 40/s from 80/s.
  const most = maxStartsInWindow(
    server.hits.map((hit) => hit.t),
    1_000,
  );
  assert.ok(most <= 48, `${most} arrivals in one second for a shared 40/s`);
});

test('#25: a 429 with Retry-After that one run meets pauses the other run too', { skip: NO_REDIS, timeout: 30_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const options = { ...FAST, rps: 20, concurrency: 2 };
  const first = [`${server.url}/flaky/p?fail=1&status=429&retryAfter=1`, ...lineNumbers(9).map((i) => `${server.url}/items/a${i}`)];
  const second = lineNumbers(20).map((i) => `${server.url}/items/b${i}`);
  const [a, b] = await Promise.all([
    run(first, options, { shared: new RedisLimiter(redis.client(), 'pause') }),
    run(second, options, { shared: new RedisLimiter(redis.client(), 'pause') }),
  ]);
  assertOneRecordPerInput(a.records, lineNumbers(10));
  assertOneRecordPerInput(b.records, lineNumbers(20));
  assert.equal(server.count429(), 1);
  // 200 ms of slack at each end for requests already on their way (wide: a loaded machine).
  const during = startsDuringPauses(server.hits, 1_000, 200);
  assert.deepEqual(
    during.map((hit) => hit.path),
    [],
    'no request from either run arrived while the 429 told them to wait',
  );
});
