/**
 * A run spread over Redis, seen from the process that reads the input and writes the output
 * (issue #25). It stores the run's settings (secrets left out), streams the inputs into the
 * queue with backpressure, works on them itself unless told not to, and yields one record per
 * input, whichever worker fetched it: the same records, in completion order, as fetchAll.
 *
 * Lines that are not requests get their record here, as do lines that hold a secret (Redis
 * would hold it in the clear). When the run stops early (a signal, a worker's breaker), workers
 * take no more jobs, the ones they hold end with records, and every other input read gets a
 * record saying why: the run stays in Redis for --resume. A run that ends whole is removed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import type { RunEvent, RunEventListener, StopCause } from '../events.js';
import type { InputItem } from '../input/item.js';
import { resolveOptions, type RunOptions } from '../options.js';
import { createPlanner, itemOf, type InputSource, type PlanResult } from '../plan/planner.js';
import { systemClock } from '../rate/limiter.js';
import { RedisLimiter } from '../rate/shared-limiter.js';
import { createRedactor, createRunRedactor } from '../record/redact.js';
import { invalidRecord, toRecord, type FetchRecord } from '../record/record.js';
import { Feed } from './feed.js';
import { STOPPED } from './job.js';
import { startPipelineWorker, type PipelineWorker } from './queue-pipeline.js';
import { InputQueue, openRedis, type QueueSettings } from './redis-queue.js';
import { checkRunName, cleanRun, readRun, readStop, sayStop, writeRun, type StoredRun } from './redis-run.js';
import { toSharedSettings } from './run-settings.js';
import { AttemptReader } from './shared-counts.js';
import { StreamLaneReporter } from './lane-report-stream.js';
import { startRateKeeper, type RateKeeper } from './rate-keeper.js';

export interface CoordinatorSettings extends QueueSettings {
  /** Workers in this process (each with the run's --concurrency); 0 leaves the work to others. @default 1 */
  localWorkers?: number;
  /** Continue a run already in Redis (with --resume); without it, finding one is a usage error. */
  resume?: boolean;
  /** Jobs waiting in Redis at most: the window of the input the queue holds. @default 1000 */
  maxWaiting?: number;
}

export interface CoordinatorHooks {
  onEvent?: RunEventListener;
  signal?: AbortSignal;
  /** As fetchAll's: an input it returns true for is neither fetched nor recorded (--resume). */
  skip?: (plan: PlanResult) => boolean;
}

/** Events that the coordinator itself tells; a local worker's would count its inputs twice. */
const COORDINATOR_EVENTS: ReadonlySet<RunEvent['type']> = new Set(['input', 'input-end', 'record', 'interrupt']);
const POLL_MS = 250;

