// Budget and circuit breaker (issue #11, parts 4 and 5): a run that must stop early stops
// cleanly, and every input already read still gets exactly one record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST, assertOneRecordPerInput, closedPort, lineNumbers, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 30_000 };

test('#11: --max-requests counts every request sent, retries included, then stops with BUDGET_EXHAUSTED records', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // Line 1 fails twice before it succeeds: its retries cost quota like first attempts.
  const inputs = [`${server.url}/flaky/budget?fail=2&status=503`, ...Array.from({ length: 9 }, (_, i) => `${server.url}/items/${i}`)];
  const { records, byLine, events } = await run(inputs, { ...FAST, maxRequests: 6, concurrency: 1 });
  assertOneRecordPerInput(records, lineNumbers(10));
  assert.equal(server.hits.length, 6, 'exactly the budget was sent');
  const exhausted = records.filter((r) => r.error?.code === 'BUDGET_EXHAUSTED');
  assert.ok(exhausted.length >= 1);
  for (const record of exhausted) assert.equal(record.final, false, 'a later run should fetch it');
  assert.equal(records.filter((r) => r.ok).length + exhausted.length, 10);
  const stop = events.find((e) => e.type === 'interrupt');
  assert.ok(stop && stop.type === 'interrupt' && stop.cause === 'budget');
  assert.ok(byLine.get(1)!.attempts >= 1);
});

test('#11: a budget that covers the run changes nothing', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = Array.from({ length: 5 }, (_, i) => `${server.url}/items/${i}`);
  const { records, events } = await run(inputs, { ...FAST, maxRequests: 5 });
  assertOneRecordPerInput(records, lineNumbers(5));
  assert.ok(records.every((r) => r.ok));
  assert.equal(events.filter((e) => e.type === 'interrupt').length, 0);
});

test('#11: connection failures in a row open the circuit: CIRCUIT_OPEN records, nothing more sent', TEST_TIMEOUT, async () => {
  const port = await closedPort();
  const inputs = Array.from({ length: 30 }, (_, i) => `http://127.0.0.1:${port}/x${i}`);
  const { records, events } = await run(inputs, { ...FAST, maxConnectionFailures: 5, retries: 0, concurrency: 1 });
  assertOneRecordPerInput(records, lineNumbers(30));
  const codes = records.map((r) => r.error?.code);
  assert.equal(codes.filter((c) => c === 'CONNECTION_REFUSED').length, 5);
  assert.equal(codes.filter((c) => c === 'CIRCUIT_OPEN').length, 25);
  assert.ok(records.filter((r) => r.error?.code === 'CIRCUIT_OPEN').every((r) => r.final === false && r.attempts === 0));
  const stop = events.find((e) => e.type === 'interrupt');
  assert.ok(stop && stop.type === 'interrupt' && stop.cause === 'breaker' && /5 connection failures in a row/.test(stop.reason));
});

test('#11: --max-error-rate opens the circuit when the API answers 5xx', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = Array.from({ length: 60 }, (_, i) => `${server.url}/status/500?i=${i}`);
  const { records } = await run(inputs, { ...FAST, maxErrorRate: 0.5, retries: 0, concurrency: 1 });
  assertOneRecordPerInput(records, lineNumbers(60));
  // The rate is judged from 20 attempts on.
  assert.equal(server.hits.length, 20);
  assert.equal(records.filter((r) => r.error?.code === 'CIRCUIT_OPEN').length, 40);
});

test('#11: 429s are the API working, not an error: they never open the circuit', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = Array.from({ length: 25 }, (_, i) => `${server.url}/status/429?i=${i}`);
  const { records } = await run(inputs, { ...FAST, maxErrorRate: 0.1, retries: 0, concurrency: 4 });
  assertOneRecordPerInput(records, lineNumbers(25));
  assert.equal(records.filter((r) => r.error?.code === 'CIRCUIT_OPEN').length, 0);
});
