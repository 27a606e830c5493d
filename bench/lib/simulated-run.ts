/**
 * The real run loop in virtual time: src/run/scheduler.ts's `schedule()` with the real limiter,
 * lanes, lane pacing, retry policy and rate controller (everything fetchAll wires but undici),
 * sending to a ServerModel through simulated-send.ts, on the clock and timers of
 * virtual-time.ts. A run of 600 requests takes a fraction of a second and gives the same
 * records, events and arrivals every time.
 */
import type { RunEvent } from '../../src/events.js';
import { resolveOptions, type RunOptions } from '../../src/options.js';
import { createPlanner, planAll } from '../../src/plan/planner.js';
import { TokenBucketLimiter } from '../../src/rate/limiter.js';
import { applyRunRate } from '../../src/rate/pacing-margin.js';
import type { FetchRecord } from '../../src/record/record.js';
import { createRunRedactor } from '../../src/record/redact.js';
import { RunStats, type StatsSnapshot } from '../../src/report/stats.js';
import { schedule } from '../../src/run/scheduler.js';
import type { ServerModel } from '../../fixtures/limiters/model.js';
import { seededRandom } from '../../fixtures/limiters/prng.js';
import { simulatedSend, type Arrival } from './simulated-send.js';
import { VirtualTime } from './virtual-time.js';

/** 2026-01-01T00:00:00Z: a whole second, so `phaseMs` is where in its second the run starts. */
export const EPOCH_MS = 1_767_225_600_000;

export interface SimulatedRunSettings {
  model: ServerModel;
  /** Inputs: `http://api.test/items/1` … `/items/<count>`. */
  count: number;
  /** The client's options (flags), as a library caller passes them. */
  options?: Partial<RunOptions>;
  /** Where in a clock second the run starts. @default 0 */
  phaseMs?: number;
  /** Client to server, in ms. @default 1 */
  oneWayMs?: number;
  /** Up to this much more from client to server, drawn for each request (seeded). @default 0 */
  jitterMs?: number;
  /** Seeds the client's random (the backoff's jitter) and the network's. @default 1 */
  seed?: number;
  /** Every event, with the virtual time it came at. */
  onEvent?: (event: RunEvent, now: number) => void;
  /** Stop with an error past this much virtual time. @default 1 hour */
  limitMs?: number;
}

export interface SimulatedRun {
  records: FetchRecord[];
  /** Virtual epoch ms: the run's start and its last record. */
  startMs: number;
  endMs: number;
  /** Every request that reached the model, in arrival order. */
  arrivals: Arrival[];
  /** What the summary and --stats-file would say. */
  stats: StatsSnapshot;
}

export async function simulateRun(settings: SimulatedRunSettings): Promise<SimulatedRun> {
  const { model, count, phaseMs = 0, oneWayMs = 1, jitterMs = 0, seed = 1, limitMs = 3_600_000 } = settings;
  const options = resolveOptions(settings.options);
  const startMs = EPOCH_MS + phaseMs;
  const time = new VirtualTime(startMs);
  const limiter = new TokenBucketLimiter(time);
  applyRunRate(limiter, options);
  const stats = new RunStats(time.now);
  const arrivals: Arrival[] = [];
  const records: FetchRecord[] = [];
  const urls = Array.from({ length: count }, (_, i) => `http://api.test/items/${i + 1}`);
  const items = planAll(urls, createPlanner(options));
  const run = (async () => {
    const deps = {
      limiter,
      clock: time,
      timers: time,
      send: simulatedSend(
        model,
        time,
        { oneWayMs, timeoutMs: options.timeoutMs, jitter: jitterMs > 0 ? { maxMs: jitterMs, random: seededRandom(seed + 7) } : undefined },
        (arrival) => arrivals.push(arrival),
      ),
      emit: (event: RunEvent) => {
        stats.onEvent(event);
        settings.onEvent?.(event, time.now());
      },
      redactor: createRunRedactor(options.headers, options.redactParams, options.secretHeaders),
      random: seededRandom(seed),
      checks: {},
    };
    for await (const record of schedule(items, options, deps)) records.push(record);
  })();
  await time.run(run, startMs + limitMs);
  await run; // its error, if it failed
  return { records, startMs, endMs: time.now(), arrivals, stats: stats.snapshot() };
}
