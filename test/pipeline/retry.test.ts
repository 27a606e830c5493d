// Retries and Retry-After through the whole pipeline (issue #8): which outcomes are retried
// for which method, each Retry-After form, and what the records and events say. Waits are read
// from the fixture server's own arrival times: a retry that came early shows up in `hits`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneRecordPerInput, closedPort, gapMs, lineNumbers, pausesIn, retriesIn, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 30_000 };

test('#8: 429 with Retry-After in seconds is retried once it has passed', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, events } = await run([`${server.url}/flaky/k?fail=1&status=429&retryAfter=1`]);
  assertOneRecordPerInput(records, [1]);
  assert.deepEqual([records[0]!.ok, records[0]!.attempts, records[0]!.status], [true, 2, 200]);
  assert.ok(records[0]!.ms >= 950, `ms ${records[0]!.ms} counts the wait`);
  const gap = gapMs(server.hits, '/flaky/k');
  assert.ok(gap >= 950 && gap < 3_000, `retried after ${Math.round(gap)} ms`);
  assert.deepEqual(
    retriesIn(events).map((e) => [e.source, e.delayMs]),
    [['server', 1_000]],
  );
});

test('#8: Retry-After as an HTTP-date in the future is waited for', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // An IMF-fixdate at least 2 s ahead (whole seconds, rounded up).
  const date = new Date(Math.ceil((Date.now() + 2_000) / 1_000) * 1_000).toUTCString();
  const { records, events } = await run([`${server.url}/flaky/d?fail=1&status=429&retryAfter=${encodeURIComponent(date)}`]);
  assertOneRecordPerInput(records, [1]);
  assert.deepEqual([records[0]!.ok, records[0]!.attempts], [true, 2]);
  const gap = gapMs(server.hits, '/flaky/d');
  assert.ok(gap >= 1_900 && gap < 4_500, `retried ${Math.round(gap)} ms after a date ${date}`);
  assert.equal(retriesIn(events)[0]?.source, 'server');
});

test('#8: Retry-After as an HTTP-date in the past retries at once', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const date = new Date(Date.now() - 60_000).toUTCString();
  const { records, events } = await run([`${server.url}/flaky/p?fail=1&status=429&retryAfter=${encodeURIComponent(date)}`], {
    backoffBaseMs: 5_000,
    maxBackoffMs: 5_000,
  });
  assertOneRecordPerInput(records, [1]);
  assert.deepEqual([records[0]!.ok, records[0]!.attempts], [true, 2]);
  const gap = gapMs(server.hits, '/flaky/p');
  assert.ok(gap < 1_000, `retried after ${Math.round(gap)} ms`);
  assert.deepEqual(
    retriesIn(events).map((e) => [e.source, e.delayMs]),
    [['server', 0]],
  );
});

test('#8: 503 with Retry-After is waited for', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, events } = await run([`${server.url}/flaky/u?fail=1&status=503&retryAfter=1`]);
  assertOneRecordPerInput(records, [1]);
  assert.deepEqual([records[0]!.ok, records[0]!.attempts], [true, 2]);
  const gap = gapMs(server.hits, '/flaky/u');
  assert.ok(gap >= 950 && gap < 3_000, `retried after ${Math.round(gap)} ms`);
  assert.deepEqual(
    retriesIn(events).map((e) => [e.source, e.delayMs]),
    [['server', 1_000]],
  );
});

test('#8: GET is retried on 500, 502, 504 and a reset connection', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = [500, 502, 504].map((status) => `${server.url}/flaky/g${status}?fail=1&status=${status}`);
  const { records, byLine } = await run([...inputs, `${server.url}/reset`], { retries: 2 });
  assertOneRecordPerInput(records, lineNumbers(4));
  for (const line of [1, 2, 3]) assert.deepEqual([byLine.get(line)!.ok, byLine.get(line)!.attempts], [true, 2], `line ${line}`);
  const reset = byLine.get(4)!;
  assert.deepEqual([reset.ok, reset.error?.code, reset.attempts, reset.final], [false, 'CONNECTION_RESET', 3, false]);
  assert.equal(server.hits.filter((h) => h.path === '/reset').length, 3);
});

test('#8: POST is retried on 503, 429 and a refused connection, never on 500 or a reset', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const port = await closedPort();
  const inputs = [
    `${server.url}/flaky/p500?fail=1&status=500`,
    `${server.url}/flaky/p503?fail=1&status=503`,
    `${server.url}/flaky/p429?fail=1&status=429`,
    `${server.url}/reset`,
    `http://127.0.0.1:${port}/refused`,
  ];
  const { records, byLine } = await run(inputs, { method: 'POST', body: 'x=1', retries: 2 });
  assertOneRecordPerInput(records, lineNumbers(5));
  const p500 = byLine.get(1)!;
  assert.deepEqual([p500.ok, p500.status, p500.attempts, p500.final], [false, 500, 1, true]);
  assert.deepEqual([byLine.get(2)!.ok, byLine.get(2)!.attempts], [true, 2]);
  assert.deepEqual([byLine.get(3)!.ok, byLine.get(3)!.attempts], [true, 2]);
  const reset = byLine.get(4)!;
  assert.deepEqual([reset.error?.code, reset.attempts, reset.final], ['CONNECTION_RESET', 1, true]);
  const refused = byLine.get(5)!;
  assert.deepEqual([refused.error?.code, refused.attempts, refused.final], ['CONNECTION_REFUSED', 3, false]);
  assert.equal(server.hits.filter((h) => h.path === '/flaky/p500?fail=1&status=500').length, 1);
});

