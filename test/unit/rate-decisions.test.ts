// Issue #23: the limit finder's decisions as tables of evidence → decision. Each part is a pure
// function with the time passed in (src/rate/controller/cut.ts, climb.ts, fill.ts), so a row
// is the whole story: the finder's state, what happened, what it decides.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideClimb, type ClimbState, wasUsed } from '../../src/rate/controller/climb.ts';
import { type CutDecision, type CutMeasures, decideCut, type RateState, readRefusal, type Refusal, startingState } from '../../src/rate/controller/cut.ts';
import { type Fill, fillAfterPause, noteFillStart, secondOfWindows } from '../../src/rate/controller/fill.ts';
import { ADAPTIVE } from '../../src/rate/controller/tuning.ts';

/** Settled at 20/s under a ceiling of 40/s, changed at t = 0, never cut or raised. */
function settledAt20(overrides: Partial<RateState> = {}): RateState {
  return { ...startingState(20, 40, false, 0), ...overrides };
}

/** A refusal at 2,900 ms of a request started 10 ms before, reaching the server 1 ms after it started. */
function refusal(overrides: Partial<Refusal> = {}): Refusal {
  return { now: 2_900, startedAt: 2_890, arrivedAt: 2_891, retryAfterMs: 1_000, ...overrides };
}

function measures(overrides: Partial<CutMeasures> = {}): CutMeasures {
  return { sentRps: 20, limitAround: 15, busiestSecond: 15, limitOverWait: Number.NaN, gapBeforeMs: undefined, earlyInSecond: false, ...overrides };
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);
}

describe('#23: the first reading of a refusal', () => {
  const ROWS: Array<[string, Partial<RateState>, Partial<Refusal>, ReturnType<typeof readRefusal>]> = [
    ['sent before the last cut', { cutAt: 2_895 }, {}, 'same-episode'],
    ['sent within cutHoldMs after the last cut', { cutAt: 2_890 - ADAPTIVE.cutHoldMs + 1 }, {}, 'same-episode'],
    ['sent cutHoldMs after the last cut', { cutAt: 2_890 - ADAPTIVE.cutHoldMs }, {}, 'measure'],
    ['Retry-After of longWindowMs: a long window ran out', {}, { retryAfterMs: ADAPTIVE.longWindowMs }, 'long-window'],
    ['Retry-After just under longWindowMs', {}, { retryAfterMs: ADAPTIVE.longWindowMs - 1 }, 'measure'],
    ['no rate, no --rps, no Retry-After: slow start finds it', { rps: Infinity, ceiling: Infinity }, { retryAfterMs: undefined }, 'restart'],
    ['no rate, no --rps, with Retry-After: its clock second measures it', { rps: Infinity, ceiling: Infinity }, {}, 'measure'],
    ['no rate under --rps 40, no Retry-After', { rps: Infinity }, { retryAfterMs: undefined }, 'measure'],
  ];
  for (const [name, state, refused, expected] of ROWS) {
    test(`#23: ${name} → ${expected}`, () => {
      assert.equal(readRefusal(settledAt20(state), refusal(refused)), expected);
    });
  }
  test('#23: a start of a fill, after cutHoldMs → fill (the rate is kept); within it → same-episode', () => {
    assert.equal(readRefusal(settledAt20({ cutAt: 2_890 - ADAPTIVE.cutHoldMs }), refusal(), true), 'fill');
    assert.equal(readRefusal(settledAt20({ cutAt: 2_895 }), refusal(), true), 'same-episode');
  });
});

