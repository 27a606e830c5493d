/**
 * Runs the requests: bounded read-ahead from the input (read-ahead.ts), the start gate that
 * starts a request only when a concurrency slot is free *and* its buckets allow it (start-gate.ts),
 * and the attempt loop
 *   take → attempt → next step → (pause lane | back off) → take …
 * with redirects as one more turn of the same loop. next-step.ts decides each step and this
 * file acts on it; lane-pacing.ts turns answers into pauses and rates. Stopping the run is
 * here too. Yields exactly one record per input read; with pagination (pages.ts), one per page,
 * the input's last with `last: true`.
 */
import { setMaxListeners } from 'node:events';
import { CircuitBreaker } from './breaker.js';
import type { ResponseChecks } from '../record/checks.js';
import { Deduplicator } from './dedupe.js';
import { StartGate } from './start-gate.js';
import type { RunEvent, StopCause } from '../events.js';
import type { AttemptRequest } from '../http/attempt.js';
import { REDIRECT_STATUSES, describeOutcome, type AttemptOutcome, type HeldOutcome, type ResponseOutcome } from '../http/outcome.js';
import { requestId } from '../http/redirect.js';
import { STOPPED, followRedirect, jobRecord, newJob, restartJob, waitTooLong, type Failure, type Job } from './job.js';
import { LanePacing } from './lane-pacing.js';
import { Lanes, type Lane, type LaneReporter } from '../rate/lanes.js';
import type { Clock, Limiter } from '../rate/limiter.js';
import { decideNextStep, type LanePause } from './next-step.js';
import type { RunOptions } from '../options.js';
import type { PlanResult } from '../plan/planner.js';
import { NO_HINTS, readHints, type AnswerHints } from '../retry/hints.js';
import { readAhead } from './read-ahead.js';
import type { TimerHandle, Timers } from './timers.js';
import { invalidRecord, type FetchRecord } from '../record/record.js';
import type { Redactor } from '../record/redact.js';
import { AuthError } from '../auth/grant.js';
import type { RunCredentials } from '../auth/run-credentials.js';
import { carriesCredential, isStaleCredential, withCredential } from './credential-use.js';
import { createPager, type PageContinuation } from './pages.js';
import { createBatcher, retrySettingsFor } from './batches.js';
import type { PlannedRequest } from '../plan/planner.js';
import type { ResponseCache } from '../cache/response-cache.js';
import { askInFull, confirmsStored, revalidate } from './cache-use.js';
import type { SharedTicket } from './shared-gate.js';

export interface SchedulerDeps {
  limiter: Limiter;
  clock: Clock;
  /** The backoff sleeps, and the start gate's timers. */
  timers: Timers;
  /**
   * One attempt; `hardStop` aborts it at once, and `mayGoOnTheWire` false holds it back unsent;
   * `ticket` is what `waitToStart` gave it; `saveTo` is the input's --save path.
   */
  send: (
    request: AttemptRequest,
    hardStop: AbortSignal,
    mayGoOnTheWire: () => boolean,
    ticket: SharedTicket | undefined,
    saveTo: string | undefined,
  ) => Promise<AttemptOutcome | HeldOutcome>;
  /**
   * A run shared through Redis: resolves once the shared limiter lets a request of these
   * buckets start (or `signal` aborts); rejects if Redis failed. The attempt starts after it.
   */
  waitToStart?: (buckets: readonly string[], signal: AbortSignal) => Promise<SharedTicket>;
  emit: (event: RunEvent) => void;
  redactor: Redactor;
  random: () => number;
  /** What a final response must pass to be ok (2xx when empty). */
  checks: ResponseChecks;
  /** The run's credential, kept fresh (--auth-command, --oauth2-token-url). */
  credentials?: RunCredentials;
  /** A run shared through Redis: the lanes report to the coordinator's rate controllers. */
  laneReporter?: LaneReporter;
  /** --resume with pagination: where an earlier run left an input. */
  resumePages?: (plan: PlannedRequest) => PageContinuation | undefined;
  /** --cache: answers kept between runs. */
  cache?: ResponseCache;
  /**
   * Asked before an input is fetched (--save: its directory made, or its file found whole on
   * --resume): a record here ends the input with no request. Undefined when nothing is to be asked.
   */
  beforeFetch?: (plan: PlannedRequest) => Promise<FetchRecord | undefined> | undefined;
}

