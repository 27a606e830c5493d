/**
 * One rate for many processes (issue #25): a run given a RedisLimiter tells it the rates it
 * fixes and the pauses it is told (a 429's Retry-After pauses every process of the run), and
 * waits for the shared limiter's word before each request goes out, after its own limiter has
 * let it start. The run's own buckets still pace it as before; the shared ones make the sum
 * of all processes hold. The lane's quota bucket is shared as a counter of what is left in the
 * server's window (rate/shared-quota.ts): each start takes from it, and each answer tells it
 * what the server counted. The rate controller's holds stay each process's own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttemptOutcome, HeldOutcome } from '../http/outcome.js';
import type { Clock, Limiter } from '../rate/limiter.js';
import type { RedisLimiter } from '../rate/shared-limiter.js';
import type { QuotaReport } from '../rate/shared-quota.js';
import { effectiveResetMs } from '../retry/quota-state.js';
import { parseQuotaHeaders } from '../retry/quota-headers.js';

const isQuota = (bucket: string) => bucket.startsWith('quota:');
const isLocalRate = (bucket: string) => isQuota(bucket) || bucket.startsWith('adaptive:');

/** The buckets of a lane whose rates every process of the run shares. */
export function sharedBuckets(buckets: readonly string[]): string[] {
  return buckets.filter((bucket) => !isLocalRate(bucket));
}

/** A start the shared limiter allowed: the quota counters it took from, each with its take's number. */
export type SharedTicket = ReadonlyArray<{ counter: string; seq: number }>;

export interface SharedGate {
  /** The run's limiter, with its fixed rates and pauses told to the shared one as well. */
  limiter: Limiter;
  /**
   * Resolves once the shared limiter allows a start from every bucket of the lane, or `signal`
   * aborts (then with no ticket). Rejects if Redis failed.
   */
  startWhenAllowed(buckets: readonly string[], signal: AbortSignal): Promise<SharedTicket>;
  /** The start's answer (or its absence): the quota counters it took from learn what the server counted. */
  settled(ticket: SharedTicket, outcome: AttemptOutcome | HeldOutcome): void;
}

export function createSharedGate(local: Limiter, shared: RedisLimiter, clock: Clock): SharedGate {
  // A rate, pause or answer that did not reach Redis fails the next start: the run must not go on alone.
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
  };
  const limiter: Limiter = {
    tryTake: (buckets) => local.tryTake(buckets),
    pausedUntil: (bucket) => local.pausedUntil(bucket),
    setRate(bucket, rps, burst) {
      local.setRate(bucket, rps, burst);
      if (!isLocalRate(bucket)) shared.setRate(bucket, rps, burst).catch(fail);
    },
    pause(bucket, untilMs) {
      local.pause(bucket, untilMs);
      if (!isLocalRate(bucket)) shared.pause(bucket, Math.max(0, untilMs - clock.now())).catch(fail);
    },
  };
  return {
    limiter,
    async startWhenAllowed(buckets, signal) {
      const rates = sharedBuckets(buckets);
      const counters = buckets.filter(isQuota);
      while (!signal.aborted) {
        if (failure !== undefined) throw failure;
        const take = await shared.tryTake(rates, undefined, counters);
        if (take.ok) return ticketOf(counters, take.seqs);
        // The server's clock says how long; this process sleeps that long on its own.
        await sleep(Math.max(1, take.retryAtMs - take.nowMs), undefined, { signal }).catch(() => undefined);
      }
      return [];
    },
    settled(ticket, outcome) {
      if (ticket.length === 0) return;
      const report = quotaReport(outcome, clock.now());
      for (const { counter, seq } of ticket) shared.noteAnswer(counter, seq, report).catch(fail);
    },
  };
}

function ticketOf(counters: readonly string[], seqs: ReadonlyArray<number | undefined>): SharedTicket {
  const ticket: Array<{ counter: string; seq: number }> = [];
  counters.forEach((counter, i) => {
    const seq = seqs[i];
    if (seq !== undefined) ticket.push({ counter, seq });
  });
  return ticket;
}

/**
 * What an answer tells a shared quota counter. A quota needs what is left and when the window
 * ends (a stated reset, or a policy's window); one without either cannot be counted. Read here
 * as well as in the scheduler's hints: only a run shared through Redis reads it twice.
 */
export function quotaReport(outcome: AttemptOutcome | HeldOutcome, nowMs: number): QuotaReport {
  if (outcome.kind !== 'response') return { kind: 'lost' };
  const quota = parseQuotaHeaders(outcome.headers, nowMs);
  const resetAtMs = quota === undefined ? undefined : effectiveResetMs(quota, nowMs);
  if (quota?.remaining === undefined || resetAtMs === undefined) return { kind: 'none' };
  return { kind: 'quota', remaining: quota.remaining, limit: quota.limit, resetInMs: Math.max(0, resetAtMs - nowMs), resetAtMs };
}
