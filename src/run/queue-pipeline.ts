/**
 * One worker of a run spread over Redis: BullMQ hands it jobs, each job's input goes into one
 * long fetchAll (the same pipeline as a one-machine run, with the shared limiter gating every
 * send), and each record goes back to its job, which pushes it to the coordinator.
 *
 * A job whose input gets no record here (the pipeline stopped or failed before it) goes back to
 * the queue for another worker: nothing is lost with this worker.
 */
import type { InputItem } from '../input/item.js';
import type { RunOptions } from '../options.js';
import type { RedisLimiter } from '../rate/shared-limiter.js';
import type { FetchRecord } from '../record/record.js';
import type { RunEventListener } from '../events.js';
import { Feed } from './feed.js';
import { fetchAll } from './fetch-all.js';
import { startQueueWorker, type QueueSettings } from './redis-queue.js';
import type { AttemptCounter } from './shared-counts.js';
import type { StreamLaneReporter } from './lane-report-stream.js';

export interface PipelineWorker {
  /** Settles when the pipeline has ended (rejects if it failed). */
  readonly ended: Promise<void>;
  /** Records this worker handed back so far. */
  records(): number;
  /** Takes no more jobs and finishes the ones it holds; `force` hands them back unfinished. */
  close(force?: boolean): Promise<void>;
}

type Give = (record: FetchRecord | undefined) => void;

export function startPipelineWorker(
  queue: QueueSettings,
  options: Partial<RunOptions>,
  hooks: { shared: RedisLimiter; laneReports?: StreamLaneReporter; onEvent?: RunEventListener; signal?: AbortSignal; counter?: AttemptCounter },
): PipelineWorker {
  const feed = new Feed<InputItem>();
  const waiting = new Map<number, Give[]>();
  let handedBack = 0;
  let over = false;
  const giveBackAll = () => {
    over = true;
    for (const list of waiting.values()) for (const give of list) give(undefined);
    waiting.clear();
  };
  const ended = (async () => {
    try {
      const onEvent: RunEventListener = (event) => {
        hooks.counter?.onEvent(event);
        hooks.onEvent?.(event);
      };
      for await (const record of fetchAll(feed, options, { ...hooks, onEvent })) {
        const list = waiting.get(record.line);
        const give = list?.shift();
        if (list?.length === 0) waiting.delete(record.line);
        if (give !== undefined) {
          handedBack += 1;
          give(record);
        }
      }
    } finally {
      giveBackAll();
    }
  })();
  ended.catch(() => undefined); // the owner reads the failure from `ended`
  const worker = startQueueWorker(
    queue,
    // The jobs held at once: what the pipeline can have in flight.
    options.concurrency ?? 8,
    (input) =>
      new Promise<FetchRecord | undefined>((give) => {
        if (over) return give(undefined);
        const list = waiting.get(input.line);
        if (list === undefined) waiting.set(input.line, [give]);
        else list.push(give);
        feed.push(input.item);
      }),
    hooks.counter,
  );
  let closing: Promise<void> | undefined;
  return {
    ended,
    records: () => handedBack,
    close(force = false) {
      closing ??= (async () => {
        if (force) giveBackAll();
        // BullMQ stops taking jobs and waits for those held; the pipeline, its input ended,
        // finishes them (or hands back what it never read).
        const closed = worker.close(false);
        feed.end();
        await ended.catch(() => undefined);
        await closed;
      })();
      return closing;
    },
  };
}
