import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisLimiter } from '../../src/rate/shared-limiter.ts';
import { NO_REDIS, startRedisServer } from './redis-server.ts';

// Decisions in virtual time (the tests pass `now`); one test on the server's own clock.
const T0 = 1_000_000;

test('#25: a shared bucket spaces starts at its rate, and a refusal says when on the server clock', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const limiter = new RedisLimiter(redis.client(), 'r1');
  await limiter.setRate('*', 10, 1);
  assert.deepEqual(await limiter.tryTake(['*'], T0), { ok: true, atMs: T0, seqs: [] });
  assert.deepEqual(await limiter.tryTake(['*'], T0 + 50), { ok: false, retryAtMs: T0 + 100, nowMs: T0 + 50 });
  assert.deepEqual(await limiter.tryTake(['*'], T0 + 100), { ok: true, atMs: T0 + 100, seqs: [] });
});

test('#25: workers on separate connections share one bucket: no burst before the first start, a burst earned in a lull', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const [a, b] = [new RedisLimiter(redis.client(), 'r2'), new RedisLimiter(redis.client(), 'r2')];
  await a.setRate('*', 10, 5);
  assert.equal((await a.tryTake(['*'], T0)).ok, true);
  assert.deepEqual(await b.tryTake(['*'], T0 + 1), { ok: false, retryAtMs: T0 + 100, nowMs: T0 + 1 }, 'the run starts at the rate');
  const afterLull = T0 + 2_000;
  const burst = [];
  for (let i = 0; i < 6; i++) burst.push((await (i % 2 === 0 ? a : b).tryTake(['*'], afterLull)).ok);
  assert.deepEqual(burst, [true, true, true, true, true, false]);
});

test('#25: a start takes from every bucket it names or from none', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const limiter = new RedisLimiter(redis.client(), 'r3');
  await limiter.setRate('*', 100, 1);
  await limiter.setRate('host:a', 2, 1);
  assert.equal((await limiter.tryTake(['*', 'host:a'], T0)).ok, true);
  const refused = await limiter.tryTake(['*', 'host:a'], T0 + 10);
  assert.deepEqual(refused, { ok: false, retryAtMs: T0 + 500, nowMs: T0 + 10 }, 'the host bucket binds');
  // The refusal took nothing from the run's bucket: another host may start at once.
  assert.equal((await limiter.tryTake(['*', 'host:b'], T0 + 10)).ok, true);
});

test('#25: a pause one worker sets holds every worker until it ends, and the bucket resumes empty', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const [a, b] = [new RedisLimiter(redis.client(), 'r4'), new RedisLimiter(redis.client(), 'r4')];
  await a.setRate('host:a', 10, 5);
  assert.equal((await a.tryTake(['host:a'], T0)).ok, true);
  assert.equal(await a.pause('host:a', 2_000, T0 + 10), T0 + 2_010);
  assert.deepEqual(await b.tryTake(['host:a'], T0 + 1_000), { ok: false, retryAtMs: T0 + 2_010, nowMs: T0 + 1_000 });
  assert.equal((await b.tryTake(['host:a'], T0 + 2_010)).ok, true, 'the first start comes at the end');
  assert.equal((await a.tryTake(['host:a'], T0 + 2_011)).ok, false, 'then at the rate: no burst earned while paused');
  // A shorter pause never cuts a longer one short.
  assert.equal(await b.pause('host:a', 10, T0 + 2_020), T0 + 2_030);
  assert.equal(await a.pause('host:a', 5, T0 + 2_021), T0 + 2_030);
});

test('#25: three workers taking as fast as allowed on the server clock stay within rate + burst in every sliding second', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const workers = [0, 1, 2].map(() => new RedisLimiter(redis.client(), 'r5'));
  await workers[0]!.setRate('*', 50, 2);
  const granted: number[] = [];
  const runFor = async (limiter: RedisLimiter, untilMs: number) => {
    while (Date.now() < untilMs) {
      const take = await limiter.tryTake(['*']);
      if (take.ok) granted.push(take.atMs);
      else await new Promise((resolve) => setTimeout(resolve, Math.max(1, take.retryAtMs - take.nowMs)));
    }
  };
  const until = Date.now() + 1_500;
  await Promise.all(workers.map((limiter) => runFor(limiter, until)));
  granted.sort((x, y) => x - y);
  let most = 0;
  for (let i = 0, j = 0; i < granted.length; i++) {
    while (granted[j]! <= granted[i]! - 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  // Counted on the server clock that decided them, so exact whatever the workers' timers do.
  assert.ok(most <= 52, `${most} starts in one second at 50/s, burst 2`);
  // Wide: the workers' timers may oversleep, but three of them keep the bucket busy.
  assert.ok(granted.length >= 40, `${granted.length} starts in 1.5 s`);
});