describe('#23: what a refusal measures and cuts to', () => {
  const { settleFraction: settle, refusedFraction, shallowestCut, deepestCut, probeAfterMs, shortRestMs, climbFactor, rampProbeFactor } = ADAPTIVE;
  type Row = [string, Partial<RateState>, Partial<Refusal>, Partial<CutMeasures>, CutDecision];
  const cut = (rps: number, plateau: number, refusedRps: number, more: Partial<Extract<CutDecision, { kind: 'cut' }>> = {}): CutDecision => ({
    kind: 'cut',
    rps,
    plateau,
    refusedRps,
    restMs: probeAfterMs,
    probeFactor: climbFactor,
    isDrop: false,
    fillCount: undefined,
    cutSecond: 2,
    ...more,
  });
  const ROWS: Row[] = [
    ['the busiest clock second, 15: rest just under it; that count may fill a second', {}, {}, {}, cut(15 * settle, 15 * settle, 20, { fillCount: 15 })],
    [
      'a measure floored by the recent accepted rate is no count of one second: no fill',
      {},
      {},
      { limitAround: 16, busiestSecond: 15 },
      cut(16 * settle, 16 * settle, 20),
    ],
    [
      'the plateau is refusedFraction × the refused rate when that is lower',
      {},
      {},
      { limitAround: 19.9, busiestSecond: 19.9 },
      cut(Math.min(19.9 * settle, 20 * shallowestCut), 20 * refusedFraction, 20, { fillCount: 19.9 }),
    ],
    [
      'a measure under a quarter of the rate sent saw a burst: cut to a quarter, climb back to half, rest briefly; its count fills nothing',
      { rps: 100, ceiling: Infinity },
      {},
      { limitAround: 10, busiestSecond: 10 },
      cut(100 * deepestCut, 50, 100, { restMs: shortRestMs }),
    ],
    [
      "slow start's burst measured by one clock second's count (a window's, perhaps): the same cut, but the climb rests at the measure, then probes by doubling",
      { rps: 64, ceiling: Infinity, slowStart: true },
      {},
      { limitAround: 10, busiestSecond: 10 },
      cut(64 * deepestCut, 10 * settle, 64, { restMs: shortRestMs, probeFactor: rampProbeFactor, fillCount: 10 }),
    ],
    [
      "slow start's burst measured by more than one clock second's count: the same cut, and the climb closes in on half the rate sent",
      { rps: 64, ceiling: Infinity, slowStart: true },
      {},
      { limitAround: 10, busiestSecond: 6 },
      cut(64 * deepestCut, 32, 64, { restMs: shortRestMs }),
    ],
    [
      "slow start's refusal measured over the last two seconds (10, the busiest second 8): its ramp, not the limit; rest briefly, then probe by doubling",
      { rps: 32, ceiling: Infinity, slowStart: true },
      {},
      { limitAround: 10, busiestSecond: 8 },
      cut(10 * settle, 10 * settle, 32, { restMs: shortRestMs, probeFactor: rampProbeFactor }),
    ],
    [
      "slow start's refusal measured by one clock second's count that is no ramp's (a window's 20 at 64/s): rest at it for probeAfterMs, and fill",
      { rps: 64, ceiling: Infinity, slowStart: true },
      {},
      { limitAround: 20, busiestSecond: 20 },
      cut(20 * settle, 20 * settle, 64, { fillCount: 20 }),
    ],
    [
      "… the same count refused before its second took nearly what the one before took: no window's, so slow start's ramp; rest briefly, then probe by doubling",
      { rps: 64, ceiling: Infinity, slowStart: true },
      {},
      { limitAround: 20, busiestSecond: 20, earlyInSecond: true },
      cut(20 * settle, 20 * settle, 64, { restMs: shortRestMs, probeFactor: rampProbeFactor }),
    ],
    [
      'a measure over the rate sent still cuts, to shallowestCut of it',
      { rps: 8 },
      {},
      { limitAround: 10, busiestSecond: 10 },
      cut(8 * shallowestCut, 8 * refusedFraction, 8, { fillCount: 10 }),
    ],
    [
      'refused after a clean spell at the plateau: the limit went down; a shallow cut, and counts so far are stale',
      { rps: 19.4, plateau: 19.4 },
      { now: 10_000, startedAt: 9_990, arrivedAt: 9_991 },
      {},
      cut(19.4 * shallowestCut, 19.4 * shallowestCut, 19.4, { isDrop: true, cutSecond: Number.NaN }),
    ],
    [
      'a Retry-After over longWaitMs measures what was accepted over the wait',
      {},
      { retryAfterMs: 3_000 },
      { limitOverWait: 6 },
      cut(6 * settle, 6 * settle, 20, { cutSecond: Number.NaN }),
    ],
    ['nothing accepted: no rate to find by going slower', {}, {}, { limitAround: 0, busiestSecond: 0 }, { kind: 'none' }],
    [
      'no rate, no --rps: a burst whose second measured under slow start begins finds the limit from slow start',
      { rps: Infinity, ceiling: Infinity },
      {},
      { sentRps: 24, limitAround: 1, busiestSecond: 1 },
      { kind: 'restart' },
    ],
    ['the same with nothing accepted yet', { rps: Infinity, ceiling: Infinity }, {}, { limitAround: 0, busiestSecond: 0 }, { kind: 'restart' }],
    [
      'the same with quota headers seen: they pace it, and the burst is measured',
      { rps: Infinity, ceiling: Infinity, quotaSeen: true },
      {},
      { sentRps: 24, limitAround: 1, busiestSecond: 1 },
      cut(24 * ADAPTIVE.deepestCut, 24 / 2, 24, { fillCount: undefined, restMs: ADAPTIVE.shortRestMs }),
    ],
    [
      'no rate, no --rps, and a wait over longWaitMs: the window it measures stands, slow as it is',
      { rps: Infinity, ceiling: Infinity },
      { retryAfterMs: 5_000 },
      { sentRps: 24, limitOverWait: 4 },
      cut(4 * settle, 4 * settle, 24, { cutSecond: Number.NaN }),
    ],
    [
      'refused before its clock second took nearly what the one before took clean: no window on the clock refuses that early, so the cut plans no fill',
      {},
      {},
      { earlyInSecond: true },
      cut(15 * settle, 15 * settle, 20),
    ],
    ['a start that caught up on a late one (45 ms apart at 20/s, 30 ms here): no credit, same rate', {}, {}, { gapBeforeMs: 30 }, { kind: 'spacing' }],
    ['the same once spacing is strict: a cut', { strictSpacing: true }, {}, { gapBeforeMs: 30 }, cut(15 * settle, 15 * settle, 20, { fillCount: 15 })],
    [
      'a request sent before the last raise was sent under the rate before it',
      { rps: 20, previousRps: 16, raisedAt: 2_895 },
      {},
      {},
      cut(16 * shallowestCut, 15 * settle, 16, { fillCount: 15 }),
    ],
    [
      'a probe step refused at once, its measure seeing only the rate before: rest briefly on the rate that held (itself, not 97% of it: it held a whole step clean)',
      { rps: 18, previousRps: 15, raisedAt: 2_500 },
      {},
      { limitAround: 14, busiestSecond: 14 },
      cut(15 * settle, 15, 18, { restMs: shortRestMs }),
    ],
    [
      "… a measure up to overshootStep over the rate that held is still only that rate (16 at 15/s: a request counted early, a bucket's depth)",
      { rps: 30, previousRps: 15, raisedAt: 2_500 },
      {},
      { limitAround: 16, busiestSecond: 16 },
      cut(16 * settle, 16 * settle, 30, { restMs: shortRestMs }),
    ],
    [
      '… over it, the measure is the limit, and the rest is long',
      { rps: 30, previousRps: 15, raisedAt: 2_500 },
      {},
      { limitAround: 17, busiestSecond: 17 },
      cut(17 * settle, 17 * settle, 30, { fillCount: 17 }),
    ],
    [
      'a probe step past the plateau refused in its first climbStepMs: the limit is no lower than the rate that held a step clean, and the climb rests on that rate',
      { rps: 21, previousRps: 20, raisedAt: 2_500, plateau: Infinity },
      {},
      { limitAround: 18, busiestSecond: 18 },
      cut(21 * shallowestCut, 20, 21, { fillCount: 18 }),
    ],
    [
      '… a climb step under the plateau: the measure stands',
      { rps: 21, previousRps: 20, raisedAt: 2_500, plateau: 22 },
      {},
      { limitAround: 18, busiestSecond: 18 },
      cut(18 * settle, 18 * settle, 21, { fillCount: 18 }),
    ],
    [
      '… a probe step refused after its first climbStepMs: the measure stands',
      { rps: 21, previousRps: 20, raisedAt: 2_890 - ADAPTIVE.climbStepMs, plateau: Infinity },
      {},
      { limitAround: 18, busiestSecond: 18 },
      cut(18 * settle, 18 * settle, 21, { fillCount: 18 }),
    ],
    ['no rate of ours: the ceiling is the rate sent', { rps: Infinity }, {}, {}, cut(15 * settle, 15 * settle, 40, { fillCount: 15 })],
    [
      'no rate, no ceiling: the rate measured at the start',
      { rps: Infinity, ceiling: Infinity },
      {},
      { sentRps: 30 },
      cut(15 * settle, 15 * settle, 30, { fillCount: 15 }),
    ],
    ['never below floorRps', { rps: 0.02 }, {}, { limitAround: 0.001, busiestSecond: 0.001 }, cut(ADAPTIVE.floorRps, 0.02 / 2, 0.02, { restMs: shortRestMs })],
  ];
  for (const [name, state, refused, measured, expected] of ROWS) {
    test(`#23: ${name}`, () => {
      const decision = decideCut(settledAt20(state), refusal(refused), measures(measured));
      assert.equal(decision.kind, expected.kind);
      if (decision.kind !== 'cut' || expected.kind !== 'cut') return;
      near(decision.rps, expected.rps, 'rps');
      near(decision.plateau, expected.plateau, 'plateau');
      assert.deepEqual({ ...decision, rps: 0, plateau: 0 }, { ...expected, rps: 0, plateau: 0 });
    });
  }
});

