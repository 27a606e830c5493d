// Per-host and per-route limits and the rate controller (issue #11, parts 2 and 3), checked
// from the servers' own arrival times and the run's events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '../../src/index.js';
import { ADAPTIVE } from '../../src/rate/controller/tuning.js';
import { attempt } from '../../src/http/attempt.js';
import type { ResponseOutcome } from '../../src/http/outcome.js';
import { assertOneRecordPerInput, assertRateBound, lineNumbers, pausesIn, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 40_000 };

type RateEvent = Extract<RunEvent, { type: 'rate' }>;
const ratesIn = (events: RunEvent[]): RateEvent[] => events.filter((e): e is RateEvent => e.type === 'rate');

/** What the run's stats count as held back by rate limits or pauses. */
function rateWaitMs(events: RunEvent[]): number {
  return events.reduce((sum, e) => sum + (e.type === 'rate-wait' ? e.waitedMs : 0), 0);
}

/** How many of the hits the server answered 200 arrived in the clock second `second`. */
function acceptedInSecond(hits: ReadonlyArray<{ t: number; status: number }>, second: number): number {
  return hits.filter((h) => h.status === 200 && Math.floor(h.t / 1000) === second).length;
}

/** The most requests in flight at once per host, from the run's own start and end events. */
function peakInFlight(events: RunEvent[]): Map<string, number> {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'attempt-start' && e.type !== 'attempt-end') continue;
    const count = (now.get(e.host) ?? 0) + (e.type === 'attempt-start' ? 1 : -1);
    now.set(e.host, count);
    peak.set(e.host, Math.max(peak.get(e.host) ?? 0, count));
  }
  return peak;
}

test('#11: --host-rps paces each host on its own: two hosts at 10/s finish together, not one after the other', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const inputs = Array.from({ length: 30 }, (_, i) => `${i % 2 === 0 ? a.url : b.url}/items/${i}`);
  const startedAt = performance.now();
  const { records, events } = await run(inputs, { hostRps: 10, concurrency: 8 });
  const elapsedMs = performance.now() - startedAt;
  assertOneRecordPerInput(records, lineNumbers(30));
  assert.ok(records.every((r) => r.ok));
  for (const server of [a, b])
    assertRateBound(
      server.hits.map((h) => h.t),
      { rps: 10, burst: 1, jitterMs: 5 },
    );
  // 15 per host at 10/s is 1.4 s; one shared bucket would need 2.9 s.
  assert.ok(elapsedMs < 2_600, `took ${Math.round(elapsedMs)} ms`);
  // Work waited on the rate nearly all along, with slots free: the stats say so.
  assert.ok(rateWaitMs(events) > 1_000, `${rateWaitMs(events)} ms held back by rate limits`);
});

test('#11: --host-concurrency caps requests in flight per host while another host uses the rest', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const inputs = Array.from({ length: 16 }, (_, i) => `${i % 2 === 0 ? a.url : b.url}/delay/100?i=${i}`);
  const { records, events } = await run(inputs, { hostConcurrency: 2, concurrency: 8 });
  assertOneRecordPerInput(records, lineNumbers(16));
  assert.ok(records.every((r) => r.ok));
  const peak = peakInFlight(events);
  assert.deepEqual([...peak.values()], [2, 2], `peak in flight per host: ${JSON.stringify([...peak])}`);
  // Held back by the caps, not by a rate or a pause: nothing counts as a rate wait.
  assert.ok(rateWaitMs(events) < 50, `${rateWaitMs(events)} ms counted as held back by rate limits`);
});

