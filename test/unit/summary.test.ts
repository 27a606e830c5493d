import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { StatsSnapshot } from '../../src/report/stats.js';
import { formatDuration } from '../../src/text.js';
import { toStatsJson } from '../../src/report/stats-json.js';
import { formatSummary } from '../../src/report/summary.js';
import { createStderrChalk, resolveColorLevel } from '../../src/report/color.js';
import { formatVerboseLine } from '../../src/report/verbose.js';

const plain = new Chalk({ level: 0 });
const ANSI = /\u001b\[/;

function snapshot(over: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    rateTimeline: [],
    startedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
    elapsedMs: 25_100,
    total: 300,
    read: 300,
    inputEnded: true,
    done: 300,
    ok: 290,
    failed: 10,
    notFinal: 3,
    byStatus: { '404': 2, '503': 6 },
    byErrorCode: { HTTP_STATUS: 8, TIMEOUT: 2 },
    schemaMismatchByPath: {},
    retries: 14,
    received429: 9,
    attemptsStarted: 301,
    inFlight: 0,
    successRate: 290 / 300,
    achievedRps: 12.04,
    recentRps: 11,
    latencyMs: { p50: 120.4, p95: 480, p99: 1234 },
    rateWaitMs: 3_200,
    pausedHosts: [],
    laneRates: [],
    interrupted: false,
    interruptReason: null,
    etaMs: 0,
    batchedInputs: 0,
    saved: { files: 0, bytes: 0, foundWhole: 0 },
    ...over,
  };
}

