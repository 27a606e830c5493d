/**
 * --batch in the run (issue #28). Inputs are gathered in the order they are read, up to
 * --batch distinct values; a batch goes when it is full, when the input ends, when read-ahead
 * has no room for more, or BATCH_LINGER_MS after its first input (a slow producer on stdin).
 * Each batch is one job: it passes the start gate, the limiter, the pauses and the retry policy
 * like any request, so a 429 or 503 waits and goes again whole. When it ends, batch-end.ts cuts
 * the answer into one record per input, or the batch goes again as two halves, each ahead of
 * new work, until the input a 4xx is about stands alone.
 */
import type { RunEvent } from '../events.js';
import { describeOutcome, type AttemptOutcome } from '../http/outcome.js';
import { createBatchPlanner, PendingBatch, type BatchRequest } from '../plan/batch-plan.js';
import { batchingOf, type Batching } from '../plan/batching.js';
import type { RunOptions } from '../options.js';
import type { PlannedRequest } from '../plan/planner.js';
import type { Lane } from '../rate/lanes.js';
import type { FetchRecord } from '../record/record.js';
import { batchRecords, shouldSplit, type BatchRecordSettings } from './batch-end.js';
import { newJob, type BatchMember, type Failure, type Job } from './job.js';
import type { TimerHandle, Timers } from './timers.js';

/**
 * How long a batch waits for more inputs after its first. A file yields the next inputs within
 * the same turn of the event loop; only a producer that has nothing more to give waits this long.
 */
export const BATCH_LINGER_MS = 50;

/**
 * The retries a part of a split batch may make after a fault (not a 429 or 503). The first
 * batch has all of --retries; its parts one each, so a batch of k inputs that fails at every
 * size sends at most retries + 1 + 2 × (2k − 2) requests (50 inputs, 5 retries: 202), fewer than
 * the same inputs one by one could (300).
 */
export const SPLIT_FAULT_RETRIES = 1;

export interface BatcherDeps {
  batching: Batching;
  template: string;
  /** --retries. */
  retries: number;
  laneFor(url: URL): Lane;
  now(): number;
  timers: Timers;
  emit(event: RunEvent): void;
  /** Queues a batch's job; `first` puts it ahead of new work (a split's halves). */
  enqueue(job: Job, first: boolean): void;
  records: Omit<BatchRecordSettings, 'batching'>;
}

/** The run's batcher, or undefined when each input is a request of its own. */
export function createBatcher(options: RunOptions, context: Omit<BatcherDeps, 'batching' | 'template' | 'retries'>): Batcher | undefined {
  const batching = batchingOf(options);
  return batching && new Batcher({ batching, template: options.template!, retries: options.retries, ...context });
}

export class Batcher {
  readonly #deps: BatcherDeps;
  readonly #planBatch: (members: readonly PlannedRequest[]) => BatchRequest;
  readonly #pending: PendingBatch;
  #readAts: number[] = [];
  #linger: TimerHandle | undefined;

  constructor(deps: BatcherDeps) {
    this.#deps = deps;
    this.#planBatch = createBatchPlanner(deps.template, deps.batching.join);
    this.#pending = new PendingBatch(deps.batching.size);
  }

  /** An input read: it joins the batch being gathered, which goes when full. */
  add(plan: PlannedRequest): void {
    const first = this.#pending.isEmpty;
    this.#readAts.push(this.#deps.now());
    if (this.#pending.add(plan)) return this.flush();
    if (first) this.#linger = this.#deps.timers.setTimer(() => this.flush(), BATCH_LINGER_MS);
  }

  /** Sends the batch gathered so far, if any. */
  flush(): void {
    this.#deps.timers.clearTimer(this.#linger);
    this.#linger = undefined;
    if (this.#pending.isEmpty) return;
    const readAts = this.#readAts;
    this.#readAts = [];
    const members = this.#pending
      .take()
      .map((plan, i): BatchMember => ({ plan, readAt: readAts[i]!, attemptsBefore: 0, firstStartAt: null, requestsCounted: 0 }));
    this.#send(members, undefined, false);
  }

  /**
   * A batch's request ended (`failure` and `final` as for any job): the records of its inputs,
   * with the plan of each (for --dedupe), or none when it went again as two halves.
   */
  end(job: Job, failure: Failure | null, final: boolean): Array<{ plan: PlannedRequest; record: FetchRecord }> {
    const { values } = job.batch!;
    if (!shouldSplit(values.length, job.outcome, failure, this.#deps.records.checks)) {
      return batchRecords(job, failure, final, this.#deps.now(), { ...this.#deps.records, batching: this.#deps.batching });
    }
    this.#split(job);
    return [];
  }

  /** The run is over: no batch waits any longer. */
  close(): void {
    this.#deps.timers.clearTimer(this.#linger);
  }

  #split(job: Job): void {
    const { members, values } = job.batch!;
    const half = Math.ceil(values.length / 2);
    const parts = [values.slice(0, half), values.slice(half)];
    const reason = `${describeOutcome(job.outcome!)}: the batch of ${values.length} values goes again as two, of ${parts[0]!.length} and ${parts[1]!.length}`;
    this.#deps.emit({
      type: 'retry',
      line: job.plan.line,
      host: job.host,
      attempt: job.attempts,
      delayMs: 0,
      source: 'backoff',
      reason: this.#deps.records.redactor.text(reason),
    });
    const faultRetries = Math.min(this.#deps.retries, SPLIT_FAULT_RETRIES);
    // Queued first in reverse, so the first half starts first.
    for (const part of parts.reverse()) {
      const inPart = new Set(part);
      const carried = members
        .filter((member) => inPart.has(member.plan.batchValue!))
        .map((member) => ({
          ...member,
          attemptsBefore: member.attemptsBefore + job.attempts,
          firstStartAt: member.firstStartAt ?? job.firstStartAt,
          // Each request is counted once, on its first input's record.
          requestsCounted: member.requestsCounted + (member === members[0] ? job.attempts : 0),
        }));
      this.#send(carried, faultRetries, true);
    }
  }

  #send(members: BatchMember[], faultRetries: number | undefined, first: boolean): void {
    const request = this.#planBatch(members.map((member) => member.plan));
    const job = newJob(request.plan, this.#deps.laneFor(request.plan.url), this.#deps.now());
    job.batch = { members, values: request.values, faultRetries };
    this.#deps.enqueue(job, first);
  }
}

/**
 * The retry settings for a job's next step: a part of a split batch retries a fault at most
 * its `faultRetries` times; a 429 or 503 keeps --retries, as the whole batch waits it out.
 */
export function retrySettingsFor<T extends { retries: number }>(job: Job, outcome: AttemptOutcome, settings: T): T {
  const limit = job.batch?.faultRetries;
  const isWait = outcome.kind === 'response' && (outcome.status === 429 || outcome.status === 503);
  return limit === undefined || limit >= settings.retries || isWait ? settings : { ...settings, retries: limit };
}