test('#11: a --limit route rule paces its route and leaves the rest of the host alone; the strictest limit wins', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const host = new URL(server.url).host;
  const slow = Array.from({ length: 6 }, (_, i) => `${server.url}/items/slow-${i}`);
  const fast = Array.from({ length: 30 }, (_, i) => `${server.url}/items/${i}`);
  const { records } = await run([...slow, ...fast], {
    concurrency: 4,
    // Both rules match the slow route: 5/s and 1 in flight hold at once.
    limits: [`${host}/items/slow-*=5/s`, `127.0.0.?/items/s*=100/s,1`],
  });
  assertOneRecordPerInput(records, lineNumbers(36));
  assert.ok(records.every((r) => r.ok));
  const slowHits = server.hits.filter((h) => h.path.startsWith('/items/slow-'));
  const fastHits = server.hits.filter((h) => !h.path.startsWith('/items/slow-'));
  assertRateBound(
    slowHits.map((h) => h.t),
    { rps: 5, burst: 1, jitterMs: 5 },
  );
  // The unlimited route is not held behind the paced one: all of it lands before the slow route ends.
  assert.ok(fastHits.at(-1)!.t < slowHits.at(-1)!.t, 'the unlimited route finished first');
});

test("#11: a 429 on a route with a rule pauses that route only; the host's other paths keep going", TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const host = new URL(server.url).host;
  const inputs = [
    `${server.url}/flaky/media?fail=1&status=429&retryAfter=2`,
    ...Array.from({ length: 3 }, (_, i) => `${server.url}/flaky/media-${i}?fail=0`),
    ...Array.from({ length: 10 }, (_, i) => `${server.url}/delay/150?i=${i}`),
  ];
  const { records, events } = await run(inputs, { concurrency: 1, limits: [`${host}/flaky/*=1000/s`] });
  assertOneRecordPerInput(records, lineNumbers(14));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok)),
  );
  const [pause] = pausesIn(events);
  assert.equal(pause?.host, `${host} ${host}/flaky/*=1000/s`, 'the route is what was paused');
  const refusedAt = server.hits.find((h) => h.status === 429)!.t;
  const during = server.hits.filter((h) => h.t > refusedAt + 50 && h.t < refusedAt + 1_950);
  assert.ok(during.length >= 5, `${during.length} requests to other paths during the route's pause`);
  assert.ok(
    during.every((h) => h.path.startsWith('/delay/')),
    `during the pause: ${during.map((h) => h.path).join(' ')}`,
  );
});

// Where the cuts land, from any start phase, is in virtual time (test/unit/paced-run.test.ts):
// over real HTTP a stall of the machine moves requests across a second. Here, the wiring.
test('#11: --rps auto over HTTP: starts at its start rate, climbs, cuts on a 429, and every input is ok', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t, { rps: 20, burst: 5, retryAfter: 'seconds' });
  const inputs = Array.from({ length: 120 }, (_, i) => `${server.url}/items/${i}`);
  const { records, events } = await run(inputs, { autoRate: true, concurrency: 8 });
  assertOneRecordPerInput(records, lineNumbers(120));
  assert.ok(records.every((r) => r.ok));
  const rates = ratesIn(events);
  const figures = `rates ${rates.map((e) => `${e.rps.toFixed(1)} ${e.reason}`).join(', ')}; ${server.count429()} × 429`;
  assert.deepEqual([rates[0]?.rps, rates[0]?.reason], [ADAPTIVE.startRps, 'start'], figures);
  assert.ok(
    rates.some((e) => e.reason === 'clean' && e.rps >= 16),
    figures,
  );
  assert.ok(
    rates.some((e) => e.reason === 'throttled'),
    figures,
  );
  assert.ok(server.count429() <= 20, figures);
});

test('#11: a fixed --rps is a ceiling: told twice the real rate, the run drops under it after the first 429', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t, { rps: 20, burst: 1, retryAfter: 'seconds' });
  const inputs = Array.from({ length: 80 }, (_, i) => `${server.url}/items/${i}`);
  const { records, events } = await run(inputs, { rps: 40, concurrency: 8 });
  assertOneRecordPerInput(records, lineNumbers(80));
  assert.ok(records.every((r) => r.ok));
  const cuts = ratesIn(events).filter((e) => e.reason === 'throttled');
  assert.ok(cuts.length >= 1 && cuts.every((e) => e.rps < 40), `cuts: ${cuts.map((e) => e.rps.toFixed(1)).join(' ')}`);
  // How few 429s it takes is in virtual time (test/unit/paced-run.test.ts); over real HTTP a
  // server that spaces requests strictly also refuses those a busy machine sends a little early.
  assert.ok(server.count429() <= 20, `${server.count429()} 429s`);
  assert.ok(
    ratesIn(events).every((e) => e.rps <= 40),
    'never above the ceiling',
  );
});

