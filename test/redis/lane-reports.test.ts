// The way to the coordinator's rate controllers through a real Redis (issue #25): a lane's claim
// writes the rate its controller starts at, once; reports reach the coordinator's rate keeper,
// which announces and writes the rate; a run that is gone takes no more reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '../../src/events.ts';
import type { Lane } from '../../src/rate/lanes.ts';
import { systemClock } from '../../src/rate/limiter.ts';
import { RedisLimiter } from '../../src/rate/shared-limiter.ts';
import { reportStreamKey, StreamLaneReporter } from '../../src/run/lane-report-stream.ts';
import { startRateKeeper } from '../../src/run/rate-keeper.ts';
import { NO_REDIS, startRedisServer } from './redis-server.ts';

const lane = { pauseBucket: 'host:api.test', label: 'api.test', ceilingRps: Infinity } as Lane;
const settingsKey = (run: string) => `ratefetch:{${run}}:settings`;
const rateKey = (run: string) => `ratefetch:{${run}}:rate:adaptive:host:api.test`;

test('#25: the first process to open a lane writes the rate its controller starts at; a later one leaves the rate alone', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const client = redis.client();
  const first = new StreamLaneReporter(client, 'claim', systemClock);
  first.opened(lane, { rps: 8, burst: 1 });
  await first.ready(lane.pauseBucket);
  assert.deepEqual(await client.hgetall(rateKey('claim')), { rps: '8', burst: '1' });
  // The coordinator's controller has moved on since; a worker joining late must not undo it.
  await new RedisLimiter(client, 'claim').setRate('adaptive:host:api.test', 15, 2);
  const later = new StreamLaneReporter(redis.client(), 'claim', systemClock);
  later.opened(lane, { rps: 8, burst: 1 });
  await later.ready(lane.pauseBucket);
  assert.deepEqual(await client.hgetall(rateKey('claim')), { rps: '15', burst: '2' });
  assert.equal(first.failure, undefined);
});

test("#25: reports reach the coordinator's controller, which announces --rps auto's start and writes the lane's rate", { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const client = redis.client();
  await client.set(settingsKey('keep'), '{}');
  const events: RunEvent[] = [];
  const keeper = await startRateKeeper(client, new RedisLimiter(client, 'keep'), 'keep', { auto: true, emit: (event) => events.push(event) });
  const reporter = new StreamLaneReporter(redis.client(), 'keep', systemClock);
  reporter.opened(lane, { rps: 8, burst: 1 });
  // Slow start doubles once a quarter second of answers came back clean: 250 ms of them, in virtual order.
  const at = systemClock.now();
  for (let i = 0; i < 8; i++) {
    const startedAt = at + i * 40;
    reporter.started(lane, startedAt);
    reporter.answered(lane, startedAt + 20, { startedAt, arrivedAt: startedAt + 10, status: 200, retryAfterMs: undefined });
  }
  await reporter.close();
  await keeper.close();
  assert.equal(keeper.failure, undefined);
  const rates = events.filter((event) => event.type === 'rate');
  assert.deepEqual(
    rates.map((event) => [event.lane, event.rps, event.reason]),
    [
      ['api.test', 8, 'start'],
      ['api.test', 16, 'clean'],
    ],
  );
  assert.equal((await client.hgetall(rateKey('keep'))).rps, '16');
  assert.equal(await client.xlen(reportStreamKey('keep')), 0, 'the coordinator trims what it read');
});

test('#25: a run that ended whole (its settings gone) takes no more reports: no stream comes back', { skip: NO_REDIS }, async (t) => {
  const redis = await startRedisServer(t);
  const client = redis.client();
  const reporter = new StreamLaneReporter(client, 'gone', systemClock);
  reporter.opened(lane, { rps: 8, burst: 1 });
  reporter.started(lane, systemClock.now());
  await reporter.close();
  assert.equal(reporter.failure, undefined);
  assert.equal(await client.exists(reportStreamKey('gone')), 0);
});