describe('formatSummary', () => {
  test('shows every figure, with no colour at level 0', () => {
    const text = formatSummary(snapshot(), plain);
    assert.doesNotMatch(text, ANSI);
    assert.ok(text.endsWith('\n'));
    for (const needle of [
      'records      300',
      'ok           290',
      '96.6% success rate',
      'failed       10',
      'by status: 503 ×6, 404 ×2',
      'by code: HTTP_STATUS ×8, TIMEOUT ×2',
      'not final    3',
      'retries      14',
      '429 received: 9',
      'wall time    25.1s',
      '12.0 req/s achieved',
      '301 attempts',
      'p50 120ms · p95 480ms · p99 1.2s (last attempt)',
      '3.2s held back by rate limits',
    ]) {
      assert.ok(text.includes(needle), `missing ${JSON.stringify(needle)} in:\n${text}`);
    }
    assert.doesNotMatch(text, /interrupted/);
  });

  test('#28: a run with --batch says how many inputs went in how many requests; a run without has no such line', () => {
    assert.match(formatSummary(snapshot({ batchedInputs: 300, attemptsStarted: 7 }), plain), /\n {2}batched {6}300 inputs in 7 requests \(--batch\)\n/);
    assert.doesNotMatch(formatSummary(snapshot(), plain), /batched/);
    assert.match(formatSummary(snapshot({ batchedInputs: 3, attemptsStarted: 1 }), plain), /batched {6}3 inputs in 1 request \(--batch\)/);
  });

  test('an interrupted run says so, with what was left', () => {
    const text = formatSummary(snapshot({ interrupted: true, interruptReason: 'SIGINT', done: 120, ok: 118, failed: 2 }), plain);
    assert.match(text, /^ratefetch: interrupted/);
    assert.match(text, /records +120 of 300 inputs/);
    assert.match(text, /interrupted +SIGINT, 180 inputs not finished/);
  });

  test('an empty run prints n/a rather than NaN', () => {
    const text = formatSummary(
      snapshot({
        total: 0,
        read: 0,
        done: 0,
        ok: 0,
        failed: 0,
        notFinal: 0,
        byStatus: {},
        byErrorCode: {},
        schemaMismatchByPath: {},
        retries: 0,
        received429: 0,
        attemptsStarted: 0,
        successRate: null,
        achievedRps: null,
        latencyMs: { p50: null, p95: null, p99: null },
        rateWaitMs: 0,
      }),
      plain,
    );
    assert.doesNotMatch(text, /NaN|null|undefined/);
    assert.match(text, /latency +n\/a/);
    assert.doesNotMatch(text, /not final/);
  });

  test('#11: the rate the controller settled at, per host or route, and whether a 429 found it', () => {
    const text = formatSummary(
      snapshot({
        laneRates: [
          { lane: 'api.example.com', rps: 18.44, found: true, settledRps: 18.44 },
          { lane: 'slow.example.com', rps: 0.05, found: false, settledRps: 0.05 },
        ],
      }),
      plain,
    );
    assert.match(text, /rate found +settled at 18\.4\/s for api\.example\.com/);
    assert.match(text, /rate found +climbed to \(no 429 seen\) 3\.0\/min for slow\.example\.com/);
    assert.doesNotMatch(formatSummary(snapshot(), plain), /rate found/, 'nothing when no controller engaged');
    assert.deepEqual(toStatsJson(snapshot({ laneRates: [{ lane: 'a', rps: 18.444, found: true, settledRps: 18.444 }] })).laneRates, [
      { lane: 'a', rps: 18.44, found: true, settledRps: 18.44 },
    ]);
  });

  test('#23: --stats-file has the timeline of rate changes, with why; no rate (quota headers pace it) is null', () => {
    const rateTimeline = [
      { atMs: 0.4, lane: 'a', rps: 8, reason: 'start' as const, why: '--rps auto starts here' },
      { atMs: 1_234.56, lane: 'a', rps: 19.4321, reason: 'throttled' as const, why: 'cut: 429 at 32.0/s' },
      { atMs: 2_000, lane: 'a', rps: Infinity, reason: 'quota' as const, why: 'quota headers pace it instead' },
    ];
    const json = toStatsJson(snapshot({ rateTimeline }));
    assert.deepEqual(json.rateTimeline, [
      { atMs: 0, lane: 'a', rps: 8, reason: 'start', why: '--rps auto starts here' },
      { atMs: 1_235, lane: 'a', rps: 19.43, reason: 'throttled', why: 'cut: 429 at 32.0/s' },
      { atMs: 2_000, lane: 'a', rps: null, reason: 'quota', why: 'quota headers pace it instead' },
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });

  test('#11: a run that ends while probing past the limit found says where it settled, and the probe', () => {
    const text = formatSummary(snapshot({ laneRates: [{ lane: 'api.example.com', rps: 23.28, found: true, settledRps: 19.4 }] }), plain);
    assert.match(text, /rate found +settled at 19\.4\/s for api\.example\.com \(probing 23\.3\/s at the end\)/);
    assert.deepEqual(toStatsJson(snapshot({ laneRates: [{ lane: 'a', rps: 23.28, found: true, settledRps: 19.4 }] })).laneRates, [
      { lane: 'a', rps: 23.28, found: true, settledRps: 19.4 },
    ]);
  });

  test('colours appear when the chalk has a level', () => {
    assert.match(formatSummary(snapshot(), new Chalk({ level: 1 })), ANSI);
  });
});

describe('toStatsJson', () => {
  test('has the documented fields, rounded, and survives JSON', () => {
    const json = toStatsJson(snapshot());
    assert.deepEqual(Object.keys(json), [
      'version',
      'startedAt',
      'wallMs',
      'interrupted',
      'interruptReason',
      'inputs',
      'records',
      'ok',
      'failed',
      'notFinal',
      'failedByStatus',
      'failedByCode',
      'schemaMismatchesByPath',
      'attempts',
      'retries',
      'received429',
      'successRate',
      'achievedRps',
      'latencyMs',
      'rateWaitMs',
      'laneRates',
      'rateTimeline',
      'perSecond',
      'pauseTimeline',
      'batchedInputs',
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
    assert.equal(json.version, 1);
    assert.equal(json.startedAt, '2025-01-02T03:04:05.000Z');
    assert.equal(json.wallMs, 25_100);
    assert.equal(json.records, 300);
    assert.equal(json.successRate, 0.9667);
    assert.equal(json.achievedRps, 12.04);
    assert.deepEqual(json.latencyMs, { p50: 120.4, p95: 480, p99: 1234 });
    assert.deepEqual(json.failedByStatus, { '404': 2, '503': 6 });
    assert.deepEqual(json.failedByCode, { HTTP_STATUS: 8, TIMEOUT: 2 });
    assert.equal(json.rateWaitMs, 3_200);
  });

  test('nulls stay null', () => {
    const json = toStatsJson(snapshot({ successRate: null, achievedRps: null, latencyMs: { p50: null, p95: null, p99: null } }));
    assert.equal(json.successRate, null);
    assert.equal(json.achievedRps, null);
    assert.deepEqual(json.latencyMs, { p50: null, p95: null, p99: null });
  });
});

describe('formatDuration', () => {
  const cases: Array<[number, string]> = [
    [0, '0ms'],
    [480.4, '480ms'],
    [999.6, '1s'],
    [1_200, '1.2s'],
    [5_000, '5s'],
    [25_149, '25.1s'],
    [59_960, '1m00s'],
    [245_000, '4m05s'],
    [3_599_600, '1h00m'],
    [7_380_000, '2h03m'],
    // #22 §5: the one formatter also words the long waits --max-retry-after refuses.
    [47 * 3_600_000 + 59 * 60_000, '47h59m'],
    [2 * 86_400_000 + 4 * 3_600_000, '2d04h'],
  ];
  for (const [ms, expected] of cases) {
    test(`${ms} ms → ${expected}`, () => assert.equal(formatDuration(ms), expected));
  }
});

describe('resolveColorLevel (stderr colour)', () => {
  const cases: Array<[string, boolean, NodeJS.ProcessEnv, 0 | 1 | 2 | 3]> = [
    ['not a TTY', false, {}, 0],
    ['plain TTY', true, { TERM: 'xterm' }, 1],
    ['TTY, 256 colours', true, { TERM: 'xterm-256color' }, 2],
    ['TTY, truecolor', true, { TERM: 'xterm-256color', COLORTERM: 'truecolor' }, 3],
    ['TTY, 24bit', true, { COLORTERM: '24bit' }, 3],
    ['TTY, TERM=dumb', true, { TERM: 'dumb' }, 0],
    ['NO_COLOR on a TTY', true, { NO_COLOR: '1', TERM: 'xterm-256color' }, 0],
    ['NO_COLOR beats FORCE_COLOR', true, { NO_COLOR: 'yes', FORCE_COLOR: '3' }, 0],
    ['empty NO_COLOR is ignored', true, { NO_COLOR: '', TERM: 'xterm' }, 1],
    ['FORCE_COLOR=0 on a TTY', true, { FORCE_COLOR: '0' }, 0],
    ['FORCE_COLOR=false on a TTY', true, { FORCE_COLOR: 'false' }, 0],
    ['FORCE_COLOR=1 off a TTY', false, { FORCE_COLOR: '1' }, 1],
    ['FORCE_COLOR=2 off a TTY', false, { FORCE_COLOR: '2' }, 2],
    ['FORCE_COLOR=3 off a TTY', false, { FORCE_COLOR: '3' }, 3],
    ['FORCE_COLOR=true off a TTY', false, { FORCE_COLOR: 'true' }, 1],
    ['FORCE_COLOR empty off a TTY', false, { FORCE_COLOR: '' }, 1],
    ['FORCE_COLOR beats TERM=dumb', false, { FORCE_COLOR: '2', TERM: 'dumb' }, 2],
    ['FORCE_COLOR lowers a truecolor TTY', true, { FORCE_COLOR: '1', COLORTERM: 'truecolor' }, 1],
    ['unknown FORCE_COLOR falls back to detection', true, { FORCE_COLOR: 'maybe', TERM: 'xterm-256color' }, 2],
  ];
  for (const [name, isTTY, env, level] of cases) {
    test(`${name} → ${level}`, () => {
      assert.equal(resolveColorLevel({ isTTY, env }), level);
      assert.equal(createStderrChalk({ isTTY, env }).level, level);
    });
  }
});

describe('formatVerboseLine', () => {
  test('retry, pause and interrupt get one line each', () => {
    assert.equal(
      formatVerboseLine({
        type: 'retry',
        line: 17,
        host: 'api.example.com',
        attempt: 1,
        delayMs: 1_200,
        source: 'backoff',
        reason: '503 Service Unavailable',
      }),
      'retry line 17 after attempt 1 api.example.com: 503 Service Unavailable; waiting 1.2s (backoff)',
    );
    assert.equal(
      formatVerboseLine({
        type: 'pause',
        host: 'api.example.com',
        untilMs: 0,
        delayMs: 5_000,
        source: 'server',
        reason: '429 Too Many Requests',
      }),
      'pause api.example.com for 5s: 429 Too Many Requests (server)',
    );
    assert.equal(formatVerboseLine({ type: 'interrupt', reason: 'SIGINT', cause: 'signal' }), 'interrupt: SIGINT');
  });

  test('server text cannot break the line or inject escapes', () => {
    const line = formatVerboseLine({
      type: 'pause',
      host: 'h',
      untilMs: 0,
      delayMs: 1_000,
      source: 'server',
      reason: 'bad\r\nnews\u001b[2J',
    });
    assert.equal(line, 'pause h for 1s: bad news [2J (server)');
  });

  test('other events print nothing', () => {
    assert.equal(formatVerboseLine({ type: 'input', line: 1 }), undefined);
    assert.equal(formatVerboseLine({ type: 'attempt-start', line: 1, host: 'h', attempt: 1, hop: 0 }), undefined);
    assert.equal(formatVerboseLine({ type: 'rate-wait', waitedMs: 5 }), undefined);
  });
});
