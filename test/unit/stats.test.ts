import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '../../src/events.js';
import type { ErrorCode } from '../../src/record/error-codes.js';
import type { FetchRecord } from '../../src/record/record.js';
import { RunStats } from '../../src/report/stats.js';

const T0 = 1_700_000_000_000;

function fakeClock(start = T0): { now: () => number; advance: (ms: number) => void; set: (t: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (v) => {
      t = v;
    },
  };
}

function record(line: number, over: Partial<FetchRecord> = {}): RunEvent {
  return {
    type: 'record',
    record: {
      line,
      url: `https://api.example.com/${line}`,
      finalUrl: `https://api.example.com/${line}`,
      method: 'GET',
      key: String(line),
      ok: true,
      final: true,
      status: 200,
      attempts: 1,
      ms: 10,
      queuedMs: 0,
      latencyMs: 10,
      startedAt: T0,
      endedAt: T0 + 10,
      bytes: 2,
      contentType: 'application/json',
      bodyEncoding: 'json',
      body: {},
      error: null,
      ...over,
    },
  };
}

function failed(line: number, status: number | null, code: ErrorCode, over: Partial<FetchRecord> = {}): RunEvent {
  return record(line, { ok: false, status, error: { code, message: 'x' }, ...over });
}

const start = (line: number, host = 'api.example.com'): RunEvent => ({ type: 'attempt-start', line, host, attempt: 1, hop: 0 });
const end = (line: number, status: number | null, host = 'api.example.com'): RunEvent => ({
  type: 'attempt-end',
  line,
  host,
  attempt: 1,
  status,
  code: null,
  latencyMs: 5,
});

