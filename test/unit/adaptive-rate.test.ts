import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADAPTIVE, AdaptiveRate, SlidingCount, type RateChange } from '../../src/adaptive-rate.ts';

type TimedChange = RateChange & { at: number };

interface Drive {
  changes: TimedChange[];
  total: number;
  throttled: number;
  /** Start times of the requests the server accepted. */
  acceptedStarts: number[];
}

/**
 * Sends requests exactly at the controller's rate (a start every 1000/rps ms after the last one,
 * the rate read when the next start is due) from `from` until `to`, each answered `latencyMs`
 * later with what `server(startedAt)` decides (true: accepted, false: 429). Answers due before
 * `to` are delivered; time is only what this loop says it is.
 */
function drive(
  controller: AdaptiveRate,
  options: { from: number; to: number; latencyMs?: number; server?: (startedAt: number) => boolean },
): Drive {
  const { from, to, latencyMs = 5, server = () => true } = options;
  const result: Drive = { changes: [], total: 0, throttled: 0, acceptedStarts: [] };
  const answers: Array<{ at: number; startedAt: number; ok: boolean }> = [];
  let lastStart = -Infinity;
  for (;;) {
    assert.ok(Number.isFinite(controller.rps), 'drive() needs a finite rate');
    const nextStart = Math.max(from, lastStart + 1000 / controller.rps);
    const answer = answers[0];
    if (answer && answer.at <= nextStart && answer.at < to) {
      answers.shift();
      const change = answer.ok ? controller.noteAccepted(answer.at, answer.startedAt) : controller.noteThrottled(answer.at, answer.startedAt);
      if (change) result.changes.push({ ...change, at: answer.at });
      continue;
    }
    if (nextStart >= to) return result;
    lastStart = nextStart;
    controller.noteStart(nextStart);
    result.total += 1;
    const ok = server(nextStart);
    if (ok) result.acceptedStarts.push(nextStart);
    else result.throttled += 1;
    answers.push({ at: nextStart + latencyMs, startedAt: nextStart, ok });
  }
}

/** A server that accepts `limitAt(t)` requests per fixed one-second window [k s, (k+1) s) and refuses the rest. */
function fixedWindowServer(limitAt: (t: number) => number): (startedAt: number) => boolean {
  let windowId = -1;
  let acceptedInWindow = 0;
  return (startedAt) => {
    const id = Math.floor(startedAt / 1000);
    if (id !== windowId) {
      windowId = id;
      acceptedInWindow = 0;
    }
    if (acceptedInWindow >= limitAt(startedAt)) return false;
    acceptedInWindow += 1;
    return true;
  };
}

/** Clean answers at `perSecond`, from `from` to `to` inclusive, each to a request started 5 ms before. */
function acceptAt(controller: AdaptiveRate, perSecond: number, from: number, to: number): Array<RateChange | undefined> {
  const changes: Array<RateChange | undefined> = [];
  for (let t = from; t <= to + 1e-9; t += 1000 / perSecond) changes.push(controller.noteAccepted(t, t - 5));
  return changes;
}

/**
 * A controller standing aside (no --rps auto) that has seen clean answers at 10/s for 3 s,
 * so at t = 3000 the accepted rate over the last 2 s measures exactly 10/s.
 */
function measuredAt10(ceilingRps: number): AdaptiveRate {
  const controller = new AdaptiveRate({ auto: false, ceilingRps, now: 0 });
  acceptAt(controller, 10, 0, 3000);
  return controller;
}

