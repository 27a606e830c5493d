/**
 * The servers `npm run simulate` runs against: one registry, each entry a ServerModel factory
 * (fixtures/limiters/model.ts) with the ideal time its limiter allows. These are the models the
 * first simulate had, ported; fixtures/limiters/ brings the full set of limiter shapes, which
 * join by adding entries here.
 */
import type { RunOptions } from '../../src/options.js';
import type { ModelAnswer, ServerModel } from '../../fixtures/limiters/model.js';
import { seededRandom } from './seeded-random.js';

/** Requests per second every model allows unless it says otherwise. */
export const LIMIT_RPS = 20;

/** What varies between the runs of one model. */
export interface ModelSetting {
  /** Arrival to the answer's headers back at the client, for an answer that is not delayed otherwise. */
  latencyMs: number;
  /** Seeds any randomness of the model (its faults). */
  seed: number;
}

export interface SimModel {
  describe: string;
  create(setting: ModelSetting): ServerModel;
  /** The least time the limiter allows for `needed` requests: those it did not refuse (faults' retries included). */
  idealMs(needed: number): number;
  /** Client options every run against this model adds (a --timeout for a model that hangs). */
  options?: Partial<RunOptions>;
}

type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

/** 200, or 429 with a Retry-After in whole seconds, rounded up (as most servers send it). */
function answerTo(verdict: Verdict, latencyMs: number): ModelAnswer {
  if (verdict.ok) return { kind: 'response', status: 200, headers: { 'content-type': 'application/json' }, latencyMs };
  const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  return { kind: 'response', status: 429, headers: { 'retry-after': String(seconds) }, latencyMs };
}

/** Fixed one-second windows turning over `phaseMs` after each whole second, each allowing `limit` (or `limit(t, first)`). */
function fixedWindow(limit: number | ((t: number, firstMs: number) => number), phaseMs = 0): (t: number) => Verdict {
  const limitAt = typeof limit === 'number' ? () => limit : limit;
  let windowId = Number.NaN;
  let accepted = 0;
  let firstMs: number | undefined;
  return (t) => {
    firstMs ??= t;
    const id = Math.floor((t - phaseMs) / 1000);
    if (id !== windowId) {
      windowId = id;
      accepted = 0;
    }
    if (accepted >= limitAt(t, firstMs)) return { ok: false, retryAfterMs: (id + 1) * 1000 + phaseMs - t };
    accepted += 1;
    return { ok: true };
  };
}

/** A token bucket: `rps` a second, `depth` deep, full at the first request. */
function tokenBucket(rps: number, depth: number): (t: number) => Verdict {
  let tokens = depth;
  let at = Number.NaN;
  return (t) => {
    tokens = Number.isNaN(at) ? depth : Math.min(depth, tokens + ((t - at) * rps) / 1000);
    at = t;
    if (tokens < 1) return { ok: false, retryAfterMs: ((1 - tokens) * 1000) / rps };
    tokens -= 1;
    return { ok: true };
  };
}

/** A limiter's verdict as the answer. */
function limited(latencyMs: number, limiter: (t: number) => Verdict): ServerModel {
  return { answer: ({ t }) => answerTo(limiter(t), latencyMs) };
}

/**
 * A share of the requests the limiter let through fail, in equal parts: 500, 502, 503 with
 * Retry-After 1, a reset, a body cut short, and an answer that never comes. Each spent quota.
 */
function faulty(share: number, latencyMs: number, seed: number, limiter: (t: number) => Verdict): ServerModel {
  const random = seededRandom(seed);
  const faults: Array<() => ModelAnswer> = [
    () => ({ kind: 'response', status: 500, headers: {}, latencyMs }),
    () => ({ kind: 'response', status: 502, headers: {}, latencyMs }),
    () => ({ kind: 'response', status: 503, headers: { 'retry-after': '1' }, latencyMs }),
    () => ({ kind: 'reset', latencyMs }),
    () => ({ kind: 'truncated', status: 200, headers: {}, latencyMs }),
    () => ({ kind: 'hang' }),
  ];
  return {
    answer: ({ t }) => {
      const verdict = limiter(t);
      if (!verdict.ok || random() >= share) return answerTo(verdict, latencyMs);
      return faults[Math.floor(random() * faults.length)]!();
    },
  };
}

const atLimit = (needed: number) => (needed / LIMIT_RPS) * 1000;
const halvedAfter10s = (t: number, firstMs: number) => (t - firstMs < 10_000 ? LIMIT_RPS : LIMIT_RPS / 2);

export const MODELS: Record<string, SimModel> = {
  ra: {
    describe: 'fixed windows on the clock',
    create: ({ latencyMs }) => limited(latencyMs, fixedWindow(LIMIT_RPS)),
    idealMs: atLimit,
  },
  off: {
    describe: 'fixed windows turning over at x.5 s',
    create: ({ latencyMs }) => limited(latencyMs, fixedWindow(LIMIT_RPS, 500)),
    idealMs: atLimit,
  },
  halving: {
    describe: 'fixed windows, halved 10 s after the first request',
    create: ({ latencyMs }) => limited(latencyMs, fixedWindow(halvedAfter10s)),
    idealMs: (needed) => (needed <= LIMIT_RPS * 10 ? atLimit(needed) : 10_000 + ((needed - LIMIT_RPS * 10) / (LIMIT_RPS / 2)) * 1000),
  },
  tb1: {
    describe: 'token bucket, depth 1',
    create: ({ latencyMs }) => limited(latencyMs, tokenBucket(LIMIT_RPS, 1)),
    idealMs: atLimit,
  },
  tb5: {
    describe: 'token bucket, depth 5',
    create: ({ latencyMs }) => limited(latencyMs, tokenBucket(LIMIT_RPS, 5)),
    idealMs: atLimit,
  },
  faults30: {
    describe: 'token bucket, depth 1, 30% faults, --timeout 2s',
    create: ({ latencyMs, seed }) => faulty(0.3, latencyMs, seed, tokenBucket(LIMIT_RPS, 1)),
    idealMs: atLimit,
    options: { timeoutMs: 2_000 },
  },
};