test('#11: with no --rps, the controller stays out of the way until a 429', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, events } = await run(
    Array.from({ length: 40 }, (_, i) => `${server.url}/items/${i}`),
    { concurrency: 8 },
  );
  assert.ok(records.every((r) => r.ok));
  assert.deepEqual(ratesIn(events), []);
});

// That a request counts in the second it reached the server is in virtual time
// (test/unit/paced-run.test.ts); what it rides on over real HTTP is that an attempt reports
// when it went on the wire, after its connect, which this checks.
test('#11: an attempt that waited for its connect says when it went on the wire', TEST_TIMEOUT, async (t) => {
  const { Agent, buildConnector } = await import('undici');
  const server = await startServer(t);
  const connect = buildConnector({});
  const dispatcher = new Agent({ connect: (options, callback) => void setTimeout(() => connect(options, callback), 250) });
  t.after(() => dispatcher.close());
  const settings = { dispatcher, timeoutMs: 10_000, maxBodyBytes: 1_000_000, bodyFormat: 'auto' as const, followRedirects: false };
  const outcome = await attempt({ method: 'GET', url: new URL(`${server.url}/items/1`), headers: [], body: undefined }, settings);
  assert.equal(outcome.kind, 'response');
  const { sentMs, roundTripMs, latencyMs } = outcome as ResponseOutcome;
  assert.ok(sentMs !== undefined && sentMs >= 245, `sent ${sentMs} ms after the start`);
  assert.ok(roundTripMs !== undefined && roundTripMs <= latencyMs - sentMs + 1, `round trip ${roundTripMs} ms of ${latencyMs}`);
});

// Where the retries land is in virtual time (test/unit/paced-run.test.ts); here what users are
// promised over real HTTP: a backoff drawn at its shortest does not spend an input's retries in
// the second that refused it.
test('#11: after a 429 that does not say when, no input runs out of retries', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t, { limit: { limit: 20, headers: 'none', retryAfter: 'none' } });
  const inputs = Array.from({ length: 60 }, (_, i) => `${server.url}/items/${i}`);
  const { records } = await run(inputs, { rps: 40, concurrency: 8 }, { random: () => 0 });
  assertOneRecordPerInput(records, lineNumbers(60));
  assert.deepEqual(
    records.filter((r) => !r.ok).map((r) => r.line),
    [],
    `inputs ran out of retries; ${server.count429()} × 429`,
  );
});

// #22 §0: this test asserted that the windows started (a 'window' rate of 20) and that the
// seconds after took 19.75 on average: whether a fill over real HTTP is taken whole, and in which
// second a start lands, rides on the timers of a busy 2-core machine (it failed 2 runs in 4
// alone, before #22 as after). That mechanism is proved in virtual time in limit-finder.test.ts
// ("a fill the server took whole starts windows", "a window on the clock, 20 s at --rps 40");
// here the wiring and what users are promised: every input ok, about the limit, hardly a 429.
test(
  '#11: at twice the rate of a window on the clock, after the first 429 the seconds take about the limit, with hardly another 429',
  TEST_TIMEOUT,
  async (t) => {
    const server = await startServer(t, { limit: { limit: 20, headers: 'none', retryAfter: 'seconds' } });
    const inputs = Array.from({ length: 150 }, (_, i) => `${server.url}/items/${i}`);
    const { records, events } = await run(inputs, { rps: 40, concurrency: 8 });
    assertOneRecordPerInput(records, lineNumbers(150));
    assert.ok(records.every((r) => r.ok));
    const rates = ratesIn(events);
    const accepted = server.hits.filter((h) => h.status === 200);
    const acceptedIn = (second: number) => acceptedInSecond(server.hits, second);
    const from = Math.floor(server.hits.find((h) => h.status === 429)!.t / 1000) + 2;
    const lastSecond = Math.floor(accepted.at(-1)!.t / 1000);
    const seconds = Array.from({ length: lastSecond - from }, (_, i) => acceptedIn(from + i));
    const figures = `rates ${rates.map((e) => `${e.rps.toFixed(1)} ${e.reason}`).join(', ')}; accepted per whole second from the second after the pause: ${seconds.join(' ')}; ${server.count429()} × 429`;
    assert.ok(seconds.length >= 3, figures);
    assert.ok(seconds.reduce((sum, n) => sum + n, 0) / seconds.length >= 18, figures);
    assert.ok(server.count429() <= 3, figures);
  },
);