function near(actual: number | undefined, expected: number, label = ''): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${label} expected ${expected}, got ${actual}`);
}

describe('#11: AdaptiveRate: start', () => {
  test('#11: --rps auto starts at ADAPTIVE.startRps in slow start, not settled', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    assert.equal(controller.rps, ADAPTIVE.startRps);
    assert.equal(controller.settled, false);
    assert.equal(new AdaptiveRate({ auto: true, ceilingRps: 100, now: 0 }).rps, ADAPTIVE.startRps);
  });

  test('#11: a ceiling below startRps caps the starting rate', () => {
    assert.equal(new AdaptiveRate({ auto: true, ceilingRps: 2, now: 0 }).rps, 2);
    assert.equal(new AdaptiveRate({ auto: true, ceilingRps: 0.5, now: 0 }).rps, 0.5);
  });

  test('#11: without auto the controller stands aside (Infinity) until the first 429, and clean answers change nothing', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: 50, now: 0 });
    assert.equal(controller.rps, Infinity);
    assert.equal(controller.settled, false);
    assert.deepEqual(acceptAt(controller, 100, 0, 10_000).filter(Boolean), []);
    assert.equal(controller.rps, Infinity);
    assert.equal(controller.settled, false);
  });
});

describe('#11: AdaptiveRate: slow start', () => {
  test('#11: slow start doubles every slowStartStepMs while answers come back at the rate', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    const { changes } = drive(controller, { from: 0, to: 3_000 });
    assert.deepEqual(
      changes.map((change) => [change.rps, change.reason]),
      [
        [8, 'clean'],
        [16, 'clean'],
        [32, 'clean'],
        [64, 'clean'],
        [128, 'clean'],
      ],
    );
    let previousAt = 0;
    for (const change of changes) {
      assert.ok(change.at - previousAt >= ADAPTIVE.slowStartStepMs, `a doubling ${change.at - previousAt} ms after the last`);
      assert.ok(change.at - previousAt < ADAPTIVE.slowStartStepMs + 50, `a doubling ${change.at - previousAt} ms after the last`);
      previousAt = change.at;
    }
    assert.equal(controller.settled, false);
  });

  test('#11: the first doubling needs the step to pass and minAnswersToClimb answers', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    assert.equal(controller.noteAccepted(5, 0), undefined);
    assert.equal(controller.noteAccepted(255, 250), undefined, 'before slowStartStepMs');
    assert.deepEqual(controller.noteAccepted(505, 500), { rps: 8, reason: 'clean' });
  });

  test('#11: a rate nobody uses does not climb: one answer a second for 20 s leaves slow start at its start', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    assert.deepEqual(acceptAt(controller, 1, 1_000, 20_000).filter(Boolean), []);
    assert.equal(controller.rps, ADAPTIVE.startRps);
  });

  test('#11: a single answer long after the start does not climb either', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    assert.equal(controller.noteAccepted(60_000, 59_000), undefined);
    assert.equal(controller.rps, ADAPTIVE.startRps);
  });

  test('#11: slow start stops at the ceiling', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: 20, now: 0 });
    const { changes } = drive(controller, { from: 0, to: 5_000 });
    assert.deepEqual(changes.map((change) => change.rps), [8, 16, 20]);
    assert.equal(controller.rps, 20);
  });
});

describe('#11: AdaptiveRate: cuts', () => {
  test('#11: a 429 after a second of answers cuts to 0.9 × the accepted rate of the last 2 s, and the rate is settled', () => {
    const controller = measuredAt10(20);
    const change = controller.noteThrottled(3_000, 2_990);
    assert.equal(change?.reason, 'throttled');
    near(change?.rps, 10 * ADAPTIVE.cutToAccepted, 'rps');
    near(controller.rps, 9, 'rps');
    assert.equal(controller.settled, true);
  });

  test('#11: the accepted rate counts only the last 2 s: a busy first second is forgotten', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: 30, now: 0 });
    acceptAt(controller, 50, 0, 900); // 46 answers, all older than the window at t = 4000
    acceptAt(controller, 10, 2_000, 4_000);
    // 10/s over the last 2 s; had the busy second counted, it would be (46 + 20) / 2 = 33/s and the cut to 27/s.
    near(controller.noteThrottled(4_000, 3_990)?.rps, 0.9 * 10, 'rps');
  });

  test('#11: the cut is no deeper than deepestCut × the sending rate', () => {
    // Accepted 10/s while sending 100/s: 0.9 × 10 = 9 would be a cut to 9%; a quarter of 100 it is.
    near(measuredAt10(100).noteThrottled(3_000, 2_990)?.rps, 100 * ADAPTIVE.deepestCut, 'rps');
  });

  test('#11: the cut is at least to shallowestCut × the sending rate', () => {
    // Accepted 10/s (answers to an older, faster rate) while sending 8/s: 0.9 × 10 = 9 would not cut at all.
    near(measuredAt10(8).noteThrottled(3_000, 2_990)?.rps, 8 * ADAPTIVE.shallowestCut, 'rps');
  });

  test('#11: the sending rate is the controller\'s own once it has one', () => {
    const controller = measuredAt10(20);
    controller.noteThrottled(3_000, 2_990); // 9/s
    const climbs = acceptAt(controller, 10, 3_100, 4_900).filter(Boolean);
    assert.equal(climbs.length, 1);
    near(controller.rps, 9 * ADAPTIVE.climbFactor, 'one clean second later');
    // Accepted 10/s over the last 2 s, sending 9.45/s (not the ceiling, 20/s):
    // min(0.9 × 9.45, max(0.9 × 10, 0.25 × 9.45)) = 8.505
    near(controller.noteThrottled(4_950, 4_940)?.rps, 0.9 * 9 * ADAPTIVE.climbFactor, 'rps');
  });

  test('#11: one cut per episode: 429s to requests started before the last cut, or within cutHoldMs after it, are ignored', () => {
    const controller = measuredAt10(20);
    const changes = [];
    for (let i = 0; i < 20; i++) changes.push(controller.noteThrottled(3_000 + i, 2_950 + i));
    assert.equal(changes.filter(Boolean).length, 1);
    near(controller.rps, 9, 'rps');
    assert.equal(controller.noteThrottled(3_500, 2_999), undefined, 'started just before the cut');
    // A used-up fixed window refuses everything until it ends, whatever the new rate.
    assert.equal(controller.noteThrottled(3_900, 3_000 + ADAPTIVE.cutHoldMs - 1), undefined, 'started within the hold');
    near(controller.rps, 9, 'rps');
    assert.equal(controller.noteThrottled(4_100, 3_000 + ADAPTIVE.cutHoldMs)?.reason, 'throttled', 'started after the hold: the new rate caused it');
  });

  test('#11: answers to requests started before a cut do not count towards the next climb', () => {
    const controller = measuredAt10(20);
    controller.noteThrottled(3_000, 2_990);
    for (let t = 4_000; t < 10_000; t += 10) assert.equal(controller.noteAccepted(t, 2_999), undefined);
    near(controller.rps, 9, 'rps');
  });

  test('#11: a first 429 with nothing measured but a Retry-After restarts from what was accepted until the server lets us back', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: 40, now: 0 });
    // A fixed window of 20 used up in 50 ms, then "come back in 1 s": about 20/s.
    for (let t = 0; t < 50; t += 2.5) controller.noteAccepted(t + 1, t);
    const change = controller.noteThrottled(60, 55, 1_000);
    // From the first answer (t = 1) to the end of the wait: 1,059 ms.
    near(change?.rps, ((20 * 1000) / 1_059) * ADAPTIVE.cutToAccepted, 'restart'); // 17.0, not 9
    assert.equal(controller.settled, false, 'still slow start, up to 0.9 × the refused rate');
    // Without a Retry-After the same refusal says nothing of the rate.
    const blind = new AdaptiveRate({ auto: false, ceilingRps: 40, now: 0 });
    for (let t = 0; t < 50; t += 2.5) blind.noteAccepted(t + 1, t);
    near(blind.noteThrottled(60, 55)?.rps, 9, 'restart without Retry-After');
  });

  test('#11: a first 429 with nothing measured goes back to slow start up to 0.9 × the refused rate', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: 40, now: 0 });
    const change = controller.noteThrottled(100, 90);
    const limit = 40 * ADAPTIVE.shallowestCut; // 36
    near(change?.rps, Math.max(ADAPTIVE.startRps, limit / 4), 'restart'); // 9
    assert.equal(change?.reason, 'throttled');
    assert.equal(controller.settled, false, 'slow start again');
    const { changes } = drive(controller, { from: 100, to: 6_000 });
    // Doubles (9 → 18), then stops at the limit (36) rather than doubling past it, then +5% steps to the ceiling.
    assert.deepEqual(
      changes.map((c) => Math.round(c.rps * 100) / 100),
      [18, 36, 37.8, 39.69, 40],
    );
    assert.equal(changes[1]!.at - changes[0]!.at < ADAPTIVE.climbStepMs, true, 'the step to the limit is a slow-start step');
    assert.ok(changes[2]!.at - changes[1]!.at >= ADAPTIVE.climbStepMs, 'then climbStepMs apart');
    assert.equal(controller.settled, true);
  });

  test('#11: with no ceiling, the refused rate of a first 429 is the measured start rate (at least over 1 s)', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: Infinity, now: 0 });
    for (let t = 0; t < 500; t += 10) controller.noteStart(t); // 50 starts in half a second: 50/s, not 100/s
    controller.noteAccepted(20, 0);
    controller.noteAccepted(30, 10);
    const change = controller.noteThrottled(500, 490);
    near(change?.rps, (50 * ADAPTIVE.shallowestCut) / 4, 'restart'); // limit 45, start at 11.25
    const { changes } = drive(controller, { from: 500, to: 3_000 });
    assert.deepEqual(
      changes.map((c) => c.rps),
      [22.5, 45, 45 * ADAPTIVE.climbFactor],
    );
  });

  test(
    '#11: after a first 429 with nothing measured, the restart is never above the refused rate',
    () => {
      const controller = new AdaptiveRate({ auto: false, ceilingRps: Infinity, now: 0 });
      for (let t = 0; t <= 2_000; t += 500) controller.noteStart(t); // 2/s over the last 2 s
      const change = controller.noteThrottled(2_010, 2_000);
      assert.ok(change !== undefined && change.rps <= 2 * ADAPTIVE.shallowestCut, `restarted at ${change?.rps}/s after a 429 at 2/s`);
    },
  );

  test('#11: in slow start, a 429 with nothing accepted at all leaves the rate alone', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    controller.noteStart(0);
    assert.equal(controller.noteThrottled(100, 0), undefined);
    assert.equal(controller.noteThrottled(5_000, 4_000), undefined);
    assert.equal(controller.rps, ADAPTIVE.startRps);
  });

  test('#11: after the first cut, a 429 with no answer accepted in the window leaves the rate alone', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: 40, now: 0 });
    controller.noteThrottled(100, 90); // back to slow start at 9/s
    assert.equal(controller.noteThrottled(1_000, 500), undefined, 'a used-up quota is not a rate');
    near(controller.rps, 9, 'rps');
    // Accepted answers older than the window do not count either.
    controller.noteAccepted(1_100, 1_050);
    assert.equal(controller.noteThrottled(4_000, 3_900), undefined);
    near(controller.rps, 9, 'rps');
  });

  test('#11: a 429 with a few answers accepted but not measured halves the rate (blindCut) and settles it', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    controller.noteAccepted(100, 0);
    controller.noteAccepted(200, 100);
    const change = controller.noteThrottled(300, 290);
    near(change?.rps, ADAPTIVE.startRps * ADAPTIVE.blindCut, 'rps');
    assert.equal(controller.settled, true);
  });

  test('#11: fewer than minAnswersToMeasure answers over more than a second is still a blind cut', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    acceptAt(controller, 2, 0, 1_500); // 4 answers, the first two enough for one doubling
    const sending = controller.rps;
    assert.equal(sending, 2 * ADAPTIVE.startRps);
    near(controller.noteThrottled(1_600, 1_590)?.rps, sending * ADAPTIVE.blindCut, 'rps');
  });

  test('#11: the rate never goes below floorRps, however many cuts', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    for (let i = 1; i <= 30; i++) {
      const t = i * (ADAPTIVE.cutHoldMs + 10);
      controller.noteAccepted(t, 0); // keeps one answer in the window, so each cut is blind
      const change = controller.noteThrottled(t + 1, t);
      assert.ok(change !== undefined && change.rps >= ADAPTIVE.floorRps, `cut ${i}: ${change?.rps}`);
    }
    assert.equal(controller.rps, ADAPTIVE.floorRps);
  });
});

describe('#11: AdaptiveRate: climbing', () => {
  test('#11: after a cut the rate climbs while clean, rests just under what the server accepted, then probes up to the ceiling', () => {
    const controller = measuredAt10(12);
    controller.noteThrottled(3_000, 2_990); // refused while 10/s were accepted: cut to 9/s
    // Rests at 97% of what was accepted (9.7), below 95% of the refused rate (11.4).
    const plateau = 10 * ADAPTIVE.plateauOfAccepted;
    const { changes } = drive(controller, { from: 3_000, to: 30_000 });
    const figures = changes.map((c) => `${c.rps.toFixed(2)}@${c.at}`).join(' ');
    let previous = { rps: 9, at: 3_000 };
    for (const change of changes) {
      assert.equal(change.reason, 'clean');
      assert.ok(change.at - previous.at >= ADAPTIVE.climbStepMs, `${change.at - previous.at} ms apart: ${figures}`);
      previous = change;
    }
    // 9 → 9.45 (+5%, more than half the gap) → 9.7 (the plateau) … 10 s later → +5% steps → 12
    near(changes[0]!.rps, 9 * ADAPTIVE.climbFactor, 'first step');
    near(changes[1]!.rps, plateau, 'rests');
    assert.ok(changes[2]!.at - changes[1]!.at >= ADAPTIVE.probeAfterMs, `rested ${changes[2]!.at - changes[1]!.at} ms: ${figures}`);
    near(changes[2]!.rps, plateau * ADAPTIVE.climbFactor, 'probes past it');
    assert.equal(controller.rps, 12, figures);
    assert.equal(drive(controller, { from: 30_000, to: 40_000 }).changes.length, 0, 'no change at the ceiling');
  });

  test('#11: time the lane spent paused is left out of the accepted rate a cut goes by', () => {
    const paused = new AdaptiveRate({ auto: false, ceilingRps: 40, now: 0 });
    acceptAt(paused, 20, 0, 2_000);
    paused.notePause(2_000, 3_000); // a Retry-After: nothing sent, so nothing accepted, for 1 s
    // The last 2 s hold about 20 answers (19 by the 100 ms slots) in 1 s of sending: ~20/s, not ~10/s.
    const cut = paused.noteThrottled(3_000, 3_000)?.rps ?? 0;
    assert.ok(cut >= 19 * ADAPTIVE.cutToAccepted - 1e-9 && cut <= 20 * ADAPTIVE.cutToAccepted, `cut to ${cut}`);
    const unpaused = new AdaptiveRate({ auto: false, ceilingRps: 40, now: 0 });
    acceptAt(unpaused, 20, 0, 2_000);
    const blind = unpaused.noteThrottled(3_000, 3_000)?.rps ?? 0;
    // ~9.5/s measured over 2 s, so the cut goes to its floor, a quarter of the 40/s being sent.
    assert.ok(blind <= 40 * ADAPTIVE.deepestCut + 1e-9 && blind < cut / 1.5, `cut without a pause to leave out: ${blind}`);
  });

  test('#11: far under the plateau the climb closes half the gap each step', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    acceptAt(controller, 10, 0, 3_000); // slow start climbs while answers come back: 4 → 8 → 16 → 32
    near(controller.rps, 32, 'slow start');
    // Refused at 32/s in slow start: back to the last clean rate (16), rest under 95% of 32 (30.4).
    near(controller.noteThrottled(3_000, 2_995)?.rps, 16, 'cut');
    acceptAt(controller, 20, 3_000, 4_100);
    near(controller.rps, 16 + (32 * ADAPTIVE.plateauFraction - 16) / 2, 'half the gap in one step, not +5%'); // 23.2
  });

  test('#11: a settled rate nobody uses does not climb', () => {
    const controller = measuredAt10(20);
    controller.noteThrottled(3_000, 2_990); // 9/s
    assert.deepEqual(acceptAt(controller, 1, 4_000, 30_000).filter(Boolean), []);
    near(controller.rps, 9, 'rps');
  });
});

describe('#11: AdaptiveRate: quota headers', () => {
  test('#11: quota headers stand slow start aside: the rate becomes Infinity, not settled', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    assert.deepEqual(controller.noteQuotaHeaders(100), { rps: Infinity, reason: 'quota' });
    assert.equal(controller.rps, Infinity);
    assert.equal(controller.settled, false);
    assert.equal(controller.noteQuotaHeaders(200), undefined, 'once');
  });

  test('#11: quota headers leave a settled rate alone', () => {
    const controller = measuredAt10(20);
    controller.noteThrottled(3_000, 2_990);
    assert.equal(controller.noteQuotaHeaders(3_100), undefined);
    near(controller.rps, 9, 'rps');
    assert.equal(controller.settled, true);
  });

  test('#11: quota headers change nothing while the controller stands aside', () => {
    const controller = new AdaptiveRate({ auto: false, ceilingRps: Infinity, now: 0 });
    assert.equal(controller.noteQuotaHeaders(100), undefined);
    assert.equal(controller.rps, Infinity);
  });
});

describe('#11: AdaptiveRate against a fixed-window server', () => {
  const L = 20;

  test('#11: L = 20 per 1 s window, 30 s from auto: the rate ends near L, few 429s, throughput ≥ 0.85 L', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    const run = drive(controller, { from: 0, to: 30_000, server: fixedWindowServer(() => L) });
    const lastTwenty = run.acceptedStarts.filter((t) => t >= 10_000).length / 20;
    const figures = `end ${controller.rps.toFixed(2)}/s, ${run.throttled} of ${run.total} throttled, ${lastTwenty.toFixed(2)}/s accepted over the last 20 s`;
    assert.ok(controller.rps >= 0.8 * L && controller.rps <= 1.1 * L, figures);
    assert.ok(run.throttled / run.total < 0.05, figures);
    assert.ok(lastTwenty >= 0.85 * L, figures);
    assert.equal(controller.settled, true);
  });

  test('#11: when the limit halves at t = 15 s, the rate is within [0.7, 1.2] × the new limit 5 s later', () => {
    const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
    const run = drive(controller, { from: 0, to: 20_000, server: fixedWindowServer((t) => (t < 15_000 ? L : L / 2)) });
    const figures = `rate ${controller.rps.toFixed(2)}/s at 20 s; changes after 15 s: ${run.changes
      .filter((c) => c.at >= 15_000)
      .map((c) => `${(c.at / 1000).toFixed(2)}s→${c.rps.toFixed(2)}`)
      .join(' ')}`;
    assert.ok(controller.rps >= 0.7 * (L / 2) && controller.rps <= 1.2 * (L / 2), figures);
  });

  test(
    '#11: L = 100: a slow-start overshoot into a used-up fixed window cuts once, not once per refused request, and settles near the limit',
    () => {
      const controller = new AdaptiveRate({ auto: true, ceilingRps: Infinity, now: 0 });
      const run = drive(controller, { from: 0, to: 30_000, server: fixedWindowServer(() => 100) });
      const lastTwenty = run.acceptedStarts.filter((t) => t >= 10_000).length / 20;
      const firstCut = run.changes.findIndex((c) => c.reason === 'throttled');
      const lowest = Math.min(...run.changes.slice(firstCut).map((c) => c.rps));
      const figures = `lowest ${lowest.toFixed(2)}/s, end ${controller.rps.toFixed(2)}/s, ${lastTwenty.toFixed(2)}/s accepted over the last 20 s`;
      assert.ok(lowest >= 0.5 * 100, figures);
      assert.ok(controller.rps >= 0.8 * 100, figures);
      assert.ok(lastTwenty >= 0.85 * 100, figures);
    },
  );
});

describe('#11: SlidingCount', () => {
  test('#11: counts the events in the window', () => {
    const count = new SlidingCount(2_000);
    for (const t of [0, 50, 150, 1_000, 1_999]) count.add(t);
    assert.equal(count.count(1_999), 5);
    assert.equal(count.windowMs, 2_000);
  });

  test('#11: old slots drop out: an event leaves the window once its 100 ms slot is 2 s behind', () => {
    const count = new SlidingCount(2_000); // 20 slots of 100 ms
    for (const t of [0, 50, 150]) count.add(t);
    assert.equal(count.count(1_999), 3);
    assert.equal(count.count(2_000), 1, 'slot 0 (0 and 50) has left');
    assert.equal(count.count(2_099), 1);
    assert.equal(count.count(2_100), 0, 'slot 1 (150) has left');
    assert.equal(count.count(1_000_000), 0);
  });

  test('#11: a reused slot starts again from zero', () => {
    const count = new SlidingCount(2_000);
    for (let i = 0; i < 7; i++) count.add(10);
    count.add(2_010); // same ring position as 10, two seconds on
    assert.equal(count.count(2_010), 1);
    count.add(4_050);
    assert.equal(count.count(4_050), 1);
  });

  test('#11: perSecond divides by at least a second, and by the window at most', () => {
    const count = new SlidingCount(2_000);
    assert.equal(count.perSecond(0), 0, 'nothing yet');
    for (let t = 0; t < 10; t++) count.add(t);
    assert.equal(count.perSecond(10), 10, 'ten events in 10 ms are 10/s, not 1,000/s');
    const steady = new SlidingCount(2_000);
    for (let t = 0; t < 1_500; t += 50) steady.add(t); // 20/s
    assert.equal(steady.perSecond(1_500), 30 / 1.5);
    for (let t = 1_500; t <= 5_050; t += 50) steady.add(t);
    // At the end of a slot the window holds 20 full slots: 40 events over 2 s.
    near(steady.perSecond(5_099), 20, 'over the 2 s window');
    // Early in a slot it holds 19 full ones and the start of the current one, still divided by 2 s:
    // up to one slot (5%) low: (3100 … 5000: 39 events) / 2 s.
    const early = new SlidingCount(2_000);
    for (let t = 0; t <= 5_000; t += 50) early.add(t);
    near(early.perSecond(5_000), 19.5, 'one event into slot 50');
  });

  test('#11: isMeasured needs a second since the first event and enough events in the window', () => {
    const count = new SlidingCount(2_000);
    assert.equal(count.isMeasured(5_000, 1), false, 'no events');
    for (let t = 100; t <= 1_000; t += 100) count.add(t); // 10 events from 100 to 1000
    assert.equal(count.isMeasured(1_000, 5), false, 'only 900 ms since the first');
    assert.equal(count.isMeasured(1_100, 5), true);
    assert.equal(count.isMeasured(1_100, 11), false, 'not enough events');
    assert.equal(count.isMeasured(3_050, 5), false, 'the events have left the window');
  });
});
