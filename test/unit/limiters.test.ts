// The server models of issue #23 (fixtures/limiters/), in virtual time: scripted arrivals in,
// exactly what is accepted or refused and what the answers say out. The bench divides by their
// `ideal`, and the simulator runs the controller against them, so they are pinned here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FixedWindow } from '../../fixtures/limiters/fixed-window.js';
import { attemptsNeeded, withFaults } from '../../fixtures/limiters/faults.js';
import { Gcra } from '../../fixtures/limiters/gcra.js';
import { getMode, MODE_NAMES, type ModelAnswer, type ServerModel } from '../../fixtures/limiters/index.js';
import { seededRandom } from '../../fixtures/limiters/prng.js';
import { SlidingCounter } from '../../fixtures/limiters/sliding-counter.js';
import { SlidingLog } from '../../fixtures/limiters/sliding-log.js';
import { parseQuotaHeaders } from '../../src/retry/quota-headers.js';

/** A whole minute since the epoch, as real servers' clocks read, so clock windows start here. */
const T0 = Date.UTC(2026, 4, 23, 12, 0, 0);

function ask(model: ServerModel, offsetMs: number, client = 'a'): ModelAnswer {
  return model.answer({ t: T0 + offsetMs, client, path: '/ok' });
}

function statusOf(answer: ModelAnswer): number {
  return answer.kind === 'response' || answer.kind === 'truncated' ? answer.status : 0;
}

function headersOf(answer: ModelAnswer): Record<string, string> {
  return answer.kind === 'response' || answer.kind === 'truncated' ? answer.headers : {};
}

/** Statuses for requests at each offset in turn. */
function statuses(model: ServerModel, offsetsMs: number[], client = 'a'): number[] {
  return offsetsMs.map((offset) => statusOf(ask(model, offset, client)));
}

const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);
const ALWAYS_OK: ServerModel = { answer: () => ({ kind: 'response', status: 200, headers: {}, latencyMs: 0 }) };

test('#23: token bucket: depth 1 spaces requests 1/rps apart, depth 5 lets 5 through back to back; no hints at all', () => {
  const tb1 = getMode('tb1').create();
  assert.deepEqual(statuses(tb1, [0, 50, 60, 99, 100]), [200, 200, 429, 429, 200]);
  assert.deepEqual(ask(tb1, 101), { kind: 'response', status: 429, headers: {}, latencyMs: 0 });
  const tb5 = getMode('tb5').create();
  assert.deepEqual(statuses(tb5, [...repeat(6, 0), 50, 51, 100]), [200, 200, 200, 200, 200, 429, 200, 429, 200]);
});

test('#23: GCRA: the burst back to back, then one per emission interval; a refusal leaves the TAT alone', () => {
  const gcra = new Gcra({ rps: 10, burst: 3 });
  const verdicts = [0, 0, 0, 0, 99, 100].map((t) => gcra.decide('a', t));
  assert.deepEqual(
    verdicts.map((v) => [v.accepted, v.remaining, v.retryAtMs]),
    [
      [true, 2, 0],
      [true, 1, 0],
      [true, 0, 100],
      [false, 0, 100],
      [false, 0, 100],
      [true, 0, 200],
    ],
  );
  const model = getMode('gcra').create({ headers: 'x-ratelimit', reset: 'delta-seconds', retryAfter: 'seconds' });
  const answers = repeat(11, 0).map((offset) => ask(model, offset));
  assert.deepEqual(
    answers.map((a) => [statusOf(a), headersOf(a)['x-ratelimit-remaining'], headersOf(a)['retry-after']]),
    [...Array.from({ length: 10 }, (_, i) => [200, String(9 - i), undefined]), [429, '0', '1']],
  );
});

test('#23: fixed windows on the clock turn over on the clock; 60 s windows hold a fifth of the run', () => {
  const fw1s = getMode('fw1s').create({ retryAfter: 'http-date' });
  const answers = repeat(21, 500).map((offset) => ask(fw1s, offset));
  assert.deepEqual(answers.map(statusOf), [...repeat(20, 200), 429]);
  assert.equal(headersOf(answers[20]!)['retry-after'], new Date(T0 + 1000).toUTCString());
  assert.deepEqual(statuses(fw1s, [999, 1000]), [429, 200]);

  const fw60s = getMode('fw60s').create({ count: 600, headers: 'x-ratelimit' });
  const minute = repeat(121, 10_000).map((offset) => ask(fw60s, offset));
  assert.deepEqual(minute.map(statusOf), [...repeat(120, 200), 429]);
  assert.deepEqual(headersOf(minute[120]!), {
    'x-ratelimit-limit': '120',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String((T0 + 60_000) / 1000),
    'retry-after': '50',
  });
});

