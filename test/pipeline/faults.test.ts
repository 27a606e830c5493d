// Issue #23 over real HTTP, for the wiring: faults are not limits (a server that fails 30% of
// requests is never slowed down for it), and 503s that are load shedding do slow the run. The
// decisions themselves are tested in virtual time in test/unit/rate-controller.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '../../src/index.js';
import { limiterModel } from '../../fixtures/limiters/limiter-model.js';
import type { ServerModel } from '../../fixtures/limiters/model.js';
import { TokenBucket } from '../../fixtures/limiters/token-bucket.js';
import { withFaults } from '../../fixtures/limiters/faults.js';
import { assertOneRecordPerInput, lineNumbers, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 60_000 };

type RateEvent = Extract<RunEvent, { type: 'rate' }>;
const ratesIn = (events: RunEvent[]): RateEvent[] => events.filter((e): e is RateEvent => e.type === 'rate');

test(
  '#23: faults are not limits: 30% of answers failing (500, 502, 503 with Retry-After, resets, cut bodies) never cut the rate or pause the host',
  TEST_TIMEOUT,
  async (t) => {
    // A limit far above the client's --rps: every failure is a fault, none a refusal.
    const model = withFaults(limiterModel(new TokenBucket({ rps: 200, depth: 20 })), { rate: 0.3, seed: 7, kinds: [500, 502, 503, 'reset', 'truncated'] });
    const server = await startServer(t, { model });
    const inputs = Array.from({ length: 100 }, (_, i) => `${server.url}/items/${i}`);
    const { records, events } = await run(inputs, { rps: 40, retries: 12, backoffBaseMs: 50, maxBackoffMs: 200 });
    assertOneRecordPerInput(records, lineNumbers(100));
    assert.ok(
      records.every((r) => r.ok),
      'every input ok in the end',
    );
    const retries = events.filter((e) => e.type === 'retry');
    assert.ok(retries.length >= 20, `${retries.length} retries: the faults happened`);
    // A 503's Retry-After delays that request's retry, and nothing else.
    assert.ok(
      retries.some((e) => e.type === 'retry' && e.source === 'server' && e.reason.startsWith('503')),
      "a 503's retry waited for its Retry-After",
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'pause'),
      [],
      'no host pause',
    );
    assert.deepEqual(
      ratesIn(events).filter((e) => e.reason === 'throttled'),
      [],
      'no cut',
    );
    // --verbose tells of the first fault of each kind, and that the rate stays.
    assert.ok(
      ratesIn(events).some((e) => e.reason === 'kept' && /^fault ignored: 50[023] /.test(e.why)),
      JSON.stringify(ratesIn(events).map((e) => e.why)),
    );
  },
);

/** A token bucket that sheds load with 503 and Retry-After: 1 where another would answer 429. */
function sheddingModel(rps: number): ServerModel {
  const inner = limiterModel(new TokenBucket({ rps, depth: 5 }), { retryAfter: 'seconds' });
  return {
    answer(request) {
      const answer = inner.answer(request);
      return answer.kind === 'response' && answer.status === 429 ? { ...answer, status: 503 } : answer;
    },
  };
}

test('#23: 503s that are load shedding cut the rate: a trial cut lowers their share, and they are refusals from then on', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t, { model: sheddingModel(20) });
  const inputs = Array.from({ length: 160 }, (_, i) => `${server.url}/items/${i}`);
  // Three times what the server takes: most answers are 503 until the rate comes down.
  const { records, events } = await run(inputs, { rps: 60, retries: 20, maxRetryAfterMs: 5_000 });
  assertOneRecordPerInput(records, lineNumbers(160));
  assert.ok(
    records.every((r) => r.ok),
    'every input ok in the end',
  );
  const cuts = ratesIn(events).filter((e) => e.reason === 'throttled');
  assert.ok(cuts.length >= 1, 'the rate was cut');
  assert.match(cuts[0]!.why, /^cut: 503s were \d+% of answers at [\d.]+\/s, testing for load shedding$/);
  // How far it goes is the controller's business (virtual time tests it); here only that it does.
  assert.ok(cuts.at(-1)!.rps < 60, `cut to ${cuts.at(-1)!.rps}/s, under the 60/s sent`);
  assert.deepEqual(
    ratesIn(events).filter((e) => e.reason === 'undo'),
    [],
    'the cut stood: not undone',
  );
  assert.ok(
    events.some((e) => e.type === 'pause' && e.reason.startsWith('503')),
    'once judged load shedding, a 503 pauses the host',
  );
});