describe('#23: what clean answers do', () => {
  const { slowStartStepMs, climbStepMs, climbFactor, probeAfterMs } = ADAPTIVE;
  const base: ClimbState = { rps: 10, ceiling: 40, slowStart: false, plateau: 19, restMs: probeAfterMs, probeFactor: climbFactor };
  type Row = [string, Partial<ClimbState>, number, number, ReturnType<typeof decideClimb>];
  const ROWS: Row[] = [
    [
      'slow start doubles after slowStartStepMs',
      { slowStart: true, plateau: Infinity },
      slowStartStepMs,
      3,
      { rps: 20, reason: 'clean', plateau: Infinity, probeFactor: climbFactor },
    ],
    ['… not before', { slowStart: true, plateau: Infinity }, slowStartStepMs - 1, 3, undefined],
    [
      'slow start stops at the ceiling',
      { slowStart: true, rps: 30, plateau: Infinity },
      slowStartStepMs,
      8,
      { rps: 40, reason: 'clean', plateau: Infinity, probeFactor: climbFactor },
    ],
    ['a rate nobody uses does not climb (one answer a second)', {}, 5_000, 5, undefined],
    ['under the plateau, half the gap to it a climbStepMs', {}, climbStepMs, 5, { rps: 14.5, reason: 'clean', plateau: 19, probeFactor: climbFactor }],
    ['near the plateau, +5%, never past it', { rps: 18.5 }, climbStepMs, 10, { rps: 19, reason: 'clean', plateau: 19, probeFactor: climbFactor }],
    ['at the plateau, it rests for restMs', { rps: 19 }, probeAfterMs - 1, 300, undefined],
    ['… then probes past it, +5%', { rps: 19 }, probeAfterMs, 300, { rps: 19 * climbFactor, reason: 'probe', plateau: Infinity, probeFactor: climbFactor }],
    [
      "… or, after slow start's burst, doubles",
      { rps: 19, restMs: ADAPTIVE.shortRestMs, probeFactor: 2 },
      ADAPTIVE.shortRestMs,
      30,
      { rps: 38, reason: 'probe', plateau: Infinity, probeFactor: 2 },
    ],
    [
      'probing: each clean step goes further',
      { rps: 20, plateau: Infinity, probeFactor: 1.1 },
      climbStepMs,
      10,
      { rps: 22, reason: 'probe', plateau: Infinity, probeFactor: 1.2 },
    ],
    ['… up to doubling', { rps: 20, plateau: Infinity, probeFactor: 1.8 }, climbStepMs, 10, { rps: 36, reason: 'probe', plateau: Infinity, probeFactor: 2 }],
    [
      'never past the ceiling',
      { rps: 38, plateau: Infinity, probeFactor: 1.2 },
      climbStepMs,
      20,
      { rps: 40, reason: 'probe', plateau: Infinity, probeFactor: 1.4 },
    ],
    ['at the ceiling: nothing', { rps: 40, plateau: Infinity }, climbStepMs, 20, undefined],
  ];
  for (const [name, state, elapsedMs, answers, expected] of ROWS) {
    test(`#23: ${name}`, () => {
      const climb = decideClimb({ ...base, ...state }, elapsedMs, answers);
      if (expected === undefined || climb === undefined) return assert.equal(climb, expected);
      near(climb.rps, expected.rps, 'rps');
      near(climb.probeFactor, expected.probeFactor, 'probeFactor');
      assert.deepEqual({ ...climb, rps: 0, probeFactor: 0 }, { ...expected, rps: 0, probeFactor: 0 });
    });
  }

  test('#23: used means minAnswersToClimb answers, and half of what the rate would send', () => {
    assert.equal(wasUsed(20, 1_000, ADAPTIVE.minAnswersToClimb - 1), false);
    assert.equal(wasUsed(20, 1_000, 10), true);
    assert.equal(wasUsed(20, 1_000, 9), false);
  });
});

