// Issue #23: how the rate controller reads each answer, as tables of evidence → decision in
// virtual time (the clock is a number passed in). Faults are not limits; 503s are refusals only
// when they prove to be load shedding; a long window's 429 keeps the rate.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADAPTIVE } from '../../src/rate/controller/tuning.js';
import { RateController, type AnswerEvidence } from '../../src/rate/controller/rate-controller.js';
import { SHEDDING, SheddingJudge, type SheddingVerdict } from '../../src/rate/controller/shedding.js';

/** An answer to a request started at `at`, reaching the server 1 ms later and answered 5 ms after it started. */
function answer(at: number, status: number | null, retryAfterMs?: number): [number, AnswerEvidence] {
  return [at + 5, { startedAt: at, arrivedAt: at + 1, status, retryAfterMs }];
}

/** A controller for --rps auto under a ceiling of 40/s, after `seconds` of 200s: slow start has reached the ceiling. */
function pacedAt20(seconds = 2): RateController {
  const controller = new RateController({ auto: true, ceilingRps: 40, now: 0 });
  for (let t = 0; t < seconds * 1000; t += 50) controller.noteAnswer(...answer(t, 200));
  assert.equal(controller.rps, 40);
  return controller;
}

describe('#23: faults are not limits', () => {
  const FAULTS: Array<[string, number | null, number | undefined]> = [
    ['500', 500, undefined],
    ['502', 502, undefined],
    ['504', 504, undefined],
    ['503 with Retry-After: 1 (until 503s prove load shedding)', 503, 1_000],
    ['503 without Retry-After', 503, undefined],
    ['no response (a reset, a timeout, a cut body)', null, undefined],
  ];
  for (const [name, status, retryAfterMs] of FAULTS) {
    test(`#23: ${name}: not a refusal, and the rate stays (--verbose says so, the first time)`, () => {
      const controller = pacedAt20();
      const before = controller.rps;
      const kind = status === null ? 'CONNECTION_RESET' : String(status);
      const failure = status === null ? 'CONNECTION_RESET' : undefined;
      const [now, evidence] = answer(2_000, status, retryAfterMs);
      const reading = controller.noteAnswer(now, { ...evidence, failure });
      assert.deepEqual(reading, {
        isRefusal: false,
        change: { rps: before, reason: 'kept', why: `fault ignored: ${kind} (faults never lower the rate; later ${kind}s go unmentioned)`, heldRps: undefined },
      });
      assert.equal(controller.rps, before);
      const [later, again] = answer(2_050, status, retryAfterMs);
      assert.deepEqual(controller.noteAnswer(later, { ...again, failure }), { isRefusal: false, change: undefined }, 'once a kind');
    });
  }

  test('#23: a run of faults at the rate (one in three) never cuts it', () => {
    const controller = pacedAt20();
    const statuses = [500, 200, 200, 502, 200, null, 200, 200, 503];
    for (let i = 0; i < 200; i++) {
      const reading = controller.noteAnswer(...answer(2_000 + i * 50, statuses[i % statuses.length]!, 1_000));
      assert.equal(reading.isRefusal, false, `answer ${i}`);
      assert.ok(reading.change === undefined || reading.change.reason === 'kept' || reading.change.rps >= 40, `answer ${i}: ${JSON.stringify(reading.change)}`);
    }
  });
});

describe('#23: a 429 is a refusal', () => {
  test('#23: a 429 cuts, and says why', () => {
    const controller = pacedAt20();
    const reading = controller.noteAnswer(...answer(2_000, 429, 1_000));
    assert.equal(reading.isRefusal, true);
    assert.equal(reading.change?.reason, 'throttled');
    assert.equal(reading.change?.why, 'cut: 429 at 40.0/s');
    assert.ok(reading.change!.rps < 40, `cut to ${reading.change!.rps}`);
    assert.equal(reading.change?.heldRps, reading.change?.rps, 'the rate found is the one cut to');
  });

  const WAITS: Array<[number, 'kept' | 'throttled']> = [
    [1_000, 'throttled'],
    [ADAPTIVE.longWindowMs - 1, 'throttled'],
    [ADAPTIVE.longWindowMs, 'kept'],
    [57_000, 'kept'],
  ];
  for (const [retryAfterMs, reason] of WAITS) {
    test(`#23: a 429 with Retry-After ${retryAfterMs} ms: ${reason === 'kept' ? "a long window's count ran out, the rate is kept" : 'cut'}`, () => {
      const controller = pacedAt20();
      const reading = controller.noteAnswer(...answer(2_000, 429, retryAfterMs));
      assert.equal(reading.isRefusal, true, 'the lane pauses either way');
      assert.equal(reading.change?.reason, reason);
      if (reason === 'kept') {
        assert.equal(reading.change?.rps, 40);
        assert.match(reading.change!.why, /^kept: 429 with Retry-After \d+s/);
      }
    });
  }
});

/** Feeds the judge `count` answers started at 50 ms apart from `from`, `share503` of them 503s (evenly spread). */
function feed(judge: SheddingJudge, from: number, count: number, share503: number): SheddingVerdict[] {
  const verdicts: SheddingVerdict[] = [];
  for (let i = 0; i < count; i++) {
    const is503 = Math.floor((i + 1) * share503) > Math.floor(i * share503);
    const at = from + i * 50;
    verdicts.push(judge.judge(is503, at, at + 5));
  }
  return verdicts;
}

