/**
 * A run's inputs spread over workers through Redis, on BullMQ (issue #25). The coordinator
 * enqueues each input as a job whose id is its line (a line is queued once, however often the
 * coordinator is restarted), with backpressure: it waits while `maxWaiting` jobs wait, so Redis
 * holds a bounded window of the input, not the input. A worker fetches an input and pushes its
 * record onto the run's result list before the job completes; the coordinator takes records
 * from that list and keeps the first for each line.
 *
 * Nothing is lost: a worker killed mid-job loses its lock, BullMQ's stalled-job check puts the
 * job back, and another worker fetches it again (the only requests ever sent twice). If the
 * killed worker had pushed the record already, the second one is dropped by line.
 */
import { Queue, WaitingError, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { InputItem } from '../input/item.js';
import type { FetchRecord } from '../record/record.js';
import type { AttemptCounter } from './shared-counts.js';

/** One input as it travels: its line and the item read from it (JSON all the way). */
export interface QueuedInput {
  line: number;
  item: InputItem;
}

export interface QueueSettings {
  /** Where Redis is: a redis:// URL or a unix socket path. */
  redis: string;
  /** The run's name: the queue and the result list are named after it. */
  name: string;
  /** How often workers look for jobs whose worker died, and how long a job's lock lasts. @default BullMQ's: 30 s */
  stalledIntervalMs?: number;
  lockDurationMs?: number;
}

const isUrl = (redis: string) => redis.includes('://');

/** BullMQ's connection to `redis` (its blocking reads need maxRetriesPerRequest null). */
function connectionFor(redis: string): ConnectionOptions {
  return isUrl(redis) ? { url: redis, maxRetriesPerRequest: null } : { path: redis, maxRetriesPerRequest: null };
}

/** A client of our own to the same Redis: ioredis takes a URL as its first argument, not as an option. */
export function openRedis(redis: string): Redis {
  const client = isUrl(redis) ? new Redis(redis, { maxRetriesPerRequest: null }) : new Redis({ path: redis, maxRetriesPerRequest: null });
  // A lost connection is retried, and commands wait for it; without a listener ioredis would
  // print each error to the console.
  client.on('error', () => undefined);
  return client;
}

export const queueName = (name: string) => `ratefetch-${name}`;
const resultsKey = (name: string) => `ratefetch:{${name}}:results`;

/** The coordinator's side: enqueue inputs, take records. */
export class InputQueue {
  readonly #queue: Queue;
  readonly #redis: Redis;
  readonly #results: string;
  /** BullMQ's connection settings for this Redis (for another Queue on it). */
  readonly connection: ConnectionOptions;

  constructor(settings: QueueSettings) {
    this.connection = connectionFor(settings.redis);
    this.#queue = new Queue(queueName(settings.name), { connection: this.connection });
    // Its own connection: BLPOP blocks it while a record is awaited.
    this.#redis = openRedis(settings.redis);
    this.#results = resultsKey(settings.name);
  }

  /** Queues one input once there is room: at most `maxWaiting` jobs wait in Redis. */
  async enqueue(input: QueuedInput, maxWaiting: number): Promise<void> {
    while ((await this.#queue.getWaitingCount()) >= maxWaiting) await new Promise((resolve) => setTimeout(resolve, 20));
    // BullMQ takes no all-digit job ids.
    await this.#queue.add('input', input, { jobId: `line-${input.line}`, removeOnComplete: true, removeOnFail: true });
  }

  /**
   * The next record a worker finished; null when none came within `waitMs`. A line may come
   * twice (a worker killed after pushing its record): the caller keeps the first.
   */
  async nextRecord(waitMs: number): Promise<FetchRecord | null> {
    const popped = await this.#redis.blpop(this.#results, waitMs / 1000);
    return popped === null ? null : (JSON.parse(popped[1]) as FetchRecord);
  }

  /** Lets workers take jobs again after `pause` (a run resumed after it was stopped). */
  async unpause(): Promise<void> {
    await this.#queue.resume();
  }

  /** Stops every worker of the run from taking another job (the ones they hold go on). */
  async pause(): Promise<void> {
    await this.#queue.pause();
  }

  /** Jobs a worker holds now. */
  async held(): Promise<number> {
    return this.#queue.getActiveCount();
  }

  /** Records workers pushed that nobody took yet. */
  async unwritten(): Promise<number> {
    return this.#redis.llen(this.#results);
  }

  /** Removes the jobs no worker has taken yet. */
  async drain(): Promise<void> {
    await this.#queue.drain(true);
  }

  async close(): Promise<void> {
    await this.#queue.close();
    await this.#redis.quit();
  }
}

export interface QueueWorker {
  /** Takes no more jobs; waits for the ones it holds unless `force`. */
  close(force?: boolean): Promise<void>;
}

/**
 * A worker's side: fetch each input `handle` is given, `concurrency` at a time, and push its
 * record. When `handle` gives no record (its pipeline stopped first), the job goes back to the
 * queue for another worker at once, never to the failed list.
 */
export function startQueueWorker(
  settings: QueueSettings,
  concurrency: number,
  handle: (input: QueuedInput) => Promise<FetchRecord | undefined>,
  counter?: AttemptCounter,
): QueueWorker {
  const connection = connectionFor(settings.redis);
  const results = resultsKey(settings.name);
  const redis = openRedis(settings.redis);
  const worker = new Worker<QueuedInput>(
    queueName(settings.name),
    async (job, token) => {
      const record = await handle(job.data);
      if (record === undefined) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      // Pushed before the job completes: a worker killed in between leaves a record and a job
      // that runs again, and the coordinator keeps the first record for the line.
      const push = redis.multi();
      counter?.addTo(push);
      await push.rpush(results, JSON.stringify(record)).exec();
    },
    {
      connection,
      concurrency,
      // How long an idle worker's wait for a job blocks, in seconds: closing waits for it to end.
      drainDelay: 1,
      // A job whose worker died is put back however many times that happens: a record per input.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      ...(settings.stalledIntervalMs !== undefined && { stalledInterval: settings.stalledIntervalMs }),
      ...(settings.lockDurationMs !== undefined && { lockDuration: settings.lockDurationMs }),
    },
  );
  return {
    async close(force = false) {
      await worker.close(force);
      await redis.quit();
    },
  };
}
