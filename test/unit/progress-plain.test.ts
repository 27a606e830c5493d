import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { Chalk } from 'chalk';
import { RunStats, type StatsSnapshot } from '../../src/report/stats.js';
import { formatPlainLine, startPlainProgress } from '../../src/report/progress-plain.js';
import { formatTtyLine } from '../../src/report/progress-tty.js';

const T0 = 1_700_000_000_000;

function snapshot(over: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    rateTimeline: [],
    startedAt: T0,
    elapsedMs: 10_000,
    total: 300,
    read: 150,
    inputEnded: false,
    done: 120,
    ok: 118,
    failed: 2,
    notFinal: 0,
    byStatus: {},
    byErrorCode: {},
    schemaMismatchByPath: {},
    retries: 3,
    received429: 1,
    attemptsStarted: 126,
    inFlight: 6,
    successRate: 118 / 120,
    achievedRps: 12.6,
    recentRps: 12,
    latencyMs: { p50: 100, p95: 200, p99: 300 },
    rateWaitMs: 0,
    pausedHosts: [],
    laneRates: [],
    interrupted: false,
    interruptReason: null,
    etaMs: 15_000,
    batchedInputs: 0,
    saved: { files: 0, bytes: 0, foundWhole: 0 },
    ...over,
  };
}

/** A stream that keeps every write, with the time it happened. */
function collector(): { stream: Writable; writes: Array<{ at: number; text: string }> } {
  const writes: Array<{ at: number; text: string }> = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      writes.push({ at: performance.now(), text: String(chunk) });
      callback();
    },
  });
  return { stream, writes };
}

describe('formatPlainLine', () => {
  test('with a total', () => {
    assert.equal(formatPlainLine(snapshot()), 'ratefetch: 120/300 done (40%), 12.0 req/s, 3 retries, 1×429, 2 failed, eta 15s');
  });

  test('without a total (stdin): counts only, no eta', () => {
    assert.equal(formatPlainLine(snapshot({ total: null, etaMs: null, retries: 1 })), 'ratefetch: 120 done, 12.0 req/s, 1 retry, 1×429, 2 failed');
  });

  test('#11: the rate the controller holds the run to, slowest lane first', () => {
    assert.equal(
      formatPlainLine(snapshot({ laneRates: [{ lane: 'a', rps: 18.44, found: true, settledRps: 18.44 }] })),
      'ratefetch: 120/300 done (40%), 12.0 req/s, limit 18.4/s, 3 retries, 1×429, 2 failed, eta 15s',
    );
    const two = formatPlainLine(
      snapshot({
        laneRates: [
          { lane: 'a', rps: 0.5, found: true, settledRps: 0.5 },
          { lane: 'b', rps: 9, found: false, settledRps: 9 },
        ],
      }),
    );
    assert.ok(two.includes(', limit 30.0/min (+1),'), two);
    const tty = formatTtyLine(snapshot({ laneRates: [{ lane: 'a', rps: 18.44, found: true, settledRps: 18.44 }] }), {
      chalk: new Chalk({ level: 0 }),
      width: 200,
    });
    assert.ok(tty.includes('12.0 req/s · limit 18.4/s'), tty);
  });

  test('a paused host is shown with the time left', () => {
    const line = formatPlainLine(
      snapshot({
        pausedHosts: [
          { host: 'api.example.com', untilMs: T0 + 10_000 + 3_200, reason: '429 Too Many Requests' },
          { host: 'b.example.com', untilMs: T0 + 10_000 + 1_000, reason: '503 Service Unavailable' },
        ],
      }),
    );
    assert.ok(line.endsWith(', waiting 4s: 429 from api.example.com (+1 host)'), line);
  });

  test('before any request: zeros, not NaN or null', () => {
    const line = formatPlainLine(new RunStats(() => T0).snapshot());
    assert.equal(line, 'ratefetch: 0 done, 0.0 req/s, 0 retries, 0×429, 0 failed');
  });
});

