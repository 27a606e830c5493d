/**
 * A run's own keys in Redis, beside BullMQ's queue and the shared limiter's buckets: its
 * settings (no secrets: run-settings.ts), and its stop word, which any process of the run may
 * set (a breaker that trips, a coordinator told to stop) and every worker watches.
 * `cleanRun` removes all of it; `runStatus` reads it for `ratefetch status`.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import type { StopCause } from '../events.js';
import { queueName } from './redis-queue.js';
import type { SharedSettings } from './run-settings.js';

/** A run name goes into key and queue names: letters, digits, '.', '_' and '-'. */
export function checkRunName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
    throw new UsageError(`--name ${JSON.stringify(name)} is not a run name: use letters, digits, '.', '_' and '-' (at most 100).`);
  }
  return name;
}

const key = (name: string, what: string) => `ratefetch:{${name}}:${what}`;

export interface StoredRun {
  settings: SharedSettings;
  startedAt: number;
  /** How long a job's lock lasts and how often workers look for stalled jobs: a dead worker's jobs come back within twice this. */
  stalledAfterMs?: number;
}

export interface StopWord {
  cause: StopCause;
  reason: string;
}

export async function readRun(redis: Redis, name: string): Promise<StoredRun | undefined> {
  const text = await redis.get(key(name, 'settings'));
  return text === null ? undefined : (JSON.parse(text) as StoredRun);
}

/** Stores the run's settings; JSON has no Infinity, and an absent option takes its default. */
export async function writeRun(redis: Redis, name: string, run: StoredRun): Promise<void> {
  await redis.set(
    key(name, 'settings'),
    JSON.stringify(run, (_key, value: unknown) => (value === Number.POSITIVE_INFINITY ? undefined : value)),
  );
  await redis.del(key(name, 'stop'));
}

export async function sayStop(redis: Redis, name: string, word: StopWord): Promise<void> {
  await redis.set(key(name, 'stop'), JSON.stringify(word), 'NX');
}

export async function readStop(redis: Redis, name: string): Promise<StopWord | undefined> {
  const text = await redis.get(key(name, 'stop'));
  return text === null ? undefined : (JSON.parse(text) as StopWord);
}

/** Everything of the run in Redis: the queue, its settings, records not yet written, the shared limits. */
export async function cleanRun(redis: Redis, connection: Queue['opts']['connection'], name: string): Promise<number> {
  const queue = new Queue(queueName(name), { connection });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
  const keys = await scanAll(redis, key(name, '*'));
  let removed = 0;
  for (let at = 0; at < keys.length; at += 500) removed += await redis.del(...keys.slice(at, at + 500));
  return removed;
}

export interface RunStatus {
  name: string;
  startedAt: number;
  jobs: { waiting: number; active: number; delayed: number; failed: number };
  /** Workers take no jobs: the run was stopped early and waits for --resume. */
  paused: boolean;
  /** Records workers finished that the coordinator has not written yet. */
  recordsUnwritten: number;
  workers: number;
  /** Shared rates, by bucket: starts per second and burst. */
  rates: Array<{ bucket: string; rps: number; burst: number }>;
  /**
   * Each lane's rate as the coordinator's controller holds it now (its `adaptive:` bucket among
   * `rates`), by the lane's label: null while the controller stands aside (no 429 seen without --rps auto).
   */
  lanes: Array<{ lane: string; rps: number | null }>;
  /** Shared pauses still running, by bucket, in ms from now. */
  pauses: Array<{ bucket: string; remainingMs: number }>;
  /**
   * Shared quota counters (rate/shared-quota.ts), by bucket: left in the window as counted, the
   * limit (null while the first answer is awaited), and ms until the window ends (null while unknown).
   */
  quotas: Array<{ bucket: string; left: number; limit: number | null; endsInMs: number | null }>;
  stop: StopWord | undefined;
  template: string | undefined;
  workerHeaders: string[];
}

export async function runStatus(redis: Redis, connection: Queue['opts']['connection'], name: string): Promise<RunStatus | undefined> {
  const run = await readRun(redis, name);
  if (run === undefined) return undefined;
  const queue = new Queue(queueName(name), { connection });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const workers = await queue.getWorkersCount();
    const rates: RunStatus['rates'] = [];
    const pauses: RunStatus['pauses'] = [];
    for (const found of await scanAll(redis, key(name, 'rate:*'))) {
      const fields = await redis.hgetall(found);
      rates.push({ bucket: found.slice(key(name, 'rate:').length), rps: Number(fields.rps), burst: Number(fields.burst) });
    }
    for (const found of await scanAll(redis, key(name, 'pause:*'))) {
      const remainingMs = await redis.pttl(found);
      if (remainingMs > 0) pauses.push({ bucket: found.slice(key(name, 'pause:').length), remainingMs });
    }
    const lanes: RunStatus['lanes'] = [];
    for (const [pauseBucket, info] of Object.entries(await redis.hgetall(key(name, 'lanes')))) {
      const rate = rates.find((each) => each.bucket === `adaptive:${pauseBucket}`);
      lanes.push({ lane: (JSON.parse(info) as { label: string }).label, rps: rate?.rps ?? null });
    }
    const quotas: RunStatus['quotas'] = [];
    const [seconds, micros] = await redis.time();
    const serverNowMs = Number(seconds) * 1000 + Number(micros) / 1000;
    for (const found of await scanAll(redis, key(name, 'window:*'))) {
      const fields = await redis.hgetall(found);
      if (fields.none !== undefined) continue;
      const endsInMs = fields.endsAt === undefined ? null : Math.max(0, Number(fields.endsAt) - serverNowMs);
      const limit = fields.limit === undefined ? null : Number(fields.limit);
      quotas.push({ bucket: found.slice(key(name, 'window:').length), left: Number(fields.left ?? 0), limit, endsInMs });
    }
    return {
      name,
      startedAt: run.startedAt,
      jobs: {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
      },
      paused: await queue.isPaused(),
      recordsUnwritten: await redis.llen(key(name, 'results')),
      workers,
      rates,
      lanes,
      pauses,
      quotas,
      stop: await readStop(redis, name),
      template: run.settings.options.template,
      workerHeaders: run.settings.workerHeaders,
    };
  } finally {
    await queue.close();
  }
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}