test('#11: requests queued in undici when a 429 pauses their lane stay unsent until the pause ends, and cost no budget', TEST_TIMEOUT, async (t) => {
  const { Agent } = await import('undici');
  const { RunStats } = await import('../../src/report/stats.js');
  const server = await startServer(t);
  // One connection: the three requests started alongside the first wait in undici for its socket,
  // which undici frees a turn of the event loop after the 429, once the lane is paused.
  const dispatcher = new Agent({ connections: 1 });
  t.after(() => dispatcher.close());
  const inputs = [`${server.url}/flaky/first?fail=1&status=429&retryAfter=1`, ...Array.from({ length: 3 }, (_, i) => `${server.url}/items/${i}`)];
  const stats = new RunStats();
  // Without the hold, 4 + 3 held + 1 retry = 8 starts would spend a budget of 5.
  const { records, events } = await run(inputs, { concurrency: 4, maxRequests: 5 }, { dispatcher, onEvent: (e) => stats.onEvent(e) });
  assertOneRecordPerInput(records, lineNumbers(4));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok)),
  );
  const refusedAt = server.hits.find((h) => h.status === 429)!.t;
  const during = server.hits.filter((h) => h.t > refusedAt && h.t < refusedAt + 900);
  assert.deepEqual(
    during.map((h) => h.path),
    [],
    'nothing arrived during the told wait',
  );
  assert.equal(server.hits.length, 5);
  const held = events.filter((e) => e.type === 'attempt-held');
  assert.equal(held.length, 3, JSON.stringify(held));
  assert.equal(stats.snapshot().attemptsStarted, 5, 'held requests were not sent');
  assert.deepEqual(records.map((r) => r.attempts).sort(), [1, 1, 1, 2], 'a held request is not an attempt');
});

test('#11: a retry fails at once when a route rule its lane matches is paused past --max-retry-after, as queued requests do', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const host = new URL(server.url).host;
  // /flaky/a-1 matches both rules and pauses with the first; /flaky/b-1 only the second, whose
  // 429 asks for 30 s. The retry of a-1's 500 comes after that pause began.
  const inputs = [`${server.url}/flaky/a-1?fail=1&status=500`, `${server.url}/flaky/b-1?fail=1&status=429&retryAfter=30`];
  const startedAt = performance.now();
  const { records } = await run(inputs, {
    concurrency: 2,
    backoffBaseMs: 300,
    maxRetryAfterMs: 5_000,
    limits: [`${host}/flaky/a*=1000/s`, `${host}/flaky/*=1000/s`],
  });
  assertOneRecordPerInput(records, lineNumbers(2));
  assert.deepEqual(records.map((r) => [r.line, r.error?.code]).sort(), [
    [1, 'RETRY_AFTER_TOO_LONG'],
    [2, 'RETRY_AFTER_TOO_LONG'],
  ]);
  assert.ok(performance.now() - startedAt < 5_000, `took ${Math.round(performance.now() - startedAt)} ms: the retry waited out the pause`);
});