describe('#23: filling a clock second', () => {
  const { fillMarginMs, minFillMs, nextSecondMarginMs, settleFraction } = ADAPTIVE;
  test('#23: after a pause ending at 1,500 ms: 97% of the count before the margin, fast enough to fit', () => {
    const fill = fillAfterPause(20, 1_500, { rps: 10, ceiling: 100 }, 1);
    const until = 2_000 - fillMarginMs - 1;
    const most = Math.floor(20 * settleFraction);
    assert.deepEqual(fill, { count: 20, from: 1_500, until, most, rps: (most * 1000) / (until - 1_500), active: true, started: 0 });
  });

  const FROM: Array<[string, number, number, number, { from: number; until: number; rps: number }]> = [
    ['the ceiling bounds its pace', 1_500, 10, 30, { from: 1_500, until: 1_949, rps: 30 }],
    ['a rate faster than it needs keeps its rate', 1_500, 50, 100, { from: 1_500, until: 1_949, rps: 50 }],
    [
      'with less than minFillMs left, it fills the next second from its start',
      2_000 - fillMarginMs - 1 - minFillMs + 1,
      10,
      100,
      { from: 2_000 - 1 + nextSecondMarginMs, until: 2_949, rps: 19_000 / (2_949 - 2_019) },
    ],
  ];
  for (const [name, from, rps, ceiling, expected] of FROM) {
    test(`#23: ${name}`, () => {
      const fill = fillAfterPause(20, from, { rps, ceiling }, 1);
      assert.deepEqual({ from: fill.from, until: fill.until }, { from: expected.from, until: expected.until });
      near(fill.rps, expected.rps, 'rps');
    });
  }

  test('#23: a fill of 3 takes three starts; the last holds the lane past the end of its second', () => {
    const fill: Fill = { count: 3, from: 1_000, until: 1_949, most: 3, rps: 10, active: true, started: 0 };
    assert.equal(noteFillStart(fill, 999), undefined, 'before it begins: not counted');
    assert.equal(noteFillStart(fill, 1_000), undefined);
    assert.equal(noteFillStart(fill, 1_100), undefined);
    assert.deepEqual(noteFillStart(fill, 1_200), { holdUntil: 1_949 + fillMarginMs + nextSecondMarginMs });
    assert.deepEqual(
      { active: fill.active, started: fill.started, firstAt: fill.firstAt, lastAt: fill.lastAt },
      { active: false, started: 3, firstAt: 1_000, lastAt: 1_200 },
    );
    assert.equal(noteFillStart(fill, 1_300), undefined, 'over: nothing more');
  });

  test('#23: a fill ends early when the next start would come too late for its second', () => {
    const fill: Fill = { count: 20, from: 1_800, until: 1_949, most: 19, rps: 10, active: true, started: 0 };
    assert.deepEqual(noteFillStart(fill, 1_850), { holdUntil: 1_949 + fillMarginMs + nextSecondMarginMs }, 'the next, 100 ms on, would pass 1,949');
  });

  test('#23: a second of the windows counts a start in the margin at its end in the next second, and keeps the starts it already had', () => {
    const first = secondOfWindows(1_100, 20, 21, 1, undefined);
    assert.deepEqual(first, { count: 20, from: 1_100, until: 1_949, most: 20, rps: 21, active: true, started: 0 });
    first.started = 7;
    assert.equal(secondOfWindows(1_500, 20, 21, 1, first).started, 7, 'the same second: its starts still count');
    const next = secondOfWindows(2_000 - fillMarginMs, 20, 21, 1, first);
    assert.deepEqual({ until: next.until, started: next.started }, { until: 2_949, started: 0 }, 'in the margin: the next second');
  });
});
