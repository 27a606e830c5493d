// #23: when a used-up quota comes back, from the lane's own starts (src/rate/quota-ledger.ts), and
// what decideQuotaPacing does with it. Virtual time: starts and answers are numbers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FixedWindow } from '../../fixtures/limiters/fixed-window.js';
import type { Limiter } from '../../fixtures/limiters/limiter.js';
import { seededRandom } from '../../fixtures/limiters/prng.js';
import { SlidingLog } from '../../fixtures/limiters/sliding-log.js';
import { TokenBucket } from '../../fixtures/limiters/token-bucket.js';
import { PACING_MARGIN } from '../../src/rate/pacing-margin.js';
import { explainsCount, LEDGER_SIZE, roomAt, StartLedger } from '../../src/rate/quota-ledger.js';
import { decideQuotaPacing } from '../../src/rate/quota-pacing.js';
import type { QuotaState } from '../../src/retry/quota-headers.js';

const NOW = 1_767_225_600_000; // a whole second
const W = 1_000;

describe('#23: explainsCount: the lane alone used what the server counts', () => {
  const starts = [NOW, NOW + 10, NOW + 20, NOW + 30, NOW + 40];
  test('#23: the count is no more than the lane started from a window before the answered request on', () => {
    assert.equal(explainsCount(starts, NOW + 20, 3, 20, W), true);
    assert.equal(explainsCount(starts, NOW + 40, 5, 20, W), true);
  });
  test('#23: requests started after the answered one count too: on the way together, some arrive first', () => {
    assert.equal(explainsCount(starts, NOW + 10, 4, 20, W), true);
  });
  test('#23: more counted than the lane sent (another client on the same quota) is not explained', () => {
    assert.equal(explainsCount(starts, NOW + 40, 6, 20, W), false);
    // Starts older than the window before the answered one are not in the count.
    assert.equal(explainsCount(starts, NOW + W + 15, 4, 20, W), false);
  });
  test('#23: a quota bigger than the ledger keeps is left to the stated reset', () => {
    assert.equal(explainsCount(starts, NOW + 40, 1, LEDGER_SIZE + 1, W), false);
  });
});

describe('#23: StartLedger: a start moves on to when the server counted it, once its answer says', () => {
  test('#23: kept in order: a start counted late moves past those that started after it and were counted sooner', () => {
    const ledger = new StartLedger();
    for (const t of [0, 1, 2, 3, 4]) ledger.add(NOW + t);
    ledger.settle(NOW + 1, NOW + 3.5); // a first request on a new connection, or a busy server's last
    assert.deepEqual(ledger.starts, [NOW, NOW + 2, NOW + 3, NOW + 3.5, NOW + 4]);
    ledger.settle(NOW + 4, NOW + 4); // no later than its start: unchanged
    ledger.settle(NOW + 9, NOW + 12); // not in the ledger: nothing
    assert.deepEqual(ledger.starts, [NOW, NOW + 2, NOW + 3, NOW + 3.5, NOW + 4]);
    // The room for the next start follows: the 4th newest (of 4 per second) is now 2 ms later.
    assert.equal(roomAt(ledger.starts, 4, W), NOW + 2 + W * (1 + PACING_MARGIN));
  });
});

describe('#23: roomAt: the next start finds room once the limit-th newest is a window behind', () => {
  test('#23: fewer starts than the limit: no wait', () => {
    assert.equal(roomAt([NOW, NOW + 1], 3, W), undefined);
  });
  test('#23: the limit-th newest start, a window and the margin later', () => {
    assert.equal(roomAt([NOW, NOW + 100, NOW + 200, NOW + 300], 3, W), NOW + 100 + W * (1 + PACING_MARGIN));
  });

  // A lane that starts as soon as roomAt lets it (after random gaps, in bursts and trickles),
  // against servers whose count a policy of 20 per second describes: none refuses a request.
  const servers: Array<[string, () => Limiter]> = [
    ['a sliding log', () => new SlidingLog({ limit: 20, windowMs: W })],
    ['1 s windows on the clock', () => new FixedWindow({ limit: 20, windowMs: W, start: 'clock' })],
    ["1 s windows opened by the client's first request", () => new FixedWindow({ limit: 20, windowMs: W, start: 'client' })],
    ['a token bucket of 20 refilling over a second', () => new TokenBucket({ rps: 20, depth: 20 })],
  ];
  for (const [name, create] of servers) {
    test(`#23: held to roomAt, ${name} accepts every request, and the lane keeps close to 20 a second`, () => {
      const random = seededRandom(23);
      const server = create();
      const starts: number[] = [];
      let t = NOW + 137;
      while (starts.length < 600) {
        // Up to 3 ms more on the way to the server than the start before: under the margin.
        const arrival = t + 1 + random() * 3;
        const verdict = server.decide('client', arrival);
        assert.ok(verdict.accepted, `${name}: request ${starts.length + 1} refused at +${(arrival - NOW).toFixed(1)} ms`);
        starts.push(t);
        const gapMs = random() < 0.7 ? 0 : random() * 120; // bursts, and lulls
        t = Math.max(t + gapMs, roomAt(starts, 20, W) ?? t);
      }
      const seconds = (starts.at(-1)! - starts[0]!) / W;
      assert.ok(600 / seconds > 20 * 0.8, `${(600 / seconds).toFixed(1)}/s`);
    });
  }
});

describe('#23: decideQuotaPacing with the room the lane’s own starts say', () => {
  // Draft-11: `r` available, `t` the window to use it in; read as at most r in the next t seconds.
  const draft11 = (remaining: number): QuotaState => ({ source: 'ratelimit-structured', limit: 20, remaining, windowMs: W, resetAtMs: NOW + W });
  test('#23: used up: the lane pauses until there is room, not a whole t', () => {
    assert.deepEqual(decideQuotaPacing(draft11(0), 0, NOW, undefined, 0, NOW + 400), { pauseUntilMs: NOW + 400 });
    // Without the room its starts say, the whole t.
    assert.deepEqual(decideQuotaPacing(draft11(0), 0, NOW), { pauseUntilMs: NOW + W });
  });
  test('#23: a wait no longer than the policy’s spacing (w / q) is left to the hold on each start', () => {
    assert.equal(decideQuotaPacing(draft11(0), 0, NOW, undefined, 0, NOW + 50), undefined);
    assert.equal(decideQuotaPacing(draft11(1), 1, NOW, undefined, 0, NOW + 30), undefined);
  });
  test('#23: little left is not spread over a t that moves on with every answer', () => {
    assert.deepEqual(decideQuotaPacing(draft11(1), 0, NOW), { rps: 1 }, 'without the room: spread');
    assert.equal(decideQuotaPacing(draft11(1), 0, NOW, undefined, 0, NOW), undefined);
  });
  test('#23: a stated reset sooner than the room wins', () => {
    const quota = { ...draft11(0), resetAtMs: NOW + 200 };
    assert.deepEqual(decideQuotaPacing(quota, 0, NOW, undefined, 0, NOW + 600), { pauseUntilMs: NOW + 200 });
  });
});
