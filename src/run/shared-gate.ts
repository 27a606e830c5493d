/**
 * One rate for many processes (issue #25): a run given a RedisLimiter tells it the rates it
 * fixes and the pauses it is told (a 429's Retry-After pauses every process of the run), and
 * waits for the shared limiter's word before each request goes out, after its own limiter has
 * let it start. The run's own buckets still pace it as before; the shared ones make the sum
 * of all processes hold. Buckets that are one process's own business stay local: the quota
 * pacing and the rate controller's holds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, Limiter } from '../rate/limiter.js';
import type { RedisLimiter } from '../rate/shared-limiter.js';

const isLocal = (bucket: string) => bucket.startsWith('quota:') || bucket.startsWith('adaptive:');

/** The buckets of a lane that every process of the run shares. */
export function sharedBuckets(buckets: readonly string[]): string[] {
  return buckets.filter((bucket) => !isLocal(bucket));
}

export interface SharedGate {
  /** The run's limiter, with its fixed rates and pauses told to the shared one as well. */
  limiter: Limiter;
  /** Resolves once the shared limiter allows a start from every bucket, or `signal` aborts. Rejects if Redis failed. */
  startWhenAllowed(buckets: readonly string[], signal: AbortSignal): Promise<void>;
}

export function createSharedGate(local: Limiter, shared: RedisLimiter, clock: Clock): SharedGate {
  // A rate or pause that did not reach Redis fails the next start: the run must not go on alone.
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
  };
  const limiter: Limiter = {
    tryTake: (buckets) => local.tryTake(buckets),
    pausedUntil: (bucket) => local.pausedUntil(bucket),
    setRate(bucket, rps, burst) {
      local.setRate(bucket, rps, burst);
      if (!isLocal(bucket)) shared.setRate(bucket, rps, burst).catch(fail);
    },
    pause(bucket, untilMs) {
      local.pause(bucket, untilMs);
      if (!isLocal(bucket)) shared.pause(bucket, Math.max(0, untilMs - clock.now())).catch(fail);
    },
  };
  return {
    limiter,
    async startWhenAllowed(buckets, signal) {
      while (!signal.aborted) {
        if (failure !== undefined) throw failure;
        const take = await shared.tryTake(buckets);
        if (take.ok) return;
        // The server's clock says how long; this process sleeps that long on its own.
        await sleep(Math.max(1, take.retryAtMs - take.nowMs), undefined, { signal }).catch(() => undefined);
      }
    },
  };
}
