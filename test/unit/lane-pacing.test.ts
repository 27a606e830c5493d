// #22 §0: the wait after a 429 that did not say when is decided by a pure function of where the
// refusal landed in its clock second, so it is tested here in virtual time, not on the wall clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitOutRefusingSecond } from '../../src/run/lane-pacing.js';
import type { LanePause } from '../../src/run/next-step.js';

const SECOND = 1_700_000_000_000; // a whole clock second, as epoch ms
const backoff = (untilMs: number, delayMs: number): LanePause => ({ untilMs, delayMs, source: 'backoff', reason: '429 Too Many Requests' });

test('#22: a bare 429 the controller did not cut for waits out its backoff, stretched to the end of the clock second that refused it', () => {
  // The refusal reached the server 2 ms after it started and its answer came 2 ms later; the next
  // second's first start goes so that it arrives 20 ms into that second: 1,018 ms past SECOND.
  const cases: Array<{ arrivedMsIntoSecond: number; backoffMs: number; expectedDelayMs: number }> = [
    { arrivedMsIntoSecond: 0, backoffMs: 600, expectedDelayMs: 1_016 },
    { arrivedMsIntoSecond: 100, backoffMs: 600, expectedDelayMs: 916 },
    { arrivedMsIntoSecond: 398, backoffMs: 600, expectedDelayMs: 618 },
    { arrivedMsIntoSecond: 500, backoffMs: 600, expectedDelayMs: 600 }, // the backoff ends in the next second already
    { arrivedMsIntoSecond: 999, backoffMs: 0, expectedDelayMs: 17 },
    { arrivedMsIntoSecond: 250, backoffMs: 5_000, expectedDelayMs: 5_000 },
  ];
  for (const { arrivedMsIntoSecond, backoffMs, expectedDelayMs } of cases) {
    const arrivedAt = SECOND + arrivedMsIntoSecond;
    const startedAt = arrivedAt - 2;
    const answeredAt = arrivedAt + 2;
    const pause = waitOutRefusingSecond(backoff(answeredAt + backoffMs, backoffMs), { startedAt, arrivedAt, cut: false });
    const label = `refused ${arrivedMsIntoSecond} ms into its second, backoff ${backoffMs} ms`;
    assert.equal(pause.delayMs, expectedDelayMs, label);
    assert.equal(pause.untilMs, answeredAt + expectedDelayMs, label);
    assert.equal([pause.source, pause.reason].join(), 'backoff,429 Too Many Requests', label);
  }
});

test('#22: the wait never ends inside the refusing second', () => {
  for (const cut of [false, true])
    for (let phaseMs = 0; phaseMs < 1_000; phaseMs += 7) {
      const arrivedAt = SECOND + phaseMs;
      const pause = waitOutRefusingSecond(backoff(arrivedAt + 300, 300), { startedAt: arrivedAt - 5, arrivedAt, cut });
      // A start at untilMs reaches the server 5 ms later: in the next second, not the refused one.
      assert.ok(Math.floor((pause.untilMs + 5) / 1_000) > Math.floor(arrivedAt / 1_000), `phase ${phaseMs} ms`);
    }
});

test('#23: a bare 429 the controller cut the rate for waits only until the clock second that refused it is over', () => {
  // The cut rate paces the lane from then on: the backoff (600 ms here) is not added on top.
  const cases: Array<{ arrivedMsIntoSecond: number; expectedDelayMs: number }> = [
    { arrivedMsIntoSecond: 0, expectedDelayMs: 1_016 },
    { arrivedMsIntoSecond: 500, expectedDelayMs: 516 },
    { arrivedMsIntoSecond: 900, expectedDelayMs: 116 },
    { arrivedMsIntoSecond: 999, expectedDelayMs: 17 },
  ];
  for (const { arrivedMsIntoSecond, expectedDelayMs } of cases) {
    const arrivedAt = SECOND + arrivedMsIntoSecond;
    const answeredAt = arrivedAt + 2;
    const pause = waitOutRefusingSecond(backoff(answeredAt + 600, 600), { startedAt: arrivedAt - 2, arrivedAt, cut: true });
    assert.equal(pause.delayMs, expectedDelayMs, `refused ${arrivedMsIntoSecond} ms into its second`);
    assert.equal(pause.untilMs, answeredAt + expectedDelayMs);
  }
});