export async function* coordinate(
  input: InputSource,
  partial: Partial<RunOptions>,
  settings: CoordinatorSettings,
  hooks: CoordinatorHooks = {},
): AsyncGenerator<FetchRecord> {
  checkRunName(settings.name);
  const shared = toSharedSettings(partial);
  const options = resolveOptions(partial);
  const planner = createPlanner(options);
  const redactor = createRunRedactor(options.headers, options.redactParams, options.secretHeaders);
  const emit = hooks.onEvent ?? (() => undefined);
  const redis = await connect(settings.redis);
  const queue = new InputQueue(settings);
  const workers: PipelineWorker[] = [];
  const stopWorkers = new AbortController();
  let finished = false;
  let endedWhole = false;
  let ours = false;
  let keeper: RateKeeper | undefined;
  const laneReports = new StreamLaneReporter(redis, settings.name, systemClock);
  try {
    const existing = await readRun(redis, settings.name);
    checkNotThere(existing, settings);
    ours = true;
    const limiter = new RedisLimiter(redis, settings.name);
    // Reading before any worker can find the run: no report of this run goes unread.
    keeper = await startRateKeeper(redis, limiter, settings.name, { auto: options.autoRate, emit });
    await writeRun(redis, settings.name, {
      settings: shared,
      startedAt: existing?.startedAt ?? Date.now(),
      ...(settings.lockDurationMs !== undefined && { stalledAfterMs: settings.lockDurationMs }),
    });
    await queue.unpause();
    const remoteAttempts = new AttemptReader(redis, settings.name);
    await remoteAttempts.look(); // a resumed run's earlier attempts were counted by its earlier coordinator
    const tellRemoteAttempts = async () => {
      const counts = await remoteAttempts.look();
      if (counts !== undefined) emit(counts);
    };
    const localEvents = (event: RunEvent) => {
      if (!COORDINATOR_EVENTS.has(event.type)) emit(event);
      else if (event.type === 'interrupt' && event.cause !== 'signal') void sayStop(redis, settings.name, { cause: event.cause, reason: event.reason });
    };
    for (let i = 0; i < (settings.localWorkers ?? 1); i++) {
      workers.push(startPipelineWorker(settings, partial, { shared: limiter, laneReports, onEvent: localEvents, signal: stopWorkers.signal }));
    }

    // What each input still waiting for its record needs for a record of its own, should the run stop.
    const pending = new Map<number, Extract<PlanResult, { kind: 'request' }> & { readAt: number }>();
    // Records that came before the input reached their line: a resumed run finds those its
    // earlier coordinator did not live to write. At most the jobs Redis held: a bounded window.
    const early = new Map<number, FetchRecord>();
    let readUpTo = 0;
    const out = new Feed<FetchRecord>();
    let inputDone = false;
    let stopping: { cause: StopCause; reason: string } | undefined;
    const give = (record: FetchRecord) => {
      emit({ type: 'record', record });
      out.push(record);
    };
    const finishIfDone = () => {
      if (inputDone && pending.size === 0 && stopping === undefined) out.end();
    };

    const produce = async () => {
      let read = 0;
      let line = 0;
      for await (const each of input) {
        const entry = itemOf(each, ++line);
        if (entry === undefined) continue;
        if (stopping !== undefined) break;
        read += 1;
        readUpTo = entry.line;
        emit({ type: 'input', line: entry.line });
        const plan = planner.plan(entry);
        const fetched = early.get(entry.line);
        early.delete(entry.line);
        if (hooks.skip?.(plan)) continue;
        if (plan.kind === 'invalid') give(invalidRecord(plan, redactor));
        else if (fetched !== undefined) give(fetched);
        else if (holdsSecret(plan, entry, redactor)) give(secretRecord(plan, entry, redactor));
        else {
          pending.set(plan.line, { ...plan, readAt: Date.now() });
          await queue.enqueue({ line: entry.line, item: entry }, settings.maxWaiting ?? 1000);
        }
      }
      if (stopping === undefined) emit({ type: 'input-end', total: read });
      inputDone = true;
      finishIfDone();
    };

    const stop = async (cause: StopCause, reason: string) => {
      if (stopping !== undefined) return;
      stopping = { cause, reason };
      emit({ type: 'interrupt', cause, reason });
      await sayStop(redis, settings.name, { cause, reason });
      await queue.pause();
      // Inputs no worker took get their records here; the ones workers hold end with records of
      // their own (saying why they stopped), for as long as the grace lasts.
      await queue.drain();
      stopWorkers.abort(reason);
      const deadline = Date.now() + options.graceMs + 3_000;
      while (pending.size > 0 && Date.now() < deadline && ((await queue.held()) > 0 || (await queue.unwritten()) > 0)) await takeRecords(POLL_MS);
      const endAt = Date.now();
      for (const plan of pending.values()) give(stoppedRecord(plan, cause, endAt, options.includeHeaders, redactor));
      pending.clear();
      out.end();
    };

    const takeRecords = async (waitMs: number) => {
      const record = await queue.nextRecord(waitMs);
      if (record === null) return;
      if (pending.delete(record.line)) {
        give(record);
        finishIfDone();
      } else if (record.line > readUpTo && !early.has(record.line)) early.set(record.line, record);
    };

    const consume = async () => {
      let lastLook = 0;
      while (!finished && stopping === undefined) {
        if (hooks.signal?.aborted) return stop('signal', String(hooks.signal.reason ?? 'interrupted'));
        // The rates no one keeps any more: stop, as when a start finds Redis gone (shared-gate.ts).
        if (keeper?.failure !== undefined) throw keeper.failure.error;
        if (Date.now() - lastLook >= POLL_MS * 2) {
          lastLook = Date.now();
          await tellRemoteAttempts();
          const word = await readStop(redis, settings.name);
          if (word !== undefined) return stop(word.cause, word.reason);
        }
        await takeRecords(POLL_MS);
      }
    };

    const tasks = Promise.all([produce(), consume()]).catch((error: unknown) => out.fail(error));
    for await (const record of out) yield record;
    finished = stopping === undefined;
    await tasks;
    await tellRemoteAttempts();
    // The last answers' reports, so the summary tells the rate they found.
    await laneReports.close();
    await keeper.close();
    if (keeper.failure !== undefined) throw keeper.failure.error;
    if (finished) {
      await cleanRun(redis, queue.connection, settings.name);
      endedWhole = true;
    }
  } finally {
    finished = true;
    if (ours && !endedWhole) {
      // Left early (stopped, the reader of the output gone, a failure): no worker takes another
      // job, and the run stays in Redis for --resume.
      await queue.pause().catch(() => undefined);
    }
    stopWorkers.abort('the run ended');
    await Promise.all(workers.map((worker) => worker.close().catch(() => undefined)));
    await laneReports.close();
    await keeper?.close();
    await queue.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }
}