describe('RunStats', () => {
  test('an empty run has zeros and nulls, not NaN', () => {
    const clock = fakeClock();
    const s = new RunStats(clock.now).snapshot();
    assert.equal(s.startedAt, T0);
    assert.equal(s.elapsedMs, 0);
    assert.equal(s.total, null);
    assert.equal(s.done, 0);
    assert.equal(s.successRate, null);
    assert.equal(s.achievedRps, null);
    assert.equal(s.recentRps, null);
    assert.deepEqual(s.latencyMs, { p50: null, p95: null, p99: null });
    assert.equal(s.etaMs, null);
    assert.deepEqual(s.pausedHosts, []);
    assert.equal(s.interrupted, false);
  });

  test('counts a synthetic run: records, statuses, codes, retries, 429s, waits', () => {
    const clock = fakeClock();
    const stats = new RunStats(clock.now);
    const events: RunEvent[] = [
      { type: 'input', line: 1 },
      { type: 'input', line: 2 },
      { type: 'input', line: 4 },
      { type: 'input', line: 5 },
      { type: 'input-end', total: 4 },
      start(1),
      end(1, 200),
      record(1),
      start(2),
      end(2, 429),
      { type: 'retry', line: 2, host: 'api.example.com', attempt: 1, delayMs: 1000, source: 'server', reason: '429 Too Many Requests' },
      { type: 'rate-wait', waitedMs: 1000 },
      start(2),
      end(2, 429),
      failed(2, 429, 'RETRY_AFTER_TOO_LONG', { final: false }),
      start(4),
      end(4, 404),
      failed(4, 404, 'HTTP_STATUS'),
      start(5),
      end(5, null),
      failed(5, null, 'TIMEOUT', { final: false, latencyMs: null }),
      { type: 'rate-wait', waitedMs: 250 },
    ];
    for (const e of events) stats.onEvent(e);
    const s = stats.snapshot();
    assert.equal(s.read, 4);
    assert.equal(s.inputEnded, true);
    assert.equal(s.total, 4);
    assert.equal(s.done, 4);
    assert.equal(s.ok, 1);
    assert.equal(s.failed, 3);
    assert.equal(s.notFinal, 2);
    assert.deepEqual(s.byStatus, { '404': 1, '429': 1 });
    assert.deepEqual(s.byErrorCode, { RETRY_AFTER_TOO_LONG: 1, HTTP_STATUS: 1, TIMEOUT: 1 });
    assert.equal(s.retries, 1);
    assert.equal(s.received429, 2);
    assert.equal(s.attemptsStarted, 5);
    assert.equal(s.inFlight, 0);
    assert.equal(s.successRate, 0.25);
    assert.equal(s.rateWaitMs, 1250);
    assert.equal(s.etaMs, 0);
  });

  test('inFlight is attempt starts minus attempt ends', () => {
    const stats = new RunStats(fakeClock().now);
    stats.onEvent(start(1));
    stats.onEvent(start(2));
    stats.onEvent(start(3));
    assert.equal(stats.snapshot().inFlight, 3);
    stats.onEvent(end(2, 200));
    assert.equal(stats.snapshot().inFlight, 2);
    stats.onEvent(end(1, 503));
    stats.onEvent(end(3, 200));
    assert.equal(stats.snapshot().inFlight, 0);
  });

  test('latency percentiles are within about 1% over the last attempt of each record', () => {
    const stats = new RunStats(fakeClock().now);
    // 1..10000 ms in a scrambled order; plus records without a latency, which are skipped.
    for (let i = 0; i < 10_000; i++) stats.onEvent(record(i, { latencyMs: ((i * 7919) % 10_000) + 1 }));
    for (let i = 0; i < 50; i++) stats.onEvent(failed(20_000 + i, null, 'DNS_FAILURE', { latencyMs: null }));
    const { p50, p95, p99 } = stats.snapshot().latencyMs;
    const near = (actual: number | null, expected: number) => {
      assert.ok(actual !== null);
      assert.ok(Math.abs(actual - expected) / expected <= 0.015, `${actual} not within 1.5% of ${expected}`);
    };
    near(p50, 5000);
    near(p95, 9500);
    near(p99, 9900);
  });

  test('latency: small and degenerate samples stay within the values seen', () => {
    const one = new RunStats(fakeClock().now);
    one.onEvent(record(1, { latencyMs: 123.4 }));
    assert.deepEqual(one.snapshot().latencyMs, { p50: 123.4, p95: 123.4, p99: 123.4 });

    const zeros = new RunStats(fakeClock().now);
    zeros.onEvent(record(1, { latencyMs: 0 }));
    zeros.onEvent(record(2, { latencyMs: 0 }));
    assert.equal(zeros.snapshot().latencyMs.p99, 0);

    const none = new RunStats(fakeClock().now);
    none.onEvent(failed(1, null, 'INVALID_URL', { latencyMs: null }));
    assert.deepEqual(none.snapshot().latencyMs, { p50: null, p95: null, p99: null });
  });

  test('paused hosts: the later pause per host wins, and pauses expire', () => {
    const clock = fakeClock();
    const stats = new RunStats(clock.now);
    const pause = (host: string, untilMs: number, reason: string): RunEvent => ({
      type: 'pause',
      host,
      untilMs,
      delayMs: untilMs - clock.now(),
      source: 'server',
      reason,
    });
    stats.onEvent(pause('a.example', T0 + 5_000, '429 Too Many Requests'));
    stats.onEvent(pause('b.example', T0 + 2_000, '503 Service Unavailable'));
    stats.onEvent(pause('a.example', T0 + 3_000, 'earlier pause, ignored'));
    assert.deepEqual(stats.snapshot().pausedHosts, [
      { host: 'a.example', untilMs: T0 + 5_000, reason: '429 Too Many Requests' },
      { host: 'b.example', untilMs: T0 + 2_000, reason: '503 Service Unavailable' },
    ]);

    clock.set(T0 + 2_000); // b ends exactly now
    assert.deepEqual(
      stats.snapshot().pausedHosts.map((p) => p.host),
      ['a.example'],
    );
    stats.onEvent(pause('a.example', T0 + 9_000, '429 again'));
    assert.deepEqual(stats.snapshot().pausedHosts, [{ host: 'a.example', untilMs: T0 + 9_000, reason: '429 again' }]);

    clock.set(T0 + 9_001);
    assert.deepEqual(stats.snapshot().pausedHosts, []);
  });

  test('rates: achieved since the first start, recent over the last ~5 s, and the ETA', () => {
    const clock = fakeClock();
    const stats = new RunStats(clock.now);
    stats.setTotal(300);
    clock.advance(2_000); // time before the first start does not count against achievedRps
    let line = 0;
    // 10 s at 10 starts (and records) per second.
    for (let i = 0; i < 100; i++) {
      line++;
      stats.onEvent(start(line));
      stats.onEvent(end(line, 200));
      stats.onEvent(record(line));
      clock.advance(100);
    }
    let s = stats.snapshot();
    assert.ok(Math.abs(s.achievedRps! - 10) < 0.5, `achievedRps ${s.achievedRps}`);
    assert.ok(Math.abs(s.recentRps! - 10) < 1, `recentRps ${s.recentRps}`);
    // 200 left at ~10 records/s
    assert.ok(s.etaMs !== null && Math.abs(s.etaMs - 20_000) < 2_500, `etaMs ${s.etaMs}`);

    // Then 5 s at 20 per second: the recent rate follows, the overall one lags.
    for (let i = 0; i < 100; i++) {
      line++;
      stats.onEvent(start(line));
      stats.onEvent(record(line));
      clock.advance(50);
    }
    s = stats.snapshot();
    assert.ok(Math.abs(s.recentRps! - 20) < 2, `recentRps ${s.recentRps}`);
    assert.ok(Math.abs(s.achievedRps! - 200 / 15) < 0.5, `achievedRps ${s.achievedRps}`);

    // A stall: nothing starts for 10 s, so the recent rate drops to 0 and the ETA is unknown.
    clock.advance(10_000);
    s = stats.snapshot();
    assert.equal(s.recentRps, 0);
    assert.equal(s.etaMs, null);
  });

  test('total: setTotal until the input ends, then the real count', () => {
    const stats = new RunStats(fakeClock().now);
    assert.equal(stats.snapshot().total, null);
    stats.setTotal(10);
    assert.equal(stats.snapshot().total, 10);
    stats.onEvent({ type: 'input-end', total: 8 });
    assert.equal(stats.snapshot().total, 8);
    stats.setTotal(undefined);
    assert.equal(stats.snapshot().total, 8);
  });

  test('interrupt is remembered with its first reason', () => {
    const stats = new RunStats(fakeClock().now);
    stats.onEvent({ type: 'interrupt', reason: 'SIGINT', cause: 'signal' });
    stats.onEvent({ type: 'interrupt', reason: 'SIGTERM', cause: 'signal' });
    const s = stats.snapshot();
    assert.equal(s.interrupted, true);
    assert.equal(s.interruptReason, 'SIGINT');
  });

  test('#23: lane rates: the rate found is the one the controller says held; every change goes on the timeline', () => {
    let now = 1_000;
    const stats = new RunStats(() => now);
    const rate = (rps: number, reason: 'start' | 'throttled' | 'clean' | 'probe', heldRps?: number): RunEvent => ({
      type: 'rate',
      lane: 'a',
      rps,
      reason,
      why: `${reason} ${rps}`,
      heldRps,
    });
    stats.onEvent(rate(8, 'start'));
    now += 250;
    stats.onEvent(rate(16, 'clean'));
    assert.deepEqual(stats.snapshot().laneRates, [{ lane: 'a', rps: 16, found: false, settledRps: 16 }]);
    now += 500;
    stats.onEvent(rate(19.4, 'throttled', 19.4));
    stats.onEvent(rate(20.4, 'probe', 19.4));
    assert.deepEqual(stats.snapshot().laneRates, [{ lane: 'a', rps: 20.4, found: true, settledRps: 19.4 }]);
    // A rate kept (a fault ignored) goes on the timeline and leaves the lane's rate alone.
    stats.onEvent({ type: 'rate', lane: 'a', rps: 20.4, reason: 'kept', why: 'fault ignored: 502', heldRps: 19.4 });
    assert.deepEqual(stats.snapshot().laneRates, [{ lane: 'a', rps: 20.4, found: true, settledRps: 19.4 }]);
    assert.deepEqual(
      stats.snapshot().rateTimeline.map((e) => [e.atMs, e.rps, e.reason, e.why]),
      [
        [0, 8, 'start', 'start 8'],
        [250, 16, 'clean', 'clean 16'],
        [750, 19.4, 'throttled', 'throttled 19.4'],
        [750, 20.4, 'probe', 'probe 20.4'],
        [750, 20.4, 'kept', 'fault ignored: 502'],
      ],
    );
  });

  test('a snapshot is a copy: later events do not change it', () => {
    const stats = new RunStats(fakeClock().now);
    stats.onEvent(failed(1, 500, 'HTTP_STATUS'));
    const before = stats.snapshot();
    stats.onEvent(failed(2, 500, 'HTTP_STATUS'));
    assert.deepEqual(before.byStatus, { '500': 1 });
    assert.deepEqual(stats.snapshot().byStatus, { '500': 2 });
  });
});

