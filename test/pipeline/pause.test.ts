// One 429 pauses the whole host (issue #8): after a 429, the server sees no request start for
// that host until the wait is over, other hosts carry on, and a wait longer than
// maxRetryAfterMs fails the host's queued inputs at once. Checked from the server's `hits`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneRecordPerInput, gapMs, lineNumbers, pausesIn, retriesIn, run, startServer, startsDuringPauses } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 30_000 };

test('#8: a bare 429 pauses the host, so its other requests wait too', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // The queued requests take 100 ms each, so starts made without waiting land inside the pause.
  const inputs = [`${server.url}/flaky/bare?fail=1&status=429`, ...[2, 3, 4].map((i) => `${server.url}/delay/100?i=${i}`)];
  // random() = 1 makes the full-jitter backoff exactly its ceiling: 600 ms.
  const { records, events } = await run(inputs, { concurrency: 1, backoffBaseMs: 600, maxBackoffMs: 1_000 }, { random: () => 1 });
  assertOneRecordPerInput(records, lineNumbers(4));
  assert.ok(records.every((r) => r.ok));
  assert.equal(records.find((r) => r.line === 1)!.attempts, 2);

  // #23: the controller cut the rate for this 429 (it starts finding the limit from slow start),
  // so the host waits until the clock second that refused it is over, not the backoff
  // (waitOutRefusingSecond, tested in virtual time in the unit tests); the retry waits as long.
  const pauses = pausesIn(events);
  assert.deepEqual(
    pauses.map((e) => e.source),
    ['backoff'],
  );
  const pauseMs = pauses[0]!.delayMs;
  assert.ok(pauseMs > 0 && pauseMs <= 1_000 + 50, `pause of ${pauseMs} ms`);
  assert.deepEqual(
    retriesIn(events).map((e) => [e.source, e.delayMs]),
    [['backoff', pauseMs]],
  );
  assert.deepEqual(
    startsDuringPauses(server.hits, pauseMs, 20).map((h) => h.path),
    [],
    'nothing started for the host during the pause',
  );
});

test('#8: one 429 pauses the whole host: told twice the real rate, nothing starts until Retry-After passes', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t, { rps: 20, burst: 1, retryAfter: 'seconds' });
  // Every refusal costs a whole second (Retry-After: 1, the smallest), and the run resumes at
  // the rate it was told, so each URL takes about a second: 12 URLs, not 200, keep this short.
  const urls = Array.from({ length: 12 }, (_, i) => `${server.url}/items/${i}`);
  const { records, events } = await run(urls, { rps: 40, concurrency: 8 });
  assertOneRecordPerInput(records, lineNumbers(12));
  // With the default retries: a refused request goes first after the pause, so no input is
  // refused again and again until its retries run out.
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok).map((r) => r.error)),
  );
  assert.ok(
    records.every((r) => r.attempts <= 3),
    `attempts: ${records.map((r) => r.attempts).join(',')}`,
  );

  assert.ok(server.count429() >= 1, 'twice the real rate must meet the server limit');
  // The fixture's rate-limit 429 says Retry-After: 1 here (it waits at most 50 ms for a token).
  for (const pause of pausesIn(events)) assert.deepEqual([pause.source, pause.delayMs], ['server', 1_000]);
  const early = startsDuringPauses(server.hits, 1_000);
  assert.deepEqual(
    early.map((h) => `${h.path} at +${Math.round(h.t - server.hits[0]!.t)} ms`),
    [],
    'requests started during a pause',
  );
});

test('#8: told the real rate (rps 20), 200 URLs meet at most a handful of 429s', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, { rps: 20, burst: 1, retryAfter: 'seconds' });
  const urls = Array.from({ length: 200 }, (_, i) => `${server.url}/items/${i}`);
  const { records } = await run(urls, { rps: 20, burst: 1, concurrency: 8, retries: 10 });
  assertOneRecordPerInput(records, lineNumbers(200));
  assert.ok(records.every((r) => r.ok));
  // The server counts exactly, so a request that arrives a hair early is refused. ratefetch
  // paces 1% under --rps to absorb that; trials gave 0 to 5 refusals per 200.
  assert.ok(server.count429() <= 10, `${server.count429()} 429s at the server's own rate`);
  assert.deepEqual(
    startsDuringPauses(server.hits, 1_000).map((h) => h.path),
    [],
  );
});