test('#8: a refused connection is retried, then CONNECTION_REFUSED, not ok and not final', TEST_TIMEOUT, async () => {
  const port = await closedPort();
  const { records, events } = await run([`http://127.0.0.1:${port}/ok`], { retries: 2 });
  assertOneRecordPerInput(records, [1]);
  const [record] = records;
  assert.deepEqual([record!.ok, record!.final, record!.attempts, record!.error?.code], [false, false, 3, 'CONNECTION_REFUSED']);
  assert.match(record!.error!.message, /connection refused after 3 attempts$/);
  assert.equal(events.filter((e) => e.type === 'attempt-start').length, 3);
});

test('#8: retries exhausted: /status/503 with retries 2 makes 3 attempts and is not final', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/status/503`], { retries: 2 });
  assertOneRecordPerInput(records, [1]);
  const [record] = records;
  assert.deepEqual([record!.ok, record!.final, record!.attempts, record!.status, record!.error?.code], [false, false, 3, 503, 'HTTP_STATUS']);
  assert.match(record!.error!.message, /503 Service Unavailable after 3 attempts/);
  assert.equal(server.hits.length, 3);
});

test('#8: a malformed or negative Retry-After falls back to backoff and still retries', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = ['abc', '-5', '1.5', ''].map((value, i) => `${server.url}/flaky/m${i}?fail=1&status=429&retryAfter=${encodeURIComponent(value)}`);
  const { records, events } = await run(inputs);
  assertOneRecordPerInput(records, lineNumbers(4));
  for (const record of records) assert.deepEqual([record.ok, record.attempts], [true, 2], `line ${record.line}: ${record.error?.message}`);
  const retries = retriesIn(events);
  assert.equal(retries.length, 4);
  for (const retry of retries) {
    assert.equal(retry.source, 'backoff', `line ${retry.line}: ${retry.reason}`);
    assert.ok(retry.delayMs < 1_000);
  }
});

test('#8: onEvent gets retry and pause events with source server or backoff', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const inputs = [`${a.url}/flaky/s?fail=1&status=429&retryAfter=1`, `${b.url}/flaky/e?fail=1&status=500`];
  const { records, events } = await run(inputs);
  assertOneRecordPerInput(records, lineNumbers(2));
  assert.ok(records.every((r) => r.ok && r.attempts === 2));

  const hostA = new URL(a.url).host;
  const hostB = new URL(b.url).host;
  const retries = retriesIn(events);
  assert.deepEqual(retries.map((e) => [e.line, e.host, e.source, e.attempt]).sort(), [
    [1, hostA, 'server', 1],
    [2, hostB, 'backoff', 1],
  ]);
  assert.equal(retries.find((e) => e.line === 1)!.delayMs, 1_000);
  assert.match(retries.find((e) => e.line === 1)!.reason, /429 Too Many Requests, Retry-After 1s/);
  assert.ok(retries.find((e) => e.line === 2)!.delayMs < 1_000);
  // A 500 backs off one request; only the 429 pauses its host.
  const pauses = pausesIn(events);
  assert.deepEqual(
    pauses.map((e) => [e.host, e.source, e.delayMs]),
    [[hostA, 'server', 1_000]],
  );
  assert.ok(pauses[0]!.untilMs > Date.now() - 10_000);
});

test('#22: a 503 with an unparsable Retry-After is a plain 503: backoff, no pause, no rate cut', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // Answers accepted first, so a rate controller told "throttled" would have a rate to cut
  // (--rps 40 gives the lane one); then three 503s whose Retry-After cannot be read.
  const items = Array.from({ length: 10 }, (_, i) => `${server.url}/items/${i}`);
  const inputs = [...items, `${server.url}/flaky/bad?fail=3&status=503&retryAfter=soon`];
  const { records, events } = await run(inputs, { rps: 40, concurrency: 2 });
  assertOneRecordPerInput(records, lineNumbers(11));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok)),
  );
  assert.equal(records.find((r) => r.line === 11)!.attempts, 4);
  const retries = retriesIn(events);
  assert.equal(retries.length, 3);
  for (const retry of retries) {
    assert.deepEqual([retry.source, retry.reason], ['backoff', '503 Service Unavailable, unparsable Retry-After ignored']);
  }
  assert.deepEqual(pausesIn(events), [], 'no host pause');
  const cuts = events.filter((e) => e.type === 'rate' && e.reason === 'throttled');
  assert.deepEqual(cuts, [], 'no rate cut');
});
