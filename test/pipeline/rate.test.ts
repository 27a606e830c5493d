// Pacing and concurrency as the server sees them: request starts per window from the fixture's
// own arrival times, open requests per moment, and one paused host not holding up another.
// Redirect hops and retries are starts like any other and must respect the same bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { Agent } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchAll } from '../../src/index.js';
import { READY_JOBS } from '../../src/run/start-gate.js';
import { assertOneRecordPerInput, assertRateBound, FAST, lineNumbers, maxStartsInWindow, run, startServer, type RunEvent } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 30_000 };

test('#7: rps 20, burst 1: starts in any window of W seconds stay within burst + rps × W', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 40 }, (_, i) => `${server.url}/items/${i}`);
  const { records } = await run(urls, { rps: 20, burst: 1, concurrency: 8 });
  assertOneRecordPerInput(records, lineNumbers(40));
  assert.ok(records.every((r) => r.ok));

  const times = server.hits.map((h) => h.t);
  assert.equal(times.length, 40);
  assertRateBound(times, { rps: 20, burst: 1, slackStarts: 1 });
  // 40 starts at 20 per second need about 1.95 s between the first and the last.
  const spanMs = Math.max(...times) - Math.min(...times);
  assert.ok(spanMs >= 1_800, `40 starts within ${Math.round(spanMs)} ms`);
});

// In-process loopback tops out near 2,000–3,000 requests per second, so at rps 2000 the
// limiter is hardly the binding limit and a broken one would pass. At 1000 with concurrency 64
// an unlimited run is well over the bound (about 250 starts in 50 ms against 71 allowed).
test('#7: a high rate (rps 1000, default burst) keeps the bound within a couple of ms', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 400 }, (_, i) => `${server.url}/items/${i}`);
  const starts: number[] = [];
  const onEvent = (event: RunEvent) => {
    if (event.type === 'attempt-start') starts.push(performance.timeOrigin + performance.now());
  };
  const { records } = await run(urls, { rps: 1000, concurrency: 64 }, { onEvent });
  assertOneRecordPerInput(records, lineNumbers(400));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.find((r) => !r.ok)?.error),
  );

  // The default burst covers 20 ms of starts: 20 at 1000 per second. The limiter's own start
  // times must keep the bound to within a couple of ms.
  const windowsMs = [5, 10, 20, 50, 100];
  assertRateBound(starts, { rps: 1000, burst: 20, slackStarts: 1, jitterMs: 2, windowsMs });
  // Arrivals at this rate bunch by tens of ms between the limiter and the server (connection
  // set-up, batched socket reads, a busy machine; a server in its own process bunches as much),
  // so the server-side check is a loose one: 100 ms of bunching allowed.
  assertRateBound(
    server.hits.map((h) => h.t),
    { rps: 1000, burst: 20, slackStarts: 1, jitterMs: 100, windowsMs: [100, 200] },
  );
});

test('#7: after an idle spell, at most burst starts go back to back', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  async function* input(): AsyncGenerator<string> {
    yield `${server.url}/items/first`;
    await sleep(300); // the bucket refills to its depth, and no further
    for (let i = 0; i < 9; i++) yield `${server.url}/items/${i}`;
  }
  const { records } = await run(input(), { rps: 20, burst: 3 });
  assertOneRecordPerInput(records, lineNumbers(10));
  assert.ok(records.every((r) => r.ok));
  const times = server.hits.map((h) => h.t);
  assertRateBound(times, { rps: 20, burst: 3, slackStarts: 0, jitterMs: 5, windowsMs: [10, 100, 250, 500] });
  assert.ok(maxStartsInWindow(times, 10) === 3, 'the burst is used');
});