test('#23: a client-opened 2 s window opens at the first request, not at a clock boundary', () => {
  const model = getMode('client-window-2s').create({ headers: 'x-ratelimit', reset: 'delta-seconds' });
  const first = ask(model, 1700);
  assert.deepEqual(headersOf(first), { 'x-ratelimit-limit': '40', 'x-ratelimit-remaining': '39', 'x-ratelimit-reset': '2' });
  assert.deepEqual(statuses(model, repeat(39, 1800)), repeat(39, 200));
  // The clock second turns over at 2000; this window does not.
  const refused = ask(model, 2000);
  assert.deepEqual([statusOf(refused), headersOf(refused)['retry-after'], headersOf(refused)['x-ratelimit-reset']], [429, '2', '2']);
  assert.deepEqual(statuses(model, [3699.9, 3700]), [429, 200]);
  assert.equal(headersOf(ask(model, 3700))['x-ratelimit-remaining'], '38');
  // Another client has a window of its own, opened by its own first request.
  assert.equal(headersOf(ask(model, 2500, 'b'))['x-ratelimit-remaining'], '39');

  const window = new FixedWindow({ limit: 1, windowMs: 1000, start: 'client' });
  assert.deepEqual(
    [300, 1299, 1300, 2299, 2300].map((t) => window.decide('a', t).accepted),
    [true, false, true, false, true],
  );
});

test('#23: a sliding log of 20/s refuses the 21st request within any 1000 ms', () => {
  const log = new SlidingLog({ limit: 20 });
  const scripted = [...Array.from({ length: 20 }, (_, i) => i), 999, 1000, 1000.5, 1001].map((t) => log.decide('a', T0 + t));
  assert.deepEqual(
    scripted.map((v) => v.accepted),
    [...repeat(20, true), false, true, false, true],
  );
  assert.equal(scripted[20]!.retryAtMs, T0 + 1000);

  // Random arrivals, faster than the limit: full windows refuse, and no window ever holds 21.
  const random = seededRandom(23);
  const model = new SlidingLog({ limit: 20 });
  const accepted: number[] = [];
  let t = T0;
  for (let i = 0; i < 5000; i++) {
    t += random() * 60;
    const inWindow = accepted.filter((a) => a > t - 1000).length;
    const { accepted: isAccepted } = model.decide('a', t);
    assert.equal(isAccepted, inWindow < 20, `request ${i} at +${(t - T0).toFixed(3)} ms with ${inWindow} in the last 1000 ms`);
    if (isAccepted) accepted.push(t);
  }
  assert.ok(accepted.length > 1000);
});

test('#23: a sliding window counter weighs the previous window: half way through, half its count still counts', () => {
  const counter = new SlidingCounter({ limit: 20 });
  const first = repeat(21, 0).map((t) => counter.decide('a', T0 + t));
  assert.deepEqual(
    first.map((v) => v.accepted),
    [...repeat(20, true), false],
  );
  // The next window starts with the previous 20 at full weight: one fits a whole ms later.
  assert.equal(first[20]!.retryAtMs, T0 + 1001);
  assert.deepEqual(
    [1000, 1001].map((t) => counter.decide('a', T0 + t).accepted),
    [false, true],
  );
  // At 1500 the previous window weighs 10: 9 more fit (cur 1 → 10), the 10th waits for 1501.
  const half = repeat(10, 1500.9).map((t) => counter.decide('a', T0 + t));
  assert.deepEqual(
    half.map((v) => v.accepted),
    [...repeat(9, true), false],
  );
  assert.deepEqual([half[8]!.remaining, half[9]!.retryAtMs], [0, T0 + 1501]);
  assert.equal(counter.decide('a', T0 + 1501).accepted, true);
});