describe('startPlainProgress', () => {
  test('writes at most one plain line per interval, and nothing after stop()', async () => {
    const stats = new RunStats();
    stats.setTotal(10);
    const { stream, writes } = collector();
    const intervalMs = 25;
    const started = performance.now();
    const progress = startPlainProgress(stats, stream, { intervalMs });
    for (let i = 1; i <= 5; i++) {
      stats.onEvent({ type: 'attempt-start', line: i, host: 'h', attempt: 1, hop: 0 });
      await sleep(20);
    }
    await sleep(60);
    const elapsed = performance.now() - started;
    progress.stop();
    const count = writes.length;

    assert.ok(count >= 1, 'at least one line in 160 ms at a 25 ms interval');
    assert.ok(count <= Math.floor(elapsed / intervalMs) + 1, `${count} lines in ${elapsed} ms`);
    for (let i = 1; i < writes.length; i++) {
      // Timers may fire a little late, never early by much.
      assert.ok(writes[i]!.at - writes[i - 1]!.at >= intervalMs * 0.5, 'two lines inside one interval');
    }
    for (const { text } of writes) {
      assert.match(text, /^ratefetch: [^\n]*\n$/);
      assert.doesNotMatch(text, /[\u001b\r]/);
    }

    await sleep(80);
    assert.equal(writes.length, count, 'stop() prints nothing and stops the timer');
  });

  test('a run shorter than one interval prints nothing', async () => {
    const { stream, writes } = collector();
    const progress = startPlainProgress(new RunStats(), stream, { intervalMs: 1_000 });
    await sleep(30);
    progress.stop();
    assert.deepEqual(writes, []);
  });

  test('log() writes one line', () => {
    const { stream, writes } = collector();
    const progress = startPlainProgress(new RunStats(), stream, { intervalMs: 1_000 });
    progress.log('retry line 3 after attempt 1 h: 503; waiting 1s (backoff)');
    progress.stop();
    assert.deepEqual(
      writes.map((w) => w.text),
      ['retry line 3 after attempt 1 h: 503; waiting 1s (backoff)\n'],
    );
  });
});

// The TTY line is pure too; its width rule is pinned here next to the plain line.
describe('formatTtyLine', () => {
  const plain = new Chalk({ level: 0 });
  const paused = snapshot({
    pausedHosts: [{ host: 'api.example.com', untilMs: T0 + 10_000 + 12_000, reason: '429 Too Many Requests' }],
  });

  test('a wide terminal shows everything', () => {
    const line = formatTtyLine(paused, { chalk: plain, width: 200 });
    for (const part of [
      '40% 120/300',
      '12.0 req/s',
      '6 in flight',
      '3 retries',
      '1×429',
      '2 errors',
      '98.3% ok',
      'eta 15s',
      'waiting 12s: 429 from api.example.com',
    ]) {
      assert.ok(line.includes(part), `${part} missing from ${line}`);
    }
    assert.match(line, /^\[█+░+\] /);
  });

  test('never wider than the terminal, and keeps the most useful parts', () => {
    for (let width = 10; width <= 160; width += 5) {
      const line = formatTtyLine(paused, { chalk: plain, width });
      assert.ok(line.length <= width, `width ${width}: ${line.length} chars`);
      if (width >= 20) assert.ok(line.startsWith('40% 120/300') || line.startsWith('['), line);
    }
    const narrow = formatTtyLine(paused, { chalk: plain, width: 80 });
    assert.ok(narrow.includes('waiting 12s'), narrow);
  });

  test('colours do not count towards the width', () => {
    const coloured = formatTtyLine(paused, { chalk: new Chalk({ level: 1 }), width: 80 });
    // eslint-disable-next-line no-control-regex
    const visible = coloured.replace(/\u001b\[[0-9;]*m/g, '');
    assert.ok(visible.length <= 80);
    assert.equal(visible, formatTtyLine(paused, { chalk: plain, width: 80 }));
  });

  test('without a total: counts, no bar', () => {
    const line = formatTtyLine(snapshot({ total: null, etaMs: null }), { chalk: plain, width: 120 });
    assert.match(line, /^120 done · 12\.0 req\/s/);
    assert.doesNotMatch(line, /[█░]/);
  });
});
