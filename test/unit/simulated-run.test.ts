// #23: the harness that runs the real run loop in virtual time (bench/lib/simulated-run.ts), checked
// at the pipeline's level: the records, what reached the model and when. No wall clock: every
// figure here is exact and the same on every machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '../../src/events.ts';
import type { ModelAnswer, ServerModel } from '../../fixtures/limiters/model.ts';
import { EPOCH_MS, simulateRun } from '../../bench/lib/simulated-run.ts';
import { assertOneRecordPerInput, lineNumbers } from '../helpers.ts';

const ok = (latencyMs: number): ModelAnswer => ({ kind: 'response', status: 200, headers: {}, latencyMs });
const unlimited: ServerModel = { answer: () => ok(10) };

test('#23: in virtual time, an unlimited server at --rps 20 gets every input once, never faster than 20/s, in the ideal time', async () => {
  const count = 600;
  const run = await simulateRun({ model: unlimited, count, options: { rps: 20 } });
  assertOneRecordPerInput(run.records, lineNumbers(count));
  assert.ok(run.records.every((record) => record.ok && record.attempts === 1));
  assert.equal(run.arrivals.length, count);
  const gaps = run.arrivals.slice(1).map(({ request }, i) => request.t - run.arrivals[i]!.request.t);
  assert.ok(Math.min(...gaps) >= 50, `closest arrivals ${Math.min(...gaps)} ms apart`);
  // Ideal: 600 at 20/s. The run paces 1% under --rps (pacing-margin.ts), each start on a whole ms.
  const idealMs = (count / 20) * 1000;
  const spanMs = run.endMs - run.startMs;
  assert.ok(spanMs >= idealMs * 0.99 && spanMs <= idealMs * 1.03, `span ${spanMs} ms, ideal ${idealMs} ms`);

  const again = await simulateRun({ model: unlimited, count, options: { rps: 20 } });
  assert.deepEqual(
    again.arrivals.map(({ request }) => [request.t, request.path]),
    run.arrivals.map(({ request }) => [request.t, request.path]),
    'the same run twice',
  );
});

test('#23: in virtual time, a 429 with Retry-After 1 pauses the lane: nothing reaches the server during the wait', async () => {
  let arrived = 0;
  const model: ServerModel = {
    answer: () => {
      arrived += 1;
      return arrived === 5 ? { kind: 'response', status: 429, headers: { 'retry-after': '1' }, latencyMs: 50 } : ok(50);
    },
  };
  const refusedAt: number[] = [];
  const onEvent = (event: RunEvent, now: number) => {
    if (event.type === 'attempt-end' && event.status === 429) refusedAt.push(now);
  };
  // 100/s with answers 50 ms after arrival: five requests on the wire when the 429 comes back.
  const run = await simulateRun({ model, count: 40, options: { rps: 100 }, onEvent });
  assertOneRecordPerInput(run.records, lineNumbers(40));
  assert.ok(run.records.every((record) => record.ok));
  assert.equal(refusedAt.length, 1);
  const toldAt = refusedAt[0]!;
  const times = run.arrivals.map(({ request }) => request.t);
  // Requests on the wire when the answer came reach the server within the 1 ms one-way trip.
  const during = times.filter((t) => t > toldAt + 1 && t < toldAt + 1_000);
  assert.deepEqual(during, [], `told to wait at +${toldAt - EPOCH_MS} ms`);
  assert.ok(times.some((t) => t >= toldAt + 1_000));
  assert.equal(run.records.filter((record) => record.attempts === 2).length, 1, 'the refused input, retried once');
});

test('#23: in virtual time, each kind of fault reaches the retry policy as attempt.ts reports it', async () => {
  const seen = new Map<string, number>();
  const firstAnswers: Record<string, ModelAnswer> = {
    '/items/1': { kind: 'reset', latencyMs: 5 },
    '/items/2': { kind: 'truncated', status: 200, headers: {}, latencyMs: 5 },
    '/items/3': { kind: 'hang' },
    '/items/4': { kind: 'response', status: 500, headers: {}, latencyMs: 5 },
    '/items/5': { kind: 'response', status: 503, headers: { 'retry-after': '1' }, latencyMs: 5 },
  };
  const model: ServerModel = {
    answer: ({ path }) => {
      seen.set(path, (seen.get(path) ?? 0) + 1);
      return seen.get(path) === 1 ? (firstAnswers[path] ?? ok(5)) : ok(5);
    },
  };
  const ends: Array<RunEvent & { type: 'attempt-end' }> = [];
  const onEvent = (event: RunEvent) => {
    if (event.type === 'attempt-end' && event.attempt === 1) ends.push(event);
  };
  const run = await simulateRun({ model, count: 6, options: { timeoutMs: 2_000 }, onEvent });
  assertOneRecordPerInput(run.records, lineNumbers(6));
  assert.deepEqual(
    [...run.records].sort((a, b) => a.line - b.line).map((record) => [record.line, record.ok, record.attempts]),
    [
      [1, true, 2],
      [2, true, 2],
      [3, true, 2],
      [4, true, 2],
      [5, true, 2],
      [6, true, 1],
    ],
  );
  const byLine = new Map(ends.map((event) => [event.line, event]));
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((line) => [byLine.get(line)?.status, byLine.get(line)?.code]),
    [
      [null, 'CONNECTION_RESET'],
      [null, 'CONNECTION_RESET'],
      [null, 'TIMEOUT'],
      [500, null],
      [503, null],
      [200, null],
    ],
  );
  assert.equal(byLine.get(3)?.latencyMs, 2_000, 'a hang ends at --timeout');
});

test('#23: in virtual time, a stop gives requests on the wire the grace period, then the hard stop ends them', async () => {
  const hangs: ServerModel = { answer: () => ({ kind: 'hang' }) };
  // The budget of 3 is spent when the 4th input would start: the run stops, three hang on the wire.
  const run = await simulateRun({ model: hangs, count: 4, options: { maxRequests: 3, graceMs: 200 } });
  assertOneRecordPerInput(run.records, lineNumbers(4));
  assert.deepEqual(
    run.records.map((record) => record.error?.code),
    ['BUDGET_EXHAUSTED', 'BUDGET_EXHAUSTED', 'BUDGET_EXHAUSTED', 'BUDGET_EXHAUSTED'],
  );
  assert.equal(run.records.filter((record) => record.error?.message.includes('interrupted while in flight')).length, 3);
  assert.equal(run.endMs - run.startMs, 200, 'the grace period, in virtual time');
});