test('#23: quota headers rounded up to whole seconds never name a time before the real reset; the first answer of a window says it opened', () => {
  for (const [name, windowMs] of [
    ['quota-rounded-short', 250],
    ['quota-rounded-long', 1500],
  ] as const) {
    const model = getMode(name).create();
    const random = seededRandom(7);
    let overstated = 0;
    let lastWindow = -1;
    for (let t = T0; t < T0 + 20_000; t += random() * 40) {
      const answer = ask(model, t - T0);
      const windowEnd = (Math.floor(t / windowMs) + 1) * windowMs;
      const quota = parseQuotaHeaders(headersOf(answer), t);
      assert.ok(quota?.resetAtMs !== undefined && quota.resetAtMs >= windowEnd, `${name} at +${t - T0}: reset ${quota?.resetAtMs} before ${windowEnd}`);
      if (quota.resetAtMs > windowEnd) overstated++;
      const window = Math.floor(t / windowMs);
      if (window !== lastWindow) assert.equal(quota.remaining, (quota.limit ?? 0) - 1, `${name}: first answer of a window`);
      lastWindow = window;
    }
    assert.ok(overstated > 100, `${name}: the rounding overstates the reset (${overstated} times)`);
  }
});

test('#23: draft-11 RateLimit: r is the quota available and t the window it may be used in, not a reset time', () => {
  const model = getMode('ietf-draft11').create();
  const first = ask(model, 300);
  assert.deepEqual(headersOf(first), { 'ratelimit-policy': '"default";q=20;w=1', ratelimit: '"default";r=19;t=1' });
  assert.deepEqual(parseQuotaHeaders(headersOf(first), T0 + 300), {
    source: 'ratelimit-structured',
    limit: 20,
    windowMs: 1000,
    remaining: 19,
    resetAtMs: T0 + 1300,
  });
  const rest = repeat(20, 900).map((offset) => ask(model, offset));
  assert.deepEqual(rest.map(statusOf), [...repeat(19, 200), 429]);
  assert.deepEqual(headersOf(rest[20 - 1]!), { 'ratelimit-policy': '"default";q=20;w=1', ratelimit: '"default";r=0;t=1', 'retry-after': '1' });

  // A client that reads "at most r in the next t seconds" is never refused.
  const obedient = getMode('ietf-draft11').create();
  let t = 0;
  for (let sent = 0; sent < 200; sent++) {
    const answer = ask(obedient, t, 'obedient');
    assert.equal(statusOf(answer), 200, `request ${sent} at +${t} ms`);
    const match = /r=(\d+);t=(\d+)/.exec(headersOf(answer).ratelimit ?? '');
    if (match?.[1] === '0') t += Number(match[2]) * 1000;
  }
});

test('#23: halving and doubling: 20 a second, 10 after changeAfterMs, 20 again after twice that', () => {
  const perSecond = (name: string) => {
    const model = getMode(name).create({ changeAfterMs: 3000 });
    return Array.from({ length: 8 }, (_, s) => statuses(model, repeat(30, s * 1000)).filter((status) => status === 200).length);
  };
  assert.deepEqual(perSecond('halving'), [20, 20, 20, 10, 10, 10, 10, 10]);
  assert.deepEqual(perSecond('doubling'), [20, 20, 20, 10, 10, 10, 20, 20]);
});

test('#23: faults are the same for the same seed, and about the asked share over 10,000 requests', () => {
  const label = (a: ModelAnswer) => (a.kind === 'response' && a.latencyMs > 0 ? 'slow' : a.kind === 'response' ? a.status : a.kind);
  const run = (rate: number, seed: number) => {
    const model = withFaults(ALWAYS_OK, { rate, seed });
    return Array.from({ length: 10_000 }, (_, i) => model.answer({ t: T0 + i, client: 'a', path: '/ok' }));
  };
  const thirty = run(0.3, 42);
  assert.deepEqual(thirty.map(label), run(0.3, 42).map(label));
  assert.notDeepEqual(thirty.map(label), run(0.3, 43).map(label));
  for (const [rate, answers] of [
    [0.3, thirty],
    [0.1, run(0.1, 42)],
  ] as const) {
    const share = answers.filter((a) => label(a) !== 200).length / answers.length;
    assert.ok(Math.abs(share - rate) < 0.015, `asked ${rate}, got ${share}`);
  }
  for (const kind of [500, 502, 503, 'reset', 'truncated', 'slow']) {
    const share = thirty.filter((a) => label(a) === kind).length / thirty.length;
    assert.ok(Math.abs(share - 0.05) < 0.015, `${kind}: ${share}`);
  }
  const fault503 = thirty.find((a) => label(a) === 503);
  assert.equal(headersOf(fault503!)['retry-after'], '1');
  assert.deepEqual(
    thirty.find((a) => label(a) === 'slow'),
    { kind: 'response', status: 200, headers: {}, latencyMs: 3000 },
  );
  // attemptsNeeded replays the same draws: 600 successes take exactly this many requests.
  const needed = thirty.findIndex((_, i) => thirty.slice(0, i + 1).filter((a) => label(a) === 200).length === 600) + 1;
  assert.equal(attemptsNeeded(600, { rate: 0.3, seed: 42 }), needed);
});

