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
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { InputItem } from '../input/item.js';
import type { FetchRecord } from '../record/record.js';

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
function openRedis(redis: string): Redis {
  return isUrl(redis) ? new Redis(redis, { maxRetriesPerRequest: null }) : new Redis({ path: redis, maxRetriesPerRequest: null });
}

const queueName = (name: string) => `ratefetch-${name}`;
const resultsKey = (name: string) => `ratefetch:{${name}}:results`;

/** The coordinator's side: enqueue inputs, take records. */
export class InputQueue {
  readonly #queue: Queue;
  readonly #redis: Redis;
  readonly #results: string;
  readonly #seen = new LineSet();

  constructor(settings: QueueSettings) {
    this.#queue = new Queue(queueName(settings.name), { connection: connectionFor(settings.redis) });
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

  /** The next record a worker finished, the first for its line; null when none came within `waitMs`. */
  async nextRecord(waitMs: number): Promise<FetchRecord | null> {
    for (;;) {
      const popped = await this.#redis.blpop(this.#results, waitMs / 1000);
      if (popped === null) return null;
      const record = JSON.parse(popped[1]) as FetchRecord;
      if (this.#seen.add(record.line)) return record;
    }
  }

  async close(): Promise<void> {
    await this.#queue.close();
    await this.#redis.quit();
  }
}

export interface QueueWorker {
  close(): Promise<void>;
}

/** A worker's side: fetch each input `handle` is given, `concurrency` at a time, and push its record. */
export function startQueueWorker(settings: QueueSettings, concurrency: number, handle: (input: QueuedInput) => Promise<FetchRecord>): QueueWorker {
  const connection = connectionFor(settings.redis);
  const results = resultsKey(settings.name);
  const redis = openRedis(settings.redis);
  const worker = new Worker<QueuedInput>(
    queueName(settings.name),
    async (job) => {
      const record = await handle(job.data);
      // Pushed before the job completes: a worker killed in between leaves a record and a job
      // that runs again, and the coordinator keeps the first record for the line.
      await redis.rpush(results, JSON.stringify(record));
    },
    {
      connection,
      concurrency,
      // A job whose worker died is put back however many times that happens: a record per input.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      ...(settings.stalledIntervalMs !== undefined && { stalledInterval: settings.stalledIntervalMs }),
      ...(settings.lockDurationMs !== undefined && { lockDuration: settings.lockDurationMs }),
    },
  );
  return {
    async close() {
      await worker.close();
      await redis.quit();
    },
  };
}

/** Lines seen, a bit each: ten million lines take 1.25 MB. */
class LineSet {
  #bits = new Uint8Array(1024);

  /** True when `line` was not in the set (it is now). */
  add(line: number): boolean {
    const byte = line >> 3;
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const mask = 1 << (line & 7);
    if ((this.#bits[byte]! & mask) !== 0) return false;
    this.#bits[byte] = this.#bits[byte]! | mask;
    return true;
  }
}