describe('the run second by second (--stats-file perSecond, pauseTimeline)', () => {
  const start = (line: number): RunEvent => ({ type: 'attempt-start', line, host: 'h', attempt: 1, hop: 0 });
  const end = (line: number, status: number | null): RunEvent => ({
    type: 'attempt-end',
    line,
    host: 'h',
    attempt: 1,
    status,
    code: status === null ? 'CONNECTION_RESET' : null,
    latencyMs: 5,
  });

  test('starts, answers by class, 429s and pauses land in the second they happened; empty seconds have no entry', () => {
    const clock = fakeClock();
    const stats = new RunStats(clock.now);
    stats.onEvent(start(1));
    stats.onEvent(start(2));
    clock.advance(400);
    stats.onEvent(end(1, 200));
    stats.onEvent(end(2, 429));
    stats.onEvent({ type: 'pause', host: 'h', untilMs: T0 + 1_400, delayMs: 1_000, source: 'server', reason: '429 Too Many Requests' });
    clock.advance(2_000); // second 1 passes with nothing in it
    stats.onEvent(start(2));
    stats.onEvent({ type: 'attempt-held', line: 2, host: 'h', attempt: 2, hop: 0 });
    stats.onEvent(start(2));
    stats.onEvent(end(2, null));
    stats.onEvent(start(3));
    stats.onEvent(end(3, 503));
    stats.onEvent({ type: 'remote-attempts', started: 4, ended: 4, refused: 1, retries: 0 });
    const { perSecond, pauses } = stats.history();
    assert.deepEqual(perSecond, [
      { atS: 0, starts: 2, answers: { '2xx': 1, '3xx': 0, '4xx': 1, '5xx': 0, failed: 0 }, received429: 1, pauses: 1 },
      { atS: 2, starts: 6, answers: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 1, failed: 1 }, received429: 1, pauses: 0 },
    ]);
    assert.deepEqual(pauses, [{ atMs: 400, host: 'h', forMs: 1_000, source: 'server', reason: '429 Too Many Requests' }]);
  });
});
