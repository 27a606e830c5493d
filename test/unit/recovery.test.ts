// #23: after a drop, probing back to the rate that held (src/rate/controller/recovery.ts): the
// decisions as tables, and the limit finder against a window whose limit halves and comes back,
// in virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LimitFinder } from '../../src/rate/controller/limit-finder.ts';
import { DROP_SHARE, decideRecovery, probeBackFactor, probedBack, type Recovery, RecoveryProbes } from '../../src/rate/controller/recovery.ts';
import { ADAPTIVE } from '../../src/rate/controller/tuning.ts';

describe('#23: decideRecovery: a cut under a rate that held is a drop, and the rate probes back to it', () => {
  const cases: Array<[string, Parameters<typeof decideRecovery>, ReturnType<typeof decideRecovery>]> = [
    ['nothing held yet: no recovery', [undefined, 5, 0], undefined],
    ['a cut a little under the rate that held: the limit measured, no drop', [undefined, 18, 20], undefined],
    ['a cut under DROP_SHARE of the rate that held: a drop, a short rest first', [undefined, 9.7, 20], { formerRps: 20, restMs: ADAPTIVE.firstProbeBackMs }],
    ['a cut while recovering keeps the rest the last probe set', [{ formerRps: 20, restMs: 12_000 }, 9.7, 20], { formerRps: 20, restMs: 12_000 }],
    ['a cut at the former rate again: recovered', [{ formerRps: 20, restMs: 12_000 }, 19.4, 20], undefined],
  ];
  for (const [name, args, expected] of cases) test(`#23: ${name}`, () => assert.deepEqual(decideRecovery(...args), expected));

  test('#23: each probe back doubles the rest before the next, up to the usual rest', () => {
    let recovery: Recovery = { formerRps: 20, restMs: ADAPTIVE.firstProbeBackMs };
    const rests: number[] = [];
    for (let i = 0; i < 6; i++) {
      recovery = probedBack(recovery);
      rests.push(recovery.restMs);
    }
    assert.deepEqual(rests, [12_000, 24_000, 30_000, 30_000, 30_000, 30_000]);
  });

  test('#23: the probe back goes straight to the former rate; without a recovery, the probe factor as it was', () => {
    assert.equal(probeBackFactor({ formerRps: 20, restMs: 3_000 }, 10, 1.05), 2);
    assert.equal(probeBackFactor({ formerRps: 20, restMs: 3_000 }, 19.9, 1.05), 1.05);
    assert.equal(probeBackFactor(undefined, 10, 1.05), 1.05);
  });

  test('#23: a rate held only briefly, unused, or in slow start is not a rate that held', () => {
    const probes = new RecoveryProbes();
    probes.noteClean(20, false, ADAPTIVE.heldCleanMs - 1, 1_000);
    probes.noteClean(40, false, ADAPTIVE.heldCleanMs, 3);
    probes.noteClean(64, true, ADAPTIVE.heldCleanMs, 1_000);
    assert.equal(probes.restAfterCut(1), undefined);
    probes.noteClean(20, false, ADAPTIVE.heldCleanMs, 100);
    assert.equal(probes.restAfterCut(20 * DROP_SHARE - 0.1), ADAPTIVE.firstProbeBackMs);
  });

  test('#23: a probe back rests at the rate it went to, briefly, then probes past it in small steps; refused, the next waits twice as long', () => {
    const probes = new RecoveryProbes();
    probes.noteClean(20, false, ADAPTIVE.heldCleanMs, 100);
    assert.equal(probes.probed(25), undefined, 'no drop: a probe of its own');
    assert.equal(probes.restAfterCut(10), ADAPTIVE.firstProbeBackMs);
    assert.equal(probes.probeFactor(10, ADAPTIVE.climbFactor), 2);
    assert.deepEqual(probes.probed(20), { plateau: 20, probeFactor: ADAPTIVE.climbFactor, restMs: ADAPTIVE.shortRestMs });
    assert.equal(probes.restAfterCut(9.7), 2 * ADAPTIVE.firstProbeBackMs);
    assert.equal(probes.restAfterCut(19.4), undefined, 'a cut near the former rate: recovered');
  });
});

describe('#23: LimitFinder: a limit that halves and comes back is found again', () => {
  /**
   * Requests at the finder's rate, told 40/s, against 1 s windows on the clock of `limitAt(t)`,
   * each answered 5 ms after it started; a 429 pauses until its window is over. Returns the
   * first time after `from` that the finder's rate is within 0.9–1.05 × `target`.
   */
  function run(limitAt: (t: number) => number, to: number, from: number, target: number): number | undefined {
    const finder = new LimitFinder({ auto: false, ceilingRps: 40, now: 0 });
    const answers: Array<{ at: number; startedAt: number; ok: boolean }> = [];
    const counts = new Map<number, number>();
    let next = 0;
    let found: number | undefined;
    while (next < to) {
      while (answers.length > 0 && answers[0]!.at <= next) {
        const { at, startedAt, ok } = answers.shift()!;
        if (ok) finder.noteAccepted(at, startedAt);
        else {
          const untilMs = Math.ceil(at / 1000) * 1000;
          finder.noteThrottled(at, startedAt, untilMs - at);
          finder.notePause(at, untilMs);
          next = Math.max(next, untilMs);
        }
      }
      if (found === undefined && next >= from && finder.rps >= 0.9 * target && finder.rps <= 1.05 * target) found = next;
      const second = Math.floor(next / 1000);
      const used = counts.get(second) ?? 0;
      const ok = used < limitAt(next);
      if (ok) counts.set(second, used + 1);
      const held = finder.noteStart(next);
      answers.push({ at: next + 5, startedAt: next, ok });
      next = Math.max(next + 1000 / Math.min(40, finder.rps), held?.holdUntil ?? 0);
    }
    return found;
  }

  test('#23: a window of 20 that halves at 10 s and doubles back at 30 s: 20/s again within 10 s of the doubling', () => {
    const found = run((t) => (t >= 10_000 && t < 30_000 ? 10 : 20), 60_000, 30_000, 20);
    assert.ok(found !== undefined && found < 40_000, `found at ${found}`);
  });
});
