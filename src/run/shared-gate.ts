/**
 * One rate for many processes (issue #25): a run given a RedisLimiter tells it the rates it
 * fixes and the pauses it is told (a 429's Retry-After pauses every process of the run), and
 * waits for the shared limiter's word before each request goes out, after its own limiter has
 * let it start. The run's own buckets still pace it as before; the shared ones make the sum
 * of all processes hold. The lane's quota bucket is shared as a counter of what is left in the
 * server's window (rate/shared-quota.ts): each start takes from it, and each answer tells it
 * what the server counted. With a lane reporter (run/lane-report-stream.ts), the rate
 * controllers are the coordinator's: their `adaptive:` buckets are shared too, written by the
 * coordinator alone, and each TAKE's reply keeps the reporter's map onto Redis's clock.
 * Without one (a library caller's runs sharing fixed rates) each process keeps its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttemptOutcome, HeldOutcome } from '../http/outcome.js';
import type { Clock, Limiter } from '../rate/limiter.js';
import type { RedisLimiter } from '../rate/shared-limiter.js';
import type { QuotaReport } from '../rate/shared-quota.js';
import type { StreamLaneReporter } from './lane-report-stream.js';
import { effectiveResetMs } from '../retry/quota-state.js';
import { parseQuotaHeaders } from '../retry/quota-headers.js';

const isQuota = (bucket: string) => bucket.startsWith('quota:');
const ADAPTIVE_PREFIX = 'adaptive:';
const isAdaptive = (bucket: string) => bucket.startsWith(ADAPTIVE_PREFIX);
const isLocalRate = (bucket: string) => isQuota(bucket) || isAdaptive(bucket);

/** The buckets of a lane whose rates every process of the run shares; `adaptive` when the controllers are shared too. */
export function sharedBuckets(buckets: readonly string[], adaptive = false): string[] {
  return buckets.filter((bucket) => !isLocalRate(bucket) || (adaptive && isAdaptive(bucket)));
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

export function createSharedGate(local: Limiter, shared: RedisLimiter, clock: Clock, reporter?: StreamLaneReporter): SharedGate {
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
      const rates = sharedBuckets(buckets, reporter !== undefined);
      const counters = buckets.filter(isQuota);
      const adaptive = buckets.find(isAdaptive);
      // The lane's first start waits for its claim, which writes the rate its controller starts at.
      if (reporter !== undefined && adaptive !== undefined) await reporter.ready(adaptive.slice(ADAPTIVE_PREFIX.length));
      while (!signal.aborted) {
        if (failure !== undefined) throw failure;
        if (reporter?.failure !== undefined) throw reporter.failure.error;
        const askedAt = clock.now();
        const take = await shared.tryTake(rates, undefined, counters);
        reporter?.serverClock.note(askedAt, take.ok ? take.atMs : take.nowMs, clock.now());
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
