// The quota counter that workers share in Redis (issue #25, rate/shared-quota.ts): its rules
// decided in virtual time (each call passes `now`) on a real redis-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisLimiter } from '../../src/rate/shared-limiter.ts';
import { COUNTER_POLL_MS } from '../../src/rate/shared-quota.ts';
import { NO_REDIS, startRedisServer } from './redis-server.ts';

const T0 = 1_000_000;
const END = T0 + 1_000; // the window's end, as an absolute reset (X-RateLimit-Reset in epoch seconds) names it
const Q = 'quota:host:a';
const opts = { skip: NO_REDIS };

async function counterOf(t: Parameters<typeof startRedisServer>[0], run: string) {
  const redis = await startRedisServer(t);
  const limiter = new RedisLimiter(redis.client(), run);
  return {
    limiter,
    take: (now: number) => limiter.tryTake([], now, [Q]),
    /** How many starts the counter allows at `now`, taking them. */
    async drain(now: number): Promise<number> {
      let taken = 0;
      while ((await limiter.tryTake([], now, [Q])).ok) taken++;
      return taken;
    },
    /** The answer to take `seq`: `remaining` as the server counted at it, the window ending at `end`. */
    answer: (seq: number, remaining: number, now: number, end = END) =>
      limiter.noteAnswer(Q, seq, { kind: 'quota', remaining, limit: 10, resetInMs: end - now, resetAtMs: end }, now),
  };
}

test('#25: before any answer one request goes alone; its answer opens the count', opts, async (t) => {
  const { take, answer, drain } = await counterOf(t, 'q1');
  assert.deepEqual(await take(T0), { ok: true, atMs: T0, seqs: [1] });
  assert.deepEqual(await take(T0 + 1), { ok: false, retryAtMs: T0 + 1 + COUNTER_POLL_MS, nowMs: T0 + 1 }, 'the others ask again shortly');
  await answer(1, 9, T0 + 5);
  assert.equal(await drain(T0 + 6), 9, 'the nine the server said remain');
  assert.deepEqual(await take(T0 + 7), { ok: false, retryAtMs: END, nowMs: T0 + 7 }, 'then nothing until the window ends');
});

test('#25: answers that come back out of order never give back quota already spent', opts, async (t) => {
  const { take, answer, drain } = await counterOf(t, 'q2');
  await take(T0);
  await answer(1, 9, T0 + 5);
  for (let seq = 2; seq <= 6; seq++) assert.deepEqual(await take(T0 + 10), { ok: true, atMs: T0 + 10, seqs: [seq] });
  // Reached the server in order, the five were told 8, 7, 6, 5, 4. The last comes back first,
  // the first last: each says 4 are left once the takes after it count.
  await answer(6, 4, T0 + 20);
  await answer(2, 8, T0 + 21);
  // Take 5 overtook take 4 on the way and was told 6: it would say 5 are left. It gives nothing back.
  await answer(5, 6, T0 + 22);
  assert.equal(await drain(T0 + 23), 4);
});

test('#25: an answer that says less is left than counted lowers the count (another client spent some)', opts, async (t) => {
  const { take, answer, drain } = await counterOf(t, 'q3');
  await take(T0);
  await answer(1, 9, T0 + 5);
  assert.deepEqual(await take(T0 + 6), { ok: true, atMs: T0 + 6, seqs: [2] });
  await answer(2, 3, T0 + 10);
  assert.equal(await drain(T0 + 11), 3);
});

test('#25: at the window end the count refills, less the takes that may count in the next window', opts, async (t) => {
  const { take, answer, drain } = await counterOf(t, 'q4');
  await take(T0);
  await answer(1, 9, T0 + 5);
  assert.equal(await drain(T0 + 10), 9); // takes 2 to 10
  for (let seq = 2; seq <= 8; seq++) await answer(seq, 10 - seq, T0 + 20);
  // Take 9 reached the server after its window turned: its answer names the next window's end.
  await answer(9, 9, T0 + 30, END + 1_000);
  // Take 10 is still on its way.
  assert.deepEqual(await take(END - 1), { ok: false, retryAtMs: END, nowMs: END - 1 });
  assert.equal(await drain(END), 8, 'takes 9 and 10 may count in the new window: held back from it');
  // Take 10 comes back, told 0 left: its answer does not lower the new window's count.
  await answer(10, 0, END + 5, END + 1_000);
  assert.deepEqual(await take(END + 6), { ok: false, retryAtMs: END + 6 + COUNTER_POLL_MS, nowMs: END + 6 });
});