test('#23: a faulted request has spent quota and keeps its quota headers; a refusal passes through untouched', () => {
  const limited = () => getMode('client-window-60s').create({ count: 10, headers: 'x-ratelimit', reset: 'delta-seconds' });
  const behind = withFaults(limited(), { rate: 0.999, seed: 1, kinds: [502] });
  const answers = [0, 1, 2, 3].map((offset) => ask(behind, offset));
  assert.deepEqual(
    answers.map((a) => [statusOf(a), headersOf(a)['x-ratelimit-remaining']]),
    [
      [502, '1'],
      [502, '0'],
      [429, '0'],
      [429, '0'],
    ],
  );
  assert.equal(headersOf(answers[2]!)['retry-after'], '60');

  // In front of the limiter, a fault never reaches it: the quota is all there for the rest.
  const inFront = withFaults(limited(), { rate: 0.5, seed: 3, kinds: ['reset'], countsAgainstLimit: false });
  const labels = Array.from({ length: 40 }, (_, i) => statusOf(ask(inFront, i)));
  assert.deepEqual(
    labels.filter((s) => s !== 0),
    [200, 200, ...repeat(labels.filter((s) => s !== 0).length - 2, 429)],
  );
  assert.ok(labels.filter((s) => s === 0).length > 10);
});

test('#23: every mode: its ideal for 600 requests, the least time its limiter allows', () => {
  const expected: Record<string, number> = {
    tb1: 599 * 50,
    tb5: 595 * 50,
    gcra: 590 * 50,
    fw1s: 29_000,
    fw60s: 4 * 60_000,
    'client-window-1s': 29_000,
    'client-window-2s': 14 * 2000,
    'client-window-60s': 4 * 60_000,
    'sliding-log': 29_000,
    'sliding-counter': 29_000 + 951,
    'quota-rounded-short': 119 * 250,
    'quota-rounded-long': 19 * 1500,
    'ietf-draft11': 29_000,
    halving: 49_000,
    doubling: 34_000,
    slow: 599 * 200 + 1000,
    faults10: (attemptsNeeded(600, { rate: 0.1 }) - 1) * 50,
    faults30: (attemptsNeeded(600, { rate: 0.3 }) - 1) * 50,
  };
  assert.deepEqual(Object.keys(expected).sort(), [...MODE_NAMES].sort());
  for (const name of MODE_NAMES) assert.equal(getMode(name).ideal(600), expected[name], name);
  assert.ok(attemptsNeeded(600, { rate: 0.3 }) > 800 && attemptsNeeded(600, { rate: 0.3 }) < 920);
  // A run that starts late in a clock second gets that second's quota at once.
  assert.equal(getMode('fw1s').ideal(600, { startMs: T0 + 999 }), 28_001);
  assert.equal(getMode('fw1s+faults30').ideal(600), (Math.ceil(attemptsNeeded(600, { rate: 0.3 }) / 20) - 1) * 1000);
});

test('#23: every mode answers a first request 200, and names are checked', () => {
  for (const name of MODE_NAMES.filter((n) => !n.startsWith('faults'))) {
    assert.equal(statusOf(ask(getMode(name).create(), 0)), 200, name);
  }
  assert.equal(getMode('sliding-log+faults30').name, 'sliding-log+faults30');
  assert.throws(() => getMode('token-bucket'), /unknown mode "token-bucket": expected one of tb1, tb5/);
  assert.throws(() => getMode('tb1').create({ faults: { rate: 1 } }), /faults.rate must be >= 0 and < 1/);
});

test('#23: a mode says what it goes by: its limit, latency, hints and faults, with options on top', () => {
  const slow = getMode('slow').settings();
  assert.deepEqual([slow.rps, slow.latencyMs, slow.headers, slow.retryAfter, slow.faults], [5, 1000, undefined, 'seconds', undefined]);
  assert.deepEqual(getMode('tb1').settings({ latencyMs: 5 }), { ...getMode('tb1').settings(), latencyMs: 5 });
  assert.equal(getMode('tb5').settings().retryAfter, 'none');
  assert.equal(getMode('quota-rounded-short').settings().headers, 'x-ratelimit');
  assert.deepEqual(getMode('sliding-log+faults30').settings({ faults: { seed: 7 } }).faults, { rate: 0.3, seed: 7 });
  assert.equal(getMode('fw1s').settings({ faults: { seed: 7 } }).faults?.rate, undefined);
});