/**
 * Before anything is written: opens Redis, and refuses to start over a run of the same name
 * (without `resume`). The CLI calls it before it opens the output, which a refusal leaves alone.
 */
export async function checkCanCoordinate(settings: CoordinatorSettings): Promise<void> {
  checkRunName(settings.name);
  const redis = await connect(settings.redis);
  try {
    checkNotThere(await readRun(redis, settings.name), settings);
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

function checkNotThere(existing: StoredRun | undefined, settings: CoordinatorSettings): void {
  if (existing !== undefined && settings.resume !== true) {
    throw new UsageError(
      `a run named ${settings.name} is already in Redis (started ${new Date(existing.startedAt).toISOString()}): add --resume to continue it, or remove it with 'ratefetch clean --redis ... --name ${settings.name}'.`,
    );
  }
}

/** Opens Redis, or says in one sentence that it cannot be reached. */
export async function connect(address: string): Promise<Redis> {
  const redis = openRedis(address);
  // ioredis would retry for ever; the first connection error or 5 s of silence says it all.
  const failed = new Promise<false>((resolve) => redis.once('error', () => resolve(false)));
  redis.on('error', () => undefined);
  const ready = await Promise.race([redis.ping().then(() => true), failed, sleep(5_000, false, { ref: false })]).catch(() => false);
  if (!ready) {
    redis.disconnect();
    throw new UsageError(`cannot reach Redis at ${shownRedis(address)} (--redis): is redis-server running there?`);
  }
  return redis;
}

/** The --redis address as messages show it: a password in a redis:// URL is left out. */
export function shownRedis(address: string): string {
  return address.includes('://') ? createRedactor().url(address) : address;
}

type Redactor = ReturnType<typeof createRunRedactor>;

/** An input whose own text or request would put a password or token into Redis. */
function holdsSecret(plan: Extract<PlanResult, { kind: 'request' }>, item: InputItem, redactor: Redactor): boolean {
  const text = JSON.stringify(item);
  return redactor.url(plan.inputUrl) !== plan.inputUrl || redactor.text(text) !== text;
}

function secretRecord(plan: Extract<PlanResult, { kind: 'request' }>, item: InputItem, redactor: Redactor): FetchRecord {
  return invalidRecord(
    {
      line: plan.line,
      key: plan.key,
      text: item.text,
      code: 'INVALID_INPUT',
      message:
        'this input holds a secret (a password, token or secret query value) that --redis would store in Redis in the clear: send it in a header that each worker gives from its environment',
      identity: plan.identity,
    },
    redactor,
  );
}

function stoppedRecord(
  plan: Extract<PlanResult, { kind: 'request' }> & { readAt: number },
  cause: StopCause,
  endAt: number,
  includeHeaders: boolean,
  redactor: Redactor,
): FetchRecord {
  return toRecord(
    {
      line: plan.line,
      method: plan.method,
      inputUrl: plan.inputUrl,
      key: plan.key,
      finalUrl: null,
      attempts: 0,
      readAt: plan.readAt,
      firstStartAt: null,
      lastEndAt: null,
      endAt,
      outcome: null,
      failure: STOPPED[cause],
      final: false,
      accepted: false,
      identity: plan.identity,
      includeHeaders,
    },
    redactor,
  );
}