test('#8: a Retry-After of a year fails at once, and so do the requests queued for that host', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const inputs = [`${a.url}/status/429?retryAfter=31536000`, ...Array.from({ length: 5 }, (_, i) => `${a.url}/items/${i}`), `${b.url}/items/other-host`];
  const startedAt = performance.now();
  const { records, byLine } = await run(inputs, { concurrency: 1 });
  const elapsedMs = performance.now() - startedAt;
  assertOneRecordPerInput(records, lineNumbers(7));

  const first = byLine.get(1)!;
  assert.deepEqual([first.error?.code, first.attempts, first.final, first.status], ['RETRY_AFTER_TOO_LONG', 1, false, 429]);
  for (const line of [2, 3, 4, 5, 6]) {
    const record = byLine.get(line)!;
    assert.deepEqual([record.error?.code, record.attempts, record.final], ['RETRY_AFTER_TOO_LONG', 0, false], `line ${line}`);
  }
  assert.equal(byLine.get(7)!.ok, true, 'another host is not affected');
  assert.deepEqual(
    a.hits.map((h) => h.path),
    ['/status/429?retryAfter=31536000'],
    'no request was sent for the queued inputs',
  );
  assert.ok(elapsedMs < 2_000, `the run took ${Math.round(elapsedMs)} ms`);
});

test('#8: a 429 with Retry-After 2 from one host does not pause another', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const inputs = [`${a.url}/flaky/x?fail=1&status=429&retryAfter=2`, ...Array.from({ length: 10 }, (_, i) => `${b.url}/delay/20?i=${i}`)];
  const { records, byLine } = await run(inputs, { concurrency: 2 });
  assertOneRecordPerInput(records, lineNumbers(11));
  assert.ok(records.every((r) => r.ok));
  assert.equal(byLine.get(1)!.attempts, 2);

  const limited = a.hits.find((h) => h.status === 429)!;
  const lastOfB = Math.max(...b.hits.map((h) => h.t));
  assert.equal(b.hits.length, 10);
  assert.ok(lastOfB < limited.t + 1_000, `host B's last request came ${Math.round(lastOfB - limited.t)} ms after A's 429`);
  assert.ok(gapMs(a.hits, '/flaky/x') >= 1_950);
});

// The scheduler resets job.host to the input's host before it calls pauseHost, so a 429 from
// a redirect target pauses the host that redirected (A) and leaves the one that refused (B) free.
test('#8: a 429 on a redirect hop pauses the host that sent it, not the one the input named', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const refusing = `${b.url}/flaky/z?fail=1&status=429&retryAfter=2`;
  const inputs = [
    `${a.url}/redirect-to?url=${encodeURIComponent(refusing)}`, // 1: A → B, and B says wait 2 s
    ...Array.from({ length: 4 }, (_, i) => `${b.url}/delay/100?b=${i}`), // 2–5: straight to B
    `${a.url}/items/a`, // 6: A never asked anyone to wait
  ];
  const { records, byLine, events } = await run(inputs, { concurrency: 1 });
  assertOneRecordPerInput(records, lineNumbers(6));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok).map((r) => r.error)),
  );
  assert.equal(byLine.get(1)!.attempts, 2);

  const hostA = new URL(a.url).host;
  const hostB = new URL(b.url).host;
  assert.deepEqual(
    pausesIn(events).map((e) => e.host),
    [hostB],
    'the pause is for the host that answered 429',
  );
  const limited = b.hits.find((h) => h.status === 429)!;
  const early = b.hits.filter((h) => h.t > limited.t + 50 && h.t < limited.t + 1_950);
  assert.deepEqual(
    early.map((h) => h.path),
    [],
    `host B (${hostB}) got requests while it had asked to wait`,
  );
  const aItem = a.hits.find((h) => h.path === '/items/a')!;
  assert.ok(aItem.t < limited.t + 1_000, `host A (${hostA}) was held ${Math.round(aItem.t - limited.t)} ms for B's 429`);
});

// decideRetry checks "retries used up" before it reads Retry-After and returns no delay, and
// the scheduler pauses the host only on the retry path: so the last 429 of a record (with
// retries: 0, the only one) leaves the host unpaused, and everything queued for it goes at once.
test('#8: a 429 that is not retried (retries used up) still pauses its host', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // Each queued request takes 100 ms, so starts made without waiting land inside the pause.
  const inputs = [`${server.url}/flaky/last?fail=1&status=429&retryAfter=2`, ...Array.from({ length: 4 }, (_, i) => `${server.url}/delay/100?i=${i}`)];
  const { records, byLine } = await run(inputs, { concurrency: 1, retries: 0 });
  assertOneRecordPerInput(records, lineNumbers(5));
  const first = byLine.get(1)!;
  assert.deepEqual([first.ok, first.status, first.attempts, first.final], [false, 429, 1, false]);
  for (const line of [2, 3, 4, 5]) assert.equal(byLine.get(line)!.ok, true, `line ${line}`);
  const early = startsDuringPauses(server.hits, 2_000);
  assert.deepEqual(
    early.map((h) => h.path),
    [],
    'requests started while the host had asked to wait 2 s',
  );
});