export async function* schedule(
  items: AsyncIterable<PlanResult>,
  options: RunOptions,
  deps: SchedulerDeps,
  stopSignal?: AbortSignal,
): AsyncGenerator<FetchRecord> {
  const { limiter, clock, timers, emit, redactor } = deps;
  const hardStop = new AbortController();
  // Every request in flight listens to it: more than the default 10 is expected.
  setMaxListeners(0, hardStop.signal);
  const lanes = new Lanes(options, limiter, () => clock.now(), deps.laneReporter);
  const pacing = new LanePacing({ lanes, limiter, clock, emit, redactor, onPaused: failQueuedBehindLongPause });
  const gate = new StartGate({
    lanes,
    limiter,
    clock,
    timers,
    emit,
    concurrency: options.concurrency,
    maxRequests: options.maxRequests,
    start,
    onBudgetSpent: () => stopRun('budget', `request budget of ${options.maxRequests} used up (--max-requests)`),
    onDefect: (error) => {
      defect ??= { error };
      signalChange();
    },
    // A freed slot nothing could take means the gate wants more input (gate.wantsMore).
    onSlotFreed: () => signalRoom(),
  });
  const backingOff = new Map<TimerHandle, Job>(); // jobs sleeping before a retry
  const finished: FetchRecord[] = [];
  const dedupe = options.dedupe ? new Deduplicator(redactor) : undefined;
  const pager = createPager(options, { redactor, laneFor: (url) => lanes.laneFor(url), resumeFrom: deps.resumePages });
  const batches = createBatcher(options, {
    laneFor: (url) => lanes.laneFor(url),
    now: () => clock.now(),
    timers,
    emit,
    enqueue: (job, first) => enqueue(job, first),
    records: { checks: deps.checks, includeHeaders: options.includeHeaders, redactor },
  });
  let open = 0; // inputs read whose last record the consumer has not taken yet
  let inputDone = false;
  let stopping = false;
  let stopCause: StopCause = 'signal';
  let defect: { error: unknown } | undefined; // a bug in acting on an outcome: the run throws it
  const breaker = new CircuitBreaker({
    maxErrorRate: options.maxErrorRate,
    maxConnectionFailures: options.maxConnectionFailures,
    windowSize: 100,
    minSamples: 20,
  });
  let waiters: Array<() => void> = [];
  let roomWaiters: Array<() => void> = []; // the reader, waiting for room in the read-ahead
  const signalRoom = () => {
    const wake = roomWaiters;
    roomWaiters = [];
    for (const resolve of wake) resolve();
  };
  const signalChange = () => {
    const wake = waiters;
    waiters = [];
    for (const resolve of wake) resolve();
    signalRoom();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));
  const roomChanged = () => new Promise<void>((resolve) => roomWaiters.push(resolve));
  // Ends when the run stops for any reason: a signal, or the consumer leaving early.
  const ending = new AbortController();

  /** Hands a record to the consumer, and the --dedupe copies that wait for it. */
  function handOver(record: FetchRecord, copies?: readonly FetchRecord[]): void {
    finished.push(record);
    if (copies !== undefined) for (const copy of copies) finished.push(copy);
    signalChange();
  }

  function finish(job: Job, failure: Failure | null, final: boolean): void {
    if (deps.cache !== undefined && job.cache === 'miss' && job.hops === 0 && job.outcome?.kind === 'response') {
      deps.cache.store(job.plan, job.outcome, job.lastEndAt ?? clock.now(), job.replacesStored === true);
    }
    if (job.batch !== undefined) {
      // One record per input of the batch (none when it goes again as two halves).
      for (const { plan, record } of batches!.end(job, failure, final)) handOver(record, dedupe?.settle(plan, record));
      return;
    }
    let record = jobRecord(job, failure, final, clock.now(), { checks: deps.checks, includeHeaders: options.includeHeaders, redactor });
    if (pager !== undefined) {
      const page = pager.end(job, record, clock.now());
      record = page.record;
      // The input's next page goes before new inputs: inputs under way finish first.
      if (page.more) {
        handOver(record);
        return enqueue(job, true);
      }
    }
    handOver(record, dedupe?.settle(job.plan, record));
  }

  /** The record of an input the run stopped before it finished; the stop's cause names the code. */
  function stopJob(job: Job): void {
    const last = job.outcome ? `; last attempt: ${describeOutcome(job.outcome)}` : '';
    const { code, what } = STOPPED[stopCause];
    finish(job, { code, what: `${what}${last}` }, false);
  }

  /** Queue a job to start as soon as its buckets allow, or fail it if its lane is paused too long. */
  function enqueue(job: Job, first = job.attempts > 0): void {
    if (stopping) return stopJob(job);
    // Every bucket the lane starts from: a route rule it matches may be paused, not only its own.
    // The controller's own hold (the rest of a filled second) is no wait a server asked for.
    let pausedUntil = 0;
    for (const bucket of job.lane.serverBuckets) pausedUntil = Math.max(pausedUntil, limiter.pausedUntil(bucket));
    const waitMs = pausedUntil - clock.now();
    if (waitMs > options.maxRetryAfterMs) {
      return finish(job, waitTooLong(job.lane.label, waitMs), false);
    }
    // A retry or a redirect hop goes before new requests for its host. After a pause, the first
    // start is then the request that waited longest, and whichever start comes too soon and
    // is refused is a fresh one: no single input is refused again and again until its
    // retries run out.
    gate.add(job, first);
  }

  /** Puts a job on the wire; the gate has taken its slot and tokens. Settles once the outcome is acted on. */
  function start(job: Job): Promise<void> {
    const { waitToStart } = deps;
    if (waitToStart === undefined) return startNow(job, undefined);
    // Counted in flight now (concurrency caps), but the shared limiter's wait comes first and
    // the attempt is timed from when it may really start: the rate controller reads each start
    // and answer by their times.
    pacing.took(job.lane);
    return waitToStart(job.lane.buckets, hardStop.signal).then(
      (ticket) => startNow(job, { ticket }),
      (error: unknown) => startNow(job, { ticket: undefined, refused: error }),
    );
  }

  /** `shared`: the shared limiter's word came (a ticket), or Redis failed (`refused`) and the attempt ends with that failure. */
  function startNow(job: Job, shared: { ticket: SharedTicket | undefined; refused?: unknown } | undefined): Promise<void> {
    if (job.hops === 0) job.attempts += 1;
    job.startedAt = clock.now();
    job.firstStartAt ??= job.startedAt;
    if (shared === undefined) pacing.started(job.lane, job.startedAt);
    else pacing.wentOut(job.lane, job.startedAt);
    emit({ type: 'attempt-start', line: job.plan.line, host: job.host, attempt: job.attempts, hop: job.hops });
    // undici may write the request a while after this (see attempt.ts): if a 429 told its lane
    // to wait meanwhile, it stays unsent instead of arriving during the wait.
    const mayGoOnTheWire = () => !pacing.isWaiting(job.lane);
    const send = (request: AttemptRequest) => deps.send(request, hardStop.signal, mayGoOnTheWire, shared?.ticket, job.plan.save);
    const { credentials } = deps;
    job.credential = undefined;
    const sending =
      shared !== undefined && 'refused' in shared
        ? Promise.reject(shared.refused)
        : credentials !== undefined && carriesCredential(job, options.locationTrusted)
          ? credentials.ready().then((credential) => {
              job.credential = credential.generation;
              return send(withCredential(job.request, credential));
            })
          : send(job.request);
    return sending.then(
      (outcome) => (outcome.kind === 'held' ? holdBack(job) : settle(job, outcome)),
      (error: unknown) =>
        error instanceof AuthError
          ? noCredential(job, error, false)
          : settle(job, { kind: 'failure', code: 'NETWORK_ERROR', message: String(error), latencyMs: 0 }),
    );
  }

  /** No credential could be had: the run stops (exit 3). `sent`: the attempt went out and was refused (a 401). */
  function noCredential(job: Job, error: AuthError, sent: boolean): void {
    if (!sent) {
      emit({ type: 'attempt-held', line: job.plan.line, host: job.host, attempt: job.attempts, hop: job.hops });
      if (job.hops === 0) job.attempts -= 1;
    }
    stopRun('auth', `no fresh credential: ${redactor.text(error.message)}`);
    stopJob(job);
  }

  /** A 401 to a credential that has been refreshed since, or is now: the same attempt goes again with the fresh one. */
  function sendAgainWithFreshCredential(job: Job, generation: number): void {
    job.sentAfter401 = true;
    if (job.hops === 0) job.attempts -= 1; // not a failed attempt: the credential was refused, not the input
    deps.credentials!.after401(generation).then(
      () => enqueue(job, true),
      (error: unknown) => noCredential(job, error instanceof AuthError ? error : new AuthError(String(error)), true),
    );
  }

  /**
   * The job's request never went on the wire: not an attempt. It goes first when its lane may
   * start again; the budget is refunded before it queues, its slot frees when start() settles.
   */
  function holdBack(job: Job): void {
    gate.held();
    pacing.heldBack(job.lane);
    emit({ type: 'attempt-held', line: job.plan.line, host: job.host, attempt: job.attempts, hop: job.hops });
    if (job.hops === 0) job.attempts -= 1;
    if (job.attempts === 0) job.firstStartAt = null;
    enqueue(job, true);
  }

  function settle(job: Job, outcome: AttemptOutcome): void | Promise<void> {
    job.outcome = outcome;
    job.lastEndAt = clock.now();
    // Read once: the lane pacing and the retry decision act on the same reading of the answer.
    const hints = pacing.settled(job.lane, job.startedAt, outcome, outcome.kind === 'response' ? readHints(outcome, clock.now()) : NO_HINTS);
    emit({
      type: 'attempt-end',
      line: job.plan.line,
      host: job.host,
      attempt: job.attempts,
      status: outcome.kind === 'response' ? outcome.status : null,
      code: outcome.kind === 'failure' ? outcome.code : null,
      latencyMs: outcome.latencyMs,
    });
    if (isStaleCredential(job, outcome.kind === 'response' ? outcome.status : null)) return sendAgainWithFreshCredential(job, job.credential!);
    if (confirmsStored(job, outcome)) return serveRevalidated(job, outcome, hints);
    conclude(job, outcome, hints);
  }

  function conclude(job: Job, outcome: AttemptOutcome, hints: AnswerHints): void {
    act(job, outcome, hints);
    const tripped = breaker.record(outcome);
    if (tripped !== undefined) stopRun('breaker', `circuit breaker open: ${tripped}`);
  }

  /**
   * --cache: an input whose stored answer may be used as it is gets it for its record now, with
   * no slot, token or budget; a stale one goes out with its validators. Then the input queues.
   */
  function consultCache(job: Job, cache: ResponseCache): void {
    job.cache = 'miss';
    cache.lookup(job.plan, clock.now()).then(
      (found) => {
        if (found.kind === 'hit') {
          job.outcome = found.outcome;
          job.cache = 'hit';
          return finish(job, null, true);
        }
        if (found.kind === 'stale') revalidate(job, found.answer, found.validators);
        job.replacesStored = found.kind === 'stale' || found.replaces;
        enqueue(job);
      },
      (error: unknown) => {
        defect ??= { error };
        signalChange();
      },
    );
  }

  /** A 304 confirmed the stored answer: its body is the record's. If it cannot be read any more, the request goes again in full. */
  async function serveRevalidated(job: Job, notModified: ResponseOutcome, hints: AnswerHints): Promise<void> {
    const served = await deps.cache!.revalidated(job.revalidating!, job.plan, notModified, clock.now());
    if (served === undefined) {
      askInFull(job);
      return enqueue(job, true);
    }
    job.revalidating = undefined;
    job.outcome = served;
    job.cache = 'revalidated';
    conclude(job, served, hints);
  }

  /** Carries out the step next-step.ts decides on. */
  function act(job: Job, outcome: AttemptOutcome, hints: AnswerHints): void {
    // The chain's requests so far, for the redirect loop check: only a redirect needs it.
    if (outcome.kind === 'response' && REDIRECT_STATUSES.has(outcome.status)) job.visited.add(requestId(job.request));
    const step = decideNextStep(job, outcome, hints, retrySettingsFor(job, outcome, options), clock.now(), deps.random);
    if (step.kind === 'interrupted') return stopJob(job);
    if (step.kind === 'finish') {
      if (step.pause) pacing.pause(job.lane, pacing.shape(job.lane, step.pause));
      return finish(job, step.failure, step.final);
    }
    if (stopping) return stopJob(job);
    if (step.kind === 'redirect') {
      followRedirect(job, step.request, lanes.laneFor(step.request.url));
      return enqueue(job);
    }

    // The lane that answered is the one told to wait, even on a redirect hop.
    const [answeredBy, answeredHost] = [job.lane, job.host];
    const pause = step.pause && pacing.shape(answeredBy, step.pause);
    restartJob(job, lanes.laneFor(job.start.url));
    // Waiting in the queue of a paused lane holds no slot and starts right at the pause end.
    const waitsOutPause = pause !== undefined && answeredBy === job.lane;
    emit({
      type: 'retry',
      line: job.plan.line,
      host: answeredHost,
      attempt: job.attempts,
      delayMs: waitsOutPause ? pause.delayMs : step.delayMs,
      source: step.source,
      reason: redactor.text(step.reason),
    });
    if (pause) pacing.pause(answeredBy, pause);
    if (waitsOutPause) return enqueue(job);
    const timer: TimerHandle = timers.setTimer(() => {
      backingOff.delete(timer);
      enqueue(job);
    }, step.delayMs);
    backingOff.set(timer, job);
  }

  /** Nothing queued behind a pause longer than --max-retry-after could start in time: say so now. */
  function failQueuedBehindLongPause(lane: Lane, { delayMs }: LanePause): void {
    if (delayMs > options.maxRetryAfterMs) {
      for (const job of gate.drain(lanes.keysUsing(lane.pauseBucket))) {
        finish(job, waitTooLong(lane.label, delayMs), false);
      }
    }
  }

  function fetchInput(plan: PlannedRequest): void {
    const admitted = dedupe?.admit(plan) ?? { fetch: true };
    if (admitted.fetch && batches !== undefined) {
      batches.add(plan);
      // A batch that read-ahead cannot add to goes now.
      if (open >= options.readAhead) batches.flush();
    } else if (admitted.fetch) {
      const job = newJob(plan, lanes.laneFor(plan.url), clock.now());
      pager?.begin(job);
      if (deps.cache !== undefined) consultCache(job, deps.cache);
      else enqueue(job);
    } else if (admitted.record) handOver(admitted.record);
  }

  // Reading runs alongside starting; it waits whenever read-ahead is full.
  const reader = readAhead(items, {
    signal: ending.signal,
    // Not further ahead than the gate can use: an input read long before it starts outlives
    // V8's young generation, and moving it to the old space costs more than reading it later.
    hasRoom: () => open < options.readAhead && gate.wantsMore,
    changed: roomChanged,
    onInput: (plan) => {
      open += 1;
      emit({ type: 'input', line: plan.line });
      if (plan.kind === 'invalid') {
        const record: FetchRecord = deps.cache === undefined ? invalidRecord(plan, redactor) : { ...invalidRecord(plan, redactor), cache: 'miss' };
        return handOver(pager ? pager.only(record) : record);
      }
      const before = deps.beforeFetch?.(plan);
      if (before === undefined) return fetchInput(plan);
      before.then(
        (record) => (record === undefined ? fetchInput(plan) : handOver(record)),
        (error: unknown) => {
          defect ??= { error };
          signalChange();
        },
      );
    },
    onEnd: (total) => {
      batches?.flush();
      inputDone = true;
      emit({ type: 'input-end', total });
      signalChange();
    },
  });
  reader.catch(() => undefined);

  /** Stops taking input and starting requests; everything not in flight gets its record now. */
  function stopRun(cause: StopCause, reason: string): void {
    if (stopping) return;
    stopping = true;
    stopCause = cause;
    emit({ type: 'interrupt', reason, cause });
    ending.abort();
    batches?.flush(); // its inputs get the stop's records
    const queued = gate.stop();
    for (const timer of backingOff.keys()) timers.clearTimer(timer);
    const waiting = [...backingOff.values(), ...queued];
    backingOff.clear();
    for (const job of waiting) stopJob(job);
    // Requests on the wire get the grace period to come off it, then the hard stop. A run that
    // ends first aborts hardStop itself, which ends the wait.
    void gate.settledWithin(options.graceMs, hardStop.signal).then((allOff) => {
      if (!allOff) hardStop.abort(new Error('grace period over'));
    });
    signalChange();
  }
  const onStop = () => stopRun('signal', String(stopSignal?.reason ?? 'stopped'));
  stopSignal?.addEventListener('abort', onStop, { once: true });
  if (stopSignal?.aborted) onStop();

  try {
    for (;;) {
      while (finished.length > 0) {
        const record = finished.shift()!;
        // Announced when handed over, so watchers count only records the consumer received.
        emit({ type: 'record', record });
        yield record;
        if (record.last !== false) open -= 1; // a page that is not its input's last leaves it open
        signalChange();
      }
      if (defect) throw defect.error;
      if (inputDone && open === 0) break;
      await changed();
    }
    await reader;
  } finally {
    stopSignal?.removeEventListener('abort', onStop);
    stopping = true;
    ending.abort();
    gate.close();
    batches?.close();
    dedupe?.close();
    for (const timer of backingOff.keys()) timers.clearTimer(timer);
    hardStop.abort(new Error('run ended'));
  }
}
