/**
 * Before the first request of a paced run, open the connections its first moments will ask
 * for (src/http/spare-connections.ts says why). Only the first origin is warmed: a run whose
 * later inputs go to new hosts meets those connects as it goes.
 */
import type { SpareConnections } from '../http/spare-connections.js';
import type { RunOptions } from '../options.js';
import type { PlanResult } from '../plan/planner.js';

/** A guess at one connect, generous for loopback and a LAN; a slower one only waits longer. */
const CONNECT_MS = 50;
/** The run's first start waits no longer than this for the warm-up. */
const MAX_WAIT_MS = 1_000;

/**
 * The connections the starts of one connect's time would each open: the burst and the
 * rate's starts in CONNECT_MS, at most the run's concurrency. None for a run with no fixed
 * rate: nothing there to hold to, and `--rps auto` starts slowly anyway.
 */
export function connectionsToWarm(options: Pick<RunOptions, 'rps' | 'autoRate' | 'burst' | 'concurrency' | 'hostConcurrency'>): number {
  if (options.autoRate || !Number.isFinite(options.rps)) return 0;
  const wanted = options.burst + Math.ceil((options.rps * CONNECT_MS) / 1000);
  return Math.min(wanted, options.concurrency, options.hostConcurrency);
}

/** Passes the plans through, warming the first request's origin before handing it on. */
export async function* warmFirstOrigin(
  plans: AsyncIterable<PlanResult>,
  spares: SpareConnections,
  count: number,
  timeoutMs: number,
): AsyncGenerator<PlanResult> {
  let warmed = false;
  for await (const plan of plans) {
    if (!warmed && plan.kind === 'request') {
      warmed = true;
      await spares.warm(plan.url, count, Math.min(timeoutMs, MAX_WAIT_MS));
    }
    yield plan;
  }
}
