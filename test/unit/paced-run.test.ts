// The whole run loop (scheduler, limiter, lanes, lane pacing, retry policy, rate controller)
// against models of rate-limited servers, in virtual time (bench/lib/simulated-run.ts): the
// promises of test/pipeline/limits.test.ts that ride on where in a clock second a request
// lands. Over real HTTP a stall of a busy machine moves a request across a second and fails
// them at random; here the same run gives the same arrivals every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent } from '../../src/events.js';
import { ADAPTIVE } from '../../src/rate/controller/tuning.js';
import { getMode, type ModeOptions } from '../../fixtures/limiters/index.js';
import { EPOCH_MS, simulateRun, type SimulatedRun } from '../../bench/lib/simulated-run.js';
import type { RunOptions } from '../../src/options.js';

type RateEvent = Extract<RunEvent, { type: 'rate' }>;

interface PacedRun extends SimulatedRun {
  rates: RateEvent[];
  /** Arrival times (epoch ms) of the requests the server accepted and refused. */
  accepted: number[];
  refused: number[];
}

async function pacedRun(
  mode: string,
  modeOptions: ModeOptions,
  count: number,
  options: Partial<RunOptions>,
  settings: { phaseMs?: number; oneWayMs?: number } = {},
): Promise<PacedRun> {
  const rates: RateEvent[] = [];
  const run = await simulateRun({
    // The model's own count only caps a window's quota (five windows a run): leave it at 600, so a window of 20 holds 20.
    model: getMode(mode).create({ count: 600, ...modeOptions }),
    count,
    options,
    ...settings,
    onEvent: (event) => {
      if (event.type === 'rate') rates.push(event);
    },
  });
  const timesOf = (refused: boolean) =>
    run.arrivals.filter((a) => (a.answer.kind === 'response' && a.answer.status === 429) === refused).map((a) => a.request.t);
  return { ...run, rates, accepted: timesOf(false), refused: timesOf(true) };
}

const secondOf = (t: number) => Math.floor((t - EPOCH_MS) / 1000);
const acceptedIn = (run: PacedRun, second: number) => run.accepted.filter((t) => secondOf(t) === second).length;
const describeRates = (run: PacedRun) => run.rates.map((e) => `${e.rps.toFixed(1)} ${e.reason}`).join(', ');

/** One record per input (in any order), every one ok. */
function assertEveryInputOk(run: PacedRun, count: number): void {
  assert.deepEqual(
    run.records.map((r) => r.line).sort((a, b) => a - b),
    Array.from({ length: count }, (_, i) => i + 1),
  );
  assert.ok(
    run.records.every((r) => r.ok),
    'every input ok',
  );
}

test('#11/#23: --rps auto finds an unknown limit: starts at its start rate, climbs, and its cuts land near a 20/s bucket, 5 deep, from any start phase', async () => {
  for (const phaseMs of [0, 250, 500, 750]) {
    const run = await pacedRun('tb5', { retryAfter: 'seconds' }, 120, { autoRate: true, concurrency: 8 }, { phaseMs });
    assertEveryInputOk(run, 120);
    const figures = `phase ${phaseMs}: ${describeRates(run)}; ${run.refused.length} × 429`;
    assert.deepEqual([run.rates[0]?.rps, run.rates[0]?.reason], [ADAPTIVE.startRps, 'start'], figures);
    assert.ok(
      run.rates.some((e) => e.reason === 'clean' && e.rps >= 16),
      figures,
    );
    const cuts = run.rates.filter((e) => e.reason === 'throttled');
    assert.ok(cuts.length >= 1 && cuts.every((e) => e.rps >= 10 && e.rps <= 26), figures);
    assert.ok(run.refused.length <= 8, figures);
  }
});

test('#11/#23: a request that started in one second and reached the server in the next counts in the next, as the server counts it', async () => {
  // A fixed window of 20 each clock second, 250 ms from client to server, the run starting 850
  // ms into a second at 40/s: the requests started in that second arrive in the next, 20 of
  // them are accepted there and the 21st refused. Counted by start, the busiest second would
  // hold 14.
  const run = await pacedRun('fw1s', {}, 30, { rps: 40, concurrency: 20 }, { phaseMs: 850, oneWayMs: 250 });
  assertEveryInputOk(run, 30);
  assert.equal(acceptedIn(run, 1), 20);
  const cut = run.rates.find((e) => e.reason === 'throttled');
  assert.equal(cut?.rps, 20 * ADAPTIVE.settleFraction, describeRates(run));
});

test('#11/#23: after a 429 from a window on the clock, the rest of the second its pause ends in is filled, faster than the rate, and taken whole', async () => {
  // From 50 ms into a second at 40/s the 21st request is refused half way through it; the
  // Retry-After of 1 s (rounded up) ends the pause half way through the next second.
  const run = await pacedRun('fw1s', {}, 70, { rps: 40, concurrency: 8 }, { phaseMs: 50 });
  assertEveryInputOk(run, 70);
  const refusedAt = run.refused[0]!;
  const resumedIn = secondOf(run.accepted.find((t) => t > refusedAt + 900)!);
  const figures = `refused ${refusedAt - EPOCH_MS} ms in; accepted per second: ${[0, 1, 2, 3].map((s) => acceptedIn(run, s)).join(' ')}; ${describeRates(run)}`;
  // The rate alone (19.4/s) would start 9 or so in what is left of that second; the fill, about 18.
  assert.ok(acceptedIn(run, resumedIn) >= 15, figures);
  assert.deepEqual(
    run.refused.filter((t) => t > refusedAt + 900),
    [],
    figures,
  );
});

test('#11/#23: after a 429 that does not say when, the lane waits until the second that refused is over, and no input runs out of retries', async () => {
  // A window of 20 each clock second with no hints; at 40/s from 50 ms in, the 21st is refused
  // about half way through. The backoff drawn at its shortest would retry into that second.
  const run = await pacedRun('fw1s', { retryAfter: 'none' }, 60, { rps: 40, concurrency: 8 }, { phaseMs: 50 });
  assertEveryInputOk(run, 60);
  const refusedIn = secondOf(run.refused[0]!);
  const figures = `429s at ${run.refused.map((t) => `${t - EPOCH_MS} ms`).join(' ')}`;
  // Only requests already on their way when the first 429 came back reach that second after it.
  const afterFirst = run.accepted.concat(run.refused).filter((t) => t > run.refused[0]! + 2 && secondOf(t) === refusedIn);
  assert.deepEqual(afterFirst, [], figures);
  assert.ok(
    run.refused.every((t) => secondOf(t) === refusedIn),
    figures,
  );
});

test('#11/#23: a fixed --rps is a ceiling: told twice the rate of a server that spaces requests strictly, a handful of 429s, from any start phase', async () => {
  for (const phaseMs of [0, 250, 500, 750]) {
    const run = await pacedRun('tb1', { retryAfter: 'seconds' }, 80, { rps: 40, concurrency: 8 }, { phaseMs });
    assertEveryInputOk(run, 80);
    const figures = `phase ${phaseMs}: ${describeRates(run)}; ${run.refused.length} × 429`;
    const cuts = run.rates.filter((e) => e.reason === 'throttled');
    assert.ok(cuts.length >= 1 && cuts.every((e) => e.rps < 40), figures);
    assert.ok(
      run.rates.every((e) => e.rps <= 40),
      figures,
    );
    // At a fixed 40/s, every other request would be refused.
    assert.ok(run.refused.length <= 6, figures);
  }
});
