import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GLOBAL_BUCKET, TokenBucketLimiter, hostBucket, type Clock } from '../../src/rate/limiter.ts';

/** A clock that only moves when told to. */
function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => (now += ms),
  };
}

/**
 * Takes from `buckets` as the start gate does: when refused, waits (in virtual time) until the
 * time tryTake named and asks again. Returns the waits, so a test asserts the scheduled delays.
 */
function takeWhenAllowed(limiter: TokenBucketLimiter, clock: ReturnType<typeof fakeClock>, buckets: readonly string[]): number[] {
  const waits: number[] = [];
  for (;;) {
    const result = limiter.tryTake(buckets);
    if (result.ok) return waits;
    const waitMs = result.retryAtMs - clock.now();
    assert.ok(waitMs > 0, `a refusal names a time ahead, got ${waitMs} ms`);
    waits.push(waitMs);
    clock.advance(waitMs);
  }
}

test('a bucket with no rate set never holds anything back', () => {
  const limiter = new TokenBucketLimiter(fakeClock());
  for (let i = 0; i < 1000; i++) assert.deepEqual(limiter.tryTake([GLOBAL_BUCKET, hostBucket('a:80')]), { ok: true });
});

test('rps 5 with burst 1 spaces starts 200 ms apart', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate(GLOBAL_BUCKET, 5, 1);
  assert.deepEqual(limiter.tryTake([GLOBAL_BUCKET]), { ok: true });
  const refused = limiter.tryTake([GLOBAL_BUCKET]);
  assert.deepEqual(refused, { ok: false, retryAtMs: clock.now() + 200 });
  clock.advance(199);
  assert.equal(limiter.tryTake([GLOBAL_BUCKET]).ok, false);
  clock.advance(1);
  assert.equal(limiter.tryTake([GLOBAL_BUCKET]).ok, true);
});

test('0.5 rps: one start every 2 s', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate(GLOBAL_BUCKET, 0.5, 1);
  limiter.tryTake([GLOBAL_BUCKET]);
  assert.deepEqual(limiter.tryTake([GLOBAL_BUCKET]), { ok: false, retryAtMs: clock.now() + 2000 });
});

test('starts in any window never exceed burst + rps × W, at 0.5, 20 and 5,000 rps', () => {
  for (const [rps, burst] of [
    [0.5, 1],
    [20, 1],
    [20, 4],
    [5000, 100],
  ] as const) {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter(clock);
    limiter.setRate(GLOBAL_BUCKET, rps, burst);
    const starts: number[] = [];
    const n = Math.min(2000, Math.ceil(rps * 20) + burst);
    for (let i = 0; i < n; i++) {
      takeWhenAllowed(limiter, clock, [GLOBAL_BUCKET]);
      starts.push(clock.now());
    }
    for (const windowMs of [1, 10, 100, 1000, 5000]) {
      let most = 0;
      for (let i = 0, j = 0; i < starts.length; i++) {
        while (starts[i]! - starts[j]! >= windowMs) j++;
        most = Math.max(most, i - j + 1);
      }
      assert.ok(most <= burst + (rps * windowMs) / 1000 + 1e-9, `rps ${rps} burst ${burst}: ${most} starts in ${windowMs} ms`);
    }
  }
});

test('a request draws from every bucket it names; the slowest decides', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate(GLOBAL_BUCKET, 100, 1);
  limiter.setRate(hostBucket('a:80'), 2, 1);
  assert.equal(limiter.tryTake([GLOBAL_BUCKET, hostBucket('a:80')]).ok, true);
  clock.advance(10);
  assert.deepEqual(limiter.tryTake([GLOBAL_BUCKET, hostBucket('a:80')]), { ok: false, retryAtMs: clock.now() + 490 });
  // A refused take takes nothing: the global bucket still has its token for host b.
  assert.equal(limiter.tryTake([GLOBAL_BUCKET, hostBucket('b:80')]).ok, true);
});

test('#8: a paused bucket starts nothing until the pause ends, then resumes empty (no burst)', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  const host = hostBucket('api:443');
  limiter.setRate(host, 10, 5);
  const until = clock.now() + 3000;
  limiter.pause(host, until);
  assert.equal(limiter.pausedUntil(host), until);
  assert.deepEqual(limiter.tryTake([GLOBAL_BUCKET, host]), { ok: false, retryAtMs: until });
  clock.advance(2999);
  assert.equal(limiter.tryTake([host]).ok, false);
  clock.advance(1);
  assert.equal(limiter.tryTake([host]).ok, true, 'one start at the pause end');
  // Three seconds of pause earned no burst: the next start waits a full interval.
  assert.deepEqual(limiter.tryTake([host]), { ok: false, retryAtMs: clock.now() + 100 });
  assert.equal(limiter.pausedUntil(host), 0);
});

test('#8: a pause on one host leaves other hosts alone', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.pause(hostBucket('a:80'), clock.now() + 5000);
  assert.equal(limiter.tryTake([GLOBAL_BUCKET, hostBucket('a:80')]).ok, false);
  assert.equal(limiter.tryTake([GLOBAL_BUCKET, hostBucket('b:80')]).ok, true);
});

test('a shorter pause does not cut a longer one short', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.pause('h', clock.now() + 5000);
  limiter.pause('h', clock.now() + 1000);
  assert.equal(limiter.pausedUntil('h'), clock.now() + 5000);
});

test('a very short pause grants no token the rate would not have', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate('h', 1, 1);
  assert.equal(limiter.tryTake(['h']).ok, true);
  limiter.pause('h', clock.now() + 10);
  const result = limiter.tryTake(['h']);
  assert.deepEqual(result, { ok: false, retryAtMs: clock.now() + 1000 });
});

test('setRate changes the pace at run time', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate('h', 1, 1);
  limiter.tryTake(['h']);
  limiter.setRate('h', 100, 1);
  clock.advance(10);
  assert.equal(limiter.tryTake(['h']).ok, true);
});

test('a refused take names the scheduled delay, and asking again then succeeds', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate('h', 4, 1);
  assert.deepEqual(takeWhenAllowed(limiter, clock, ['h']), []);
  assert.deepEqual(takeWhenAllowed(limiter, clock, ['h']), [250]);
});

test('#24: a bucket earns no burst before its first start, then earns it in a lull', () => {
  const clock = fakeClock();
  const limiter = new TokenBucketLimiter(clock);
  limiter.setRate(GLOBAL_BUCKET, 10, 5);
  clock.advance(5_000); // set-up, connections opening: no start yet
  assert.equal(limiter.tryTake([GLOBAL_BUCKET]).ok, true);
  assert.deepEqual(limiter.tryTake([GLOBAL_BUCKET]), { ok: false, retryAtMs: clock.now() + 100 }, 'the run starts at the rate');
  clock.advance(1_000); // a lull once started: the burst is earned
  for (let i = 0; i < 5; i++) assert.equal(limiter.tryTake([GLOBAL_BUCKET]).ok, true, `start ${i + 1} of the burst`);
  assert.equal(limiter.tryTake([GLOBAL_BUCKET]).ok, false);
});