test('#7: a low rate (rps 2) spaces 4 starts about 500 ms apart', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 4 }, (_, i) => `${server.url}/items/${i}`);
  const { records } = await run(urls, { rps: 2 });
  assertOneRecordPerInput(records, lineNumbers(4));
  assert.ok(records.every((r) => r.ok));

  // The last of 4 starts waits about 1.5 s for its token; the wait shows as queuedMs.
  assert.ok(Math.max(...records.map((r) => r.queuedMs)) >= 1_200, `queuedMs ${records.map((r) => r.queuedMs)}`);
  const times = server.hits.map((h) => h.t);
  // No slack in starts: only 20 ms of timestamp jitter, so two starts never share 450 ms.
  assertRateBound(times, { rps: 2, burst: 1, slackStarts: 0, jitterMs: 20, windowsMs: [100, 250, 450, 950, 1_450] });
});

test('#7: concurrency 3 against /delay/200 never has more than 3 requests open on the server', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 12 }, (_, i) => `${server.url}/delay/200?i=${i}`);
  let inFlight = 0;
  let mostInFlight = 0;
  const onEvent = (event: RunEvent) => {
    if (event.type === 'attempt-start') mostInFlight = Math.max(mostInFlight, ++inFlight);
    if (event.type === 'attempt-end') inFlight -= 1;
  };
  const { records } = await run(urls, { concurrency: 3 }, { onEvent });
  assertOneRecordPerInput(records, lineNumbers(12));
  assert.ok(records.every((r) => r.ok));
  assert.equal(mostInFlight, 3, 'attempts in flight by the events');

  // Every request stays open 200 ms after it arrives, so requests arriving within 190 ms of
  // each other were open together.
  const together = maxStartsInWindow(
    server.hits.map((h) => h.t),
    190,
  );
  assert.equal(together, 3, `${together} requests open at once`);
});

test('#7: concurrency 3 with an uncapped dispatcher: an endpoint-side counter never sees more than 3 open', TEST_TIMEOUT, async (t) => {
  let open = 0;
  let mostOpen = 0;
  let served = 0;
  const server = http.createServer((req, res) => {
    open += 1;
    mostOpen = Math.max(mostOpen, open);
    res.once('close', () => (open -= 1));
    setTimeout(() => {
      served += 1;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.url}`);
    }, 60);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };

  // A caller's own dispatcher with no connection cap: the scheduler alone must hold the limit.
  const dispatcher = new Agent({ connections: null });
  t.after(() => dispatcher.close());
  const urls = Array.from({ length: 15 }, (_, i) => `http://127.0.0.1:${port}/n${i}`);
  const { records } = await run(urls, { concurrency: 3 }, { dispatcher });
  server.closeAllConnections();
  assertOneRecordPerInput(records, lineNumbers(15));
  assert.ok(records.every((r) => r.ok));
  assert.equal(served, 15);
  assert.equal(mostOpen, 3);
});

test('#7: a host paused by a long Retry-After does not starve another host', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const inputs = [
    `${a.url}/flaky/a1?fail=1&status=429&retryAfter=2`,
    `${a.url}/items/a2`,
    `${a.url}/items/a3`,
    ...Array.from({ length: 10 }, (_, i) => `${b.url}/delay/100?b=${i}`),
  ];
  const { records, byLine } = await run(inputs, { concurrency: 2 });
  assertOneRecordPerInput(records, lineNumbers(13));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok).map((r) => r.error)),
  );
  assert.equal(byLine.get(1)!.attempts, 2);

  const limited = a.hits.find((h) => h.status === 429)!;
  const pauseEnd = limited.t + 2_000;
  const duringPause = (t: number) => t > limited.t + 50 && t < pauseEnd - 50;
  assert.deepEqual(
    a.hits.filter((h) => duringPause(h.t)).map((h) => h.path),
    [],
    'host A started nothing while paused',
  );
  const bDuring = b.hits.filter((h) => duringPause(h.t)).length;
  assert.ok(bDuring >= 8, `only ${bDuring} of host B's 10 requests arrived during A's pause`);
  assert.ok(a.hits.at(-1)!.t >= pauseEnd - 50, 'A resumed only after its pause');
});