describe('#23: SheddingJudge: are the 503s load shedding?', () => {
  test('#23: 503s under the trial share are faults, however long they go on', () => {
    const judge = new SheddingJudge();
    const verdicts = feed(judge, 0, 1_000, SHEDDING.trialShare - 0.05);
    assert.deepEqual(new Set(verdicts.map((v) => v.kind)), new Set(['fault']));
  });

  test('#23: a high share starts one trial cut; a share that halves after it confirms load shedding', () => {
    const judge = new SheddingJudge();
    const before = feed(judge, 0, SHEDDING.sample, 0.5);
    assert.deepEqual(before.at(-1), { kind: 'refusal', trial: true, share503: 0.5 }, 'the 503 that reached the share is the trial cut');
    assert.equal(before.filter((v) => v.kind === 'refusal').length, 1, 'one trial');
    const after = feed(judge, 10_000, SHEDDING.sample + 10, 0.1);
    assert.equal(after.filter((v) => v.kind === 'undo').length, 0);
    assert.equal(judge.isShedding, true);
    assert.deepEqual(judge.judge(true, 20_000, 20_005), { kind: 'refusal', trial: false }, 'from then on a 503 is a refusal');
    assert.deepEqual(judge.judge(false, 20_000, 20_005), { kind: 'fault' });
  });

  test('#23: a share that stays after the trial cut is noise: the cut is undone and 503s stay faults', () => {
    const judge = new SheddingJudge();
    feed(judge, 0, SHEDDING.sample, 0.5);
    const after = feed(judge, 10_000, SHEDDING.sample, 0.5);
    const undo = after.find((v) => v.kind === 'undo');
    assert.ok(undo?.kind === 'undo' && /^undone: 503s were 50% of answers before the cut and 50% after/.test(undo.why), JSON.stringify(undo));
    assert.equal(judge.isShedding, false);
    assert.deepEqual(new Set(feed(judge, 20_000, 200, 0.9).map((v) => v.kind)), new Set(['fault']), 'noise for good');
  });

  test('#23: answers to requests started before the trial cut do not count as after it', () => {
    const judge = new SheddingJudge();
    feed(judge, 0, SHEDDING.sample, 0.5);
    // Started before the cut (at 0 … 1950 ms), answered after it: still the old rate's answers.
    const late = Array.from({ length: 100 }, (_, i) => judge.judge(true, i, 5_000 + i));
    assert.deepEqual(new Set(late.map((v) => v.kind)), new Set(['fault']));
    assert.equal(judge.isShedding, false);
  });
});

describe('#23: RateController: 503s through the judge', () => {
  test('#23: noise: the trial cut is undone, back to the rate before it', () => {
    const controller = pacedAt20();
    let t = 2_000;
    const changes = [];
    for (let i = 0; i < 3 * SHEDDING.sample; i++, t += 50) {
      const reading = controller.noteAnswer(...answer(t, i % 2 === 0 ? 503 : 200, 1_000));
      if (reading.change && reading.change.reason !== 'kept') changes.push([reading.change.reason, reading.isRefusal]);
    }
    assert.deepEqual(changes.slice(0, 1), [['throttled', true]], 'one trial cut');
    assert.deepEqual(
      changes.filter(([reason]) => reason === 'undo'),
      [['undo', false]],
    );
    assert.equal(controller.rps, 40, 'back to the rate before the trial');
  });
});

describe('#23: RateController: the rate found', () => {
  test('#23: none before a refusal; then the rate cut to, a climb that held, and under a probe step the rate before it', () => {
    const controller = new RateController({ auto: true, ceilingRps: 40, now: 0 });
    const held: Array<[string, number | undefined]> = [];
    let t = 0;
    for (; t < 1_000; t += 50) {
      const change = controller.noteAnswer(...answer(t, 200)).change;
      if (change) held.push([change.reason, change.heldRps]);
    }
    const cut = controller.noteAnswer(...answer(t, 429, 1_000)).change!;
    held.push([cut.reason, cut.heldRps]);
    for (t += 1_100; t < 60_000; t += 80) {
      const change = controller.noteAnswer(...answer(t, 200)).change;
      if (change) held.push([change.reason, change.heldRps]);
    }
    const cutAt = held.findIndex(([reason]) => reason === 'throttled');
    assert.ok(cutAt > 0, 'slow start raised the rate before the cut');
    assert.deepEqual(
      held.slice(0, cutAt).map(([, rps]) => rps),
      Array(cutAt).fill(undefined),
      'no rate found before a refusal',
    );
    const afterCut = held.slice(cutAt);
    assert.equal(afterCut[0]![1], cut.rps, 'the rate cut to');
    for (let i = 1; i < afterCut.length; i++) {
      const [reason, rps] = afterCut[i]!;
      assert.ok(rps !== undefined, 'found stays found');
      if (reason === 'probe') assert.ok(rps <= controller.rps, `a probe step holds the rate before it: ${JSON.stringify(afterCut)}`);
    }
  });
});
