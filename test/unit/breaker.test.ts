import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../src/run/breaker.ts';
import type { AttemptOutcome } from '../../src/http/outcome.ts';

const refused: AttemptOutcome = { kind: 'failure', code: 'CONNECTION_REFUSED', message: 'connection refused', latencyMs: 1 };
const status = (code: number): AttemptOutcome => ({
  kind: 'response',
  status: code,
  statusText: '',
  headers: {},
  contentType: null,
  bytes: 0,
  bodyEncoding: 'none',
  body: null,
  latencyMs: 1,
});
const settings = { maxErrorRate: undefined, maxConnectionFailures: 3, windowSize: 10, minSamples: 4 };

test('connection failures in a row trip it; any answer in between resets the count', () => {
  const breaker = new CircuitBreaker(settings);
  assert.equal(breaker.record(refused), undefined);
  assert.equal(breaker.record(refused), undefined);
  assert.equal(breaker.record(status(503)), undefined, 'an answer, even a 5xx, is not a connection failure');
  assert.equal(breaker.record(refused), undefined);
  assert.equal(breaker.record(refused), undefined);
  assert.match(breaker.record(refused) ?? '', /3 connection failures in a row/);
});

test('0 turns the in-a-row check off', () => {
  const breaker = new CircuitBreaker({ ...settings, maxConnectionFailures: 0 });
  for (let i = 0; i < 50; i++) assert.equal(breaker.record(refused), undefined);
});

test('the error rate is judged over the window, from minSamples on; 429 is not an error', () => {
  const breaker = new CircuitBreaker({ ...settings, maxConnectionFailures: 0, maxErrorRate: 0.5 });
  assert.equal(breaker.record(status(500)), undefined);
  assert.equal(breaker.record(status(500)), undefined);
  assert.equal(breaker.record(status(429)), undefined);
  assert.match(breaker.record(status(500)) ?? '', /75% of the last 4 attempts failed/);
  const healthy = new CircuitBreaker({ ...settings, maxConnectionFailures: 0, maxErrorRate: 0.5 });
  for (let i = 0; i < 30; i++) assert.equal(healthy.record(status(i % 3 === 0 ? 502 : 200)), undefined);
});

test('old attempts leave the window', () => {
  const fresh = new CircuitBreaker({ ...settings, maxConnectionFailures: 0, maxErrorRate: 0.5, minSamples: 10 });
  for (let i = 0; i < 5; i++) assert.equal(fresh.record(status(500)), undefined);
  for (let i = 0; i < 10; i++) assert.equal(fresh.record(status(200)), undefined, 'the five errors have left the 10-wide window by now');
});