test('#7: redirect hops pass the limiter: hop starts respect the bound too', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 3 }, (_, i) => `${server.url}/redirect/3?i=${i}`);
  const { records } = await run(urls, { rps: 20, burst: 1 });
  assertOneRecordPerInput(records, lineNumbers(3));
  assert.ok(records.every((r) => r.ok));

  const times = server.hits.map((h) => h.t);
  assert.equal(times.length, 12, 'every hop is a request');
  assertRateBound(times, { rps: 20, burst: 1, slackStarts: 1 });
  const spanMs = Math.max(...times) - Math.min(...times);
  assert.ok(spanMs >= 500, `12 starts at 20 per second within ${Math.round(spanMs)} ms`);
});

test('#8: retries pass the limiter: retry starts respect the bound too', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 6 }, (_, i) => `${server.url}/flaky/r${i}?fail=2&status=500`);
  const { records } = await run(urls, { rps: 20, burst: 1, backoffBaseMs: 1 });
  assertOneRecordPerInput(records, lineNumbers(6));
  for (const record of records) assert.deepEqual([record.ok, record.attempts], [true, 3], record.error?.message);

  const times = server.hits.map((h) => h.t);
  assert.equal(times.length, 18);
  assertRateBound(times, { rps: 20, burst: 1, slackStarts: 1 });
  const spanMs = Math.max(...times) - Math.min(...times);
  assert.ok(spanMs >= 750, `18 starts at 20 per second within ${Math.round(spanMs)} ms`);
});

// The hard-stop signal gets one abort listener per request on the wire, so with more than 10
// in flight Node prints "MaxListenersExceededWarning: Possible EventTarget memory leak" to
// stderr, which the CLI passes on to the user.
test('#7: concurrency above 10 runs without a MaxListenersExceededWarning', TEST_TIMEOUT, async (t) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.after(() => void process.off('warning', onWarning));
  const server = await startServer(t);
  const urls = Array.from({ length: 32 }, (_, i) => `${server.url}/delay/50?i=${i}`);
  const { records } = await run(urls, { concurrency: 16 });
  await new Promise((resolve) => setImmediate(resolve));
  assertOneRecordPerInput(records, lineNumbers(32));
  assert.ok(records.every((r) => r.ok));
  assert.deepEqual(
    warnings.map((w) => `${w.name}: ${w.message}`),
    [],
  );
});

test('#7: readAhead bounds the inputs read but not yet taken by a slow consumer', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 12 }, (_, i) => `${server.url}/items/${i}`);
  let read = 0;
  let taken = 0;
  let mostOpen = 0;
  const onEvent = (event: RunEvent) => {
    if (event.type !== 'input') return;
    read += 1;
    mostOpen = Math.max(mostOpen, read - taken);
  };
  const records = [];
  for await (const record of fetchAll(urls, { ...FAST, readAhead: 3 }, { onEvent })) {
    records.push(record);
    await sleep(20);
    taken += 1;
  }
  assertOneRecordPerInput(records, lineNumbers(12));
  assert.ok(mostOpen <= 3, `${mostOpen} inputs open at once with readAhead 3`);
  assert.equal(server.hits.length, 12);
});

test('#24: with every slot busy, READY_JOBS inputs wait read, not all of readAhead', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: READY_JOBS * 2 }, (_, i) => `${server.url}/delay/200?i=${i}`);
  let read = 0;
  let started = 0;
  let mostWaiting = 0;
  const onEvent = (event: RunEvent) => {
    if (event.type === 'input') read += 1;
    else if (event.type === 'attempt-start') started += 1;
    else return;
    mostWaiting = Math.max(mostWaiting, read - started);
  };
  // The first record comes after 200 ms, long after the reader has filled what the gate wants.
  for await (const _record of fetchAll(urls, { ...FAST, concurrency: 4, readAhead: 10_000 }, { onEvent })) break;
  // Read but not started: the jobs ready for the next free slots, and the one the reader holds as a slot frees.
  assert.ok(mostWaiting <= READY_JOBS + 1, `${mostWaiting} inputs read and waiting to start, with 4 slots`);
  assert.ok(read < urls.length, `${read} of ${urls.length} inputs read`);
});
