/**
 * When a request may start. Token buckets keyed by id ('*' for the run, 'host:<authority>' per
 * host), each with a rate, a depth and an optional pause. The limiter knows nothing of statuses
 * or retries: it hears "pause this bucket until T" and "this bucket now allows R per second".
 *
 * `tryTake` checks and takes atomically across every bucket a request draws from, so a
 * dispatcher can ask "may this start now, and if not, when?" without a race. A limiter whose
 * state lives elsewhere (Redis) implements the same interface with the same guarantee.
 */

export interface Limiter {
  /** Take one token from each bucket if all allow a start now; else say when to ask again. */
  tryTake(buckets: readonly string[]): TakeResult;
  /** Start nothing from `bucket` until `untilMs`; it then resumes with an empty bucket. */
  pause(bucket: string, untilMs: number): void;
  /** The bucket's pause end, or 0 when it is not paused. */
  pausedUntil(bucket: string): number;
  /** Change a bucket's rate (Infinity = no cap) and optionally its depth. */
  setRate(bucket: string, rps: number, burst?: number): void;
}

export type TakeResult = { readonly ok: true } | { ok: false; retryAtMs: number };

/** The one "yes" (a start asks for every request: no object each). */
export const TAKEN: TakeResult = Object.freeze({ ok: true });

/** Epoch ms. It only tells the time: the run loop sets its timers through `Timers` (run/timers.ts), so tests fake `now` alone. */
export interface Clock {
  now(): number;
}

interface Bucket {
  rps: number;
  burst: number;
  tokens: number;
  updatedAt: number;
  pausedUntil: number;
  /**
   * False until the first start. A bucket earns no burst before it is first used: a run's
   * first moments are its slowest (nothing compiled yet, connections opening), and a full
   * burst on top of their delays reached the server as more than rate + burst in its first
   * second. It starts at the rate and earns its burst in the lulls after.
   */
  started: boolean;
}

export const GLOBAL_BUCKET = '*';

export function hostBucket(authority: string): string {
  return `host:${authority}`;
}

export class TokenBucketLimiter implements Limiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  tryTake(ids: readonly string[]): TakeResult {
    const now = this.#clock.now();
    let retryAtMs = now;
    for (const id of ids) {
      const bucket = this.#buckets.get(id);
      if (bucket) retryAtMs = Math.max(retryAtMs, this.#readyAt(bucket, now));
    }
    if (retryAtMs > now) return { ok: false, retryAtMs };
    for (const id of ids) {
      const bucket = this.#buckets.get(id);
      if (bucket && Number.isFinite(bucket.rps)) {
        bucket.tokens -= 1;
        bucket.started = true;
      }
    }
    return TAKEN;
  }

  pause(id: string, untilMs: number): void {
    const bucket = this.#bucket(id);
    if (untilMs <= bucket.pausedUntil) return;
    const now = this.#clock.now();
    this.#refill(bucket, now);
    // Resume empty: at the pause end the bucket holds at most one token (what it would have
    // earned by then), so the first start comes at the end and the rest follow at the rate.
    if (Number.isFinite(bucket.rps)) {
      bucket.tokens = Math.min(1, bucket.tokens + ((untilMs - Math.max(now, bucket.updatedAt)) * bucket.rps) / 1000);
    }
    bucket.pausedUntil = untilMs;
    bucket.updatedAt = untilMs;
  }

  pausedUntil(id: string): number {
    const until = this.#buckets.get(id)?.pausedUntil ?? 0;
    // Asked for every bucket of every queued job: a bucket never paused needs no clock reading.
    return until !== 0 && until > this.#clock.now() ? until : 0;
  }

  setRate(id: string, rps: number, burst = 1): void {
    const bucket = this.#bucket(id);
    const now = this.#clock.now();
    this.#refill(bucket, now);
    bucket.rps = rps;
    bucket.burst = burst;
    bucket.tokens = Math.min(bucket.tokens, burst);
  }

  #bucket(id: string): Bucket {
    let bucket = this.#buckets.get(id);
    if (!bucket) {
      const now = this.#clock.now();
      bucket = { rps: Infinity, burst: 1, tokens: 1, updatedAt: now, pausedUntil: 0, started: false };
      this.#buckets.set(id, bucket);
    }
    return bucket;
  }

  #refill(bucket: Bucket, now: number): void {
    if (now <= bucket.updatedAt) return;
    if (Number.isFinite(bucket.rps)) {
      const depth = bucket.started ? bucket.burst : 1;
      bucket.tokens = Math.min(depth, bucket.tokens + ((now - bucket.updatedAt) * bucket.rps) / 1000);
    } else {
      bucket.tokens = bucket.burst;
    }
    bucket.updatedAt = now;
  }

  /** The earliest time this bucket allows one start. */
  #readyAt(bucket: Bucket, now: number): number {
    if (bucket.pausedUntil > now) {
      return Number.isFinite(bucket.rps) && bucket.tokens < 1 ? bucket.pausedUntil + ((1 - bucket.tokens) * 1000) / bucket.rps : bucket.pausedUntil;
    }
    if (!Number.isFinite(bucket.rps)) return now;
    this.#refill(bucket, now);
    if (bucket.tokens >= 1) return now;
    // Round up to a whole millisecond so a timer set for it never fires a hair early.
    return now + Math.ceil(((1 - bucket.tokens) * 1000) / bucket.rps);
  }
}

/** Read once: `performance.timeOrigin` is a getter that asks the runtime each time. */
const TIME_ORIGIN = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => TIME_ORIGIN + performance.now(),
};