test('#25: a take held back at the refill that proves counted in the old window is given back, unless an answer set the count since', opts, async (t) => {
  const { take, answer, drain } = await counterOf(t, 'q5');
  await take(T0);
  await answer(1, 9, T0 + 5);
  assert.equal(await drain(T0 + 10), 9);
  for (let seq = 2; seq <= 9; seq++) await answer(seq, 10 - seq, T0 + 20);
  for (let seq = 11; seq <= 15; seq++) assert.equal((await take(END)).ok, true, 'take 10, still in flight, is held back: 9 of 10');
  // Take 10 was counted in the old window (it names the old end): the new window has 5 left, not 4.
  await answer(10, 0, END + 3);
  assert.equal(await drain(END + 4), 5);

  // The same, but an answer of the new window comes first and sets the count: it knows better.
  const again = await counterOf(t, 'q5b');
  await again.take(T0);
  await again.answer(1, 9, T0 + 5);
  assert.equal(await again.drain(T0 + 10), 9);
  for (let seq = 2; seq <= 9; seq++) await again.answer(seq, 10 - seq, T0 + 20);
  for (let seq = 11; seq <= 15; seq++) assert.equal((await again.take(END)).ok, true);
  // Take 11 was the second the new window counted (another client came first): 8 - 4 = 4 left.
  await again.answer(11, 8, END + 2, END + 1_000);
  await again.answer(10, 0, END + 3);
  assert.equal(await again.drain(END + 4), 4);
});

test('#25: a host without quota headers gets no counter; a probe with no answer lets another go', opts, async (t) => {
  const { limiter, take } = await counterOf(t, 'q6');
  await take(T0);
  await limiter.noteAnswer(Q, 1, { kind: 'none' }, T0 + 5);
  for (let i = 0; i < 20; i++) assert.deepEqual(await take(T0 + 6), { ok: true, atMs: T0 + 6, seqs: [undefined] });

  const other = 'quota:host:b';
  assert.equal((await limiter.tryTake([], T0, [other])).ok, true);
  assert.equal((await limiter.tryTake([], T0 + 1, [other])).ok, false);
  await limiter.noteAnswer(other, 1, { kind: 'lost' }, T0 + 2);
  assert.deepEqual(await limiter.tryTake([], T0 + 3, [other]), { ok: true, atMs: T0 + 3, seqs: [2] }, 'a fresh probe');
});

test('#25: a start takes from its rate buckets and its quota counter together, or from neither', opts, async (t) => {
  const { limiter, take } = await counterOf(t, 'q7');
  await limiter.setRate('host:a', 10, 1);
  assert.equal((await limiter.tryTake(['host:a'], T0, [Q])).ok, true);
  // The counter refuses (its probe is out): the host's bucket keeps its token.
  assert.equal((await limiter.tryTake(['host:a'], T0 + 100, [Q])).ok, false);
  assert.equal((await limiter.tryTake(['host:a'], T0 + 100)).ok, true);
  // The host's bucket refuses: the counter keeps its count.
  await limiter.noteAnswer(Q, 1, { kind: 'quota', remaining: 1, limit: 10, resetInMs: 800, resetAtMs: T0 + 1_000 }, T0 + 150);
  assert.equal((await limiter.tryTake(['host:a'], T0 + 150, [Q])).ok, false);
  assert.deepEqual(await take(T0 + 151), { ok: true, atMs: T0 + 151, seqs: [2] }, 'the one left is still there');
});

test('#25: in long windows, resets counted from now name the same window to within a second', opts, async (t) => {
  const { take, answer, drain } = await counterOf(t, 'q8');
  const end = T0 + 60_000;
  await take(T0);
  await answer(1, 9, T0 + 5, end);
  assert.equal(await drain(T0 + 10), 9);
  // Delta seconds rounded up: each answer names the end a little differently.
  for (let seq = 2; seq <= 10; seq++) await answer(seq, 10 - seq, T0 + 20, end + (seq % 3) * 300);
  assert.equal(await drain(end), 10, 'all ten were counted in the old window: the new one has them all');
});
