/**
 * Runs the requests: bounded read-ahead from the input, the dispatcher that starts a request
 * only when a slot is free *and* its buckets allow it (the slot and the token are taken at the
 * same moment, so a waiting request holds no slot), and the attempt loop
 *   take → attempt → decideRetry → (pause host | back off) → take …
 * with redirects as one more turn of the same loop. Yields exactly one record per input read.
 */
import { setMaxListeners } from 'node:events';
import { CircuitBreaker } from './breaker.js';
import type { RunEvent, StopCause } from './events.js';
import type { AttemptRequest } from './http/attempt.js';
import { firstHeaderValue, type AttemptOutcome } from './http/outcome.js';
import { nextHop, requestId } from './http/redirect.js';
import { Deduplicator } from './dedupe.js';
import { HostQueues } from './host-queues.js';
import { STOPPED, jobRecord, newJob, restartJob, type Failure, type Job } from './job.js';
import { Lanes, type Lane, type LaneRateChange } from './lanes.js';
import { hostBucket, type Clock, type Limiter } from './limiter.js';
import type { RunOptions } from './options.js';
import type { PlanResult } from './plan.js';
import { invalidRecord, type FetchRecord } from './record.js';
import type { Redactor } from './redact.js';
import { decideRetry, describeOutcome } from './retry/policy.js';
import { parseRetryAfter } from './retry/retry-after.js';
import { decideQuotaPacing, parseQuotaHeaders } from './retry/quota-headers.js';
import type { ResponseChecks } from './checks.js';

export interface SchedulerDeps {
  limiter: Limiter;
  clock: Clock;
  /** One attempt; `hardStop` aborts it at once. */
  send: (request: AttemptRequest, hardStop: AbortSignal) => Promise<AttemptOutcome>;
  emit: (event: RunEvent) => void;
  redactor: Redactor;
  random: () => number;
  /** What a final response must pass to be ok (2xx when empty). */
  checks: ResponseChecks;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export async function* schedule(
  items: AsyncIterable<PlanResult>,
  options: RunOptions,
  deps: SchedulerDeps,
  stopSignal?: AbortSignal,
): AsyncGenerator<FetchRecord> {
  const { limiter, clock, emit, redactor } = deps;
  const hardStop = new AbortController();
  // Every request in flight listens to it: more than the default 10 is expected.
  setMaxListeners(0, hardStop.signal);
  const lanes = new Lanes(options, limiter, () => clock.now());
  const ready = new HostQueues<Job>(); // jobs that may start once their buckets allow, by lane
  const backingOff = new Map<NodeJS.Timeout, Job>(); // jobs sleeping before a retry
  const finished: FetchRecord[] = [];
  const dedupe = options.dedupe ? new Deduplicator(redactor) : undefined;
  let open = 0; // inputs read whose record the consumer has not taken yet
  let inFlight = 0;
  let inputDone = false;
  let stopping = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let throttledSince: number | null = null;
  let sent = 0; // requests started, retries and redirect hops included (--max-requests)
  let stopCause: StopCause = 'signal';
  const breaker = new CircuitBreaker({
    maxErrorRate: options.maxErrorRate,
    maxConnectionFailures: options.maxConnectionFailures,
    windowSize: 100,
    minSamples: 20,
  });
  let waiters: Array<() => void> = [];
  const signalChange = () => {
    const wake = waiters;
    waiters = [];
    for (const resolve of wake) resolve();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));
  // Ends when the run stops for any reason: a signal, or the consumer leaving early.
  const ending = new AbortController();
  /**
   * Resolves with the promise's value, or with null once the run ends. Not Promise.race with a
   * run-long promise: every race would leave a reaction on it, holding each input until the end.
   */
  const unlessEnded = <T>(promise: Promise<T>): Promise<T | null> =>
    new Promise((resolve, reject) => {
      if (ending.signal.aborted) return resolve(null);
      const onEnd = () => resolve(null);
      ending.signal.addEventListener('abort', onEnd, { once: true });
      promise.then(
        (value) => {
          ending.signal.removeEventListener('abort', onEnd);
          resolve(value);
        },
        (error: unknown) => {
          ending.signal.removeEventListener('abort', onEnd);
          reject(error);
        },
      );
    });

  function finish(job: Job, failure: Failure | null, final: boolean): void {
    const record = jobRecord(job, failure, final, clock.now(), { checks: deps.checks, includeHeaders: options.includeHeaders, redactor });
    finished.push(record);
    if (dedupe) finished.push(...dedupe.settle(job.plan, record));
    signalChange();
  }

  /** The record of an input the run stopped before it finished; the stop's cause names the code. */
  function stopJob(job: Job): void {
    const last = job.outcome ? `; last attempt: ${describeOutcome(job.outcome)}` : '';
    const { code, what } = STOPPED[stopCause];
    finish(job, { code, what: `${what}${last}` }, false);
  }

  /** Queue a job to start as soon as its buckets allow, or fail it if its lane is paused too long. */
  function enqueue(job: Job): void {
    if (stopping) return stopJob(job);
    const pausedUntil = Math.max(limiter.pausedUntil(hostBucket(job.host)), limiter.pausedUntil(job.lane.pauseBucket));
    const waitMs = pausedUntil - clock.now();
    if (waitMs > options.maxRetryAfterMs) {
      return finish(job, { code: 'RETRY_AFTER_TOO_LONG', what: `${job.lane.label} asked to wait ${formatWait(waitMs)}, more than --max-retry-after` }, false);
    }
    // A retry or a redirect hop goes before new requests for its host. After a pause, the first
    // start is then the request that waited longest, and whichever start comes too soon and
    // is refused is a fresh one: no single input is refused again and again until its
    // retries run out.
    ready.push(job.lane.key, job, job.attempts > 0);
    pump();
  }

  /** Start every waiting job that has a free slot and a token now; else sleep until one may. */
  function pump(): void {
    if (stopping) return;
    clearTimeout(wakeTimer);
    wakeTimer = undefined;
    let earliest = Infinity;
    while (inFlight < options.concurrency) {
      if (sent >= options.maxRequests && ready.hostCount > 0) {
        return stopRun('budget', `request budget of ${options.maxRequests} used up (--max-requests)`);
      }
      const next = ready.next((key) => {
        const lane = lanes.byKey(key)!;
        // A lane at its concurrency cap waits for one of its requests to settle, which pumps.
        return lanes.hasRoom(lane) ? limiter.tryTake(lane.buckets) : { ok: false, retryAtMs: Infinity };
      });
      if (next === undefined) break;
      if ('retryAtMs' in next) {
        earliest = next.retryAtMs;
        break;
      }
      start(next.item);
    }
    const now = clock.now();
    const throttled = inFlight < options.concurrency && ready.hostCount > 0;
    noteThrottle(throttled, now);
    if (throttled && Number.isFinite(earliest)) {
      wakeTimer = setTimeout(pump, Math.max(0, earliest - now));
    }
  }

  /** Measures stretches in which a slot was free and work waited, but the limiter said no. */
  function noteThrottle(throttled: boolean, now: number): void {
    if (throttled && throttledSince === null) throttledSince = now;
    if (!throttled && throttledSince !== null) {
      emit({ type: 'rate-wait', waitedMs: now - throttledSince });
      throttledSince = null;
    }
  }

  function start(job: Job): void {
    inFlight += 1;
    sent += 1;
    if (job.hops === 0) job.attempts += 1;
    job.startedAt = clock.now();
    job.firstStartAt ??= job.startedAt;
    noteRate(lanes.started(job.lane, job.startedAt));
    job.visited.add(requestId(job.request));
    emit({ type: 'attempt-start', line: job.plan.line, host: job.host, attempt: job.attempts, hop: job.hops });
    deps.send(job.request, hardStop.signal).then(
      (outcome) => settle(job, outcome),
      (error: unknown) => settle(job, { kind: 'failure', code: 'NETWORK_ERROR', message: String(error), latencyMs: 0 }),
    );
  }

  function settle(job: Job, outcome: AttemptOutcome): void {
    inFlight -= 1;
    job.outcome = outcome;
    const response = outcome.kind === 'response' ? outcome : null;
    const throttled = response !== null && (response.status === 429 || (response.status === 503 && response.headers['retry-after'] !== undefined));
    const now = clock.now();
    const retryAfterMs = throttled ? parseRetryAfter(response.headers['retry-after'], now) : undefined;
    noteRate(lanes.settled(job.lane, now, job.startedAt, response === null ? 'failed' : throttled ? 'throttled' : 'accepted', retryAfterMs));
    // On a 429 the Retry-After decides (the drafts give it precedence); otherwise the quota does.
    if (response !== null && response.status !== 429) paceByQuota(job.lane, response.headers);
    emit({
      type: 'attempt-end',
      line: job.plan.line,
      host: job.host,
      attempt: job.attempts,
      status: response?.status ?? null,
      code: outcome.kind === 'failure' ? outcome.code : null,
      latencyMs: outcome.latencyMs,
    });
    act(job, outcome);
    const tripped = breaker.record(outcome);
    if (tripped !== undefined) return stopRun('breaker', `circuit breaker open: ${tripped}`);
    pump();
  }

  function act(job: Job, outcome: AttemptOutcome): void {
    if (outcome.kind === 'failure' && outcome.code === 'INTERRUPTED') return stopJob(job);
    const location = outcome.kind === 'response' ? firstHeaderValue(outcome.headers.location) : undefined;
    if (outcome.kind === 'response' && options.maxRedirects > 0 && REDIRECT_STATUSES.has(outcome.status)) {
      if (location === undefined) return finish(job, { code: 'BAD_REDIRECT', what: `${outcome.status} redirect without a Location` }, true);
      const step = nextHop(job.request, outcome.status, location, job.hops, options.maxRedirects, job.visited, options.locationTrusted);
      if (step.kind === 'stop') return finish(job, { code: step.code, what: step.message }, true);
      if (stopping) return stopJob(job);
      job.request = step.request;
      job.host = step.request.url.host;
      job.lane = lanes.laneFor(step.request.url);
      job.hops += 1;
      return enqueue(job);
    }

    const now = clock.now();
    const decision = decideRetry(outcome, job.attempts, job.plan.method, options, now, deps.random);
    if (!decision.retry) {
      if (decision.code === 'RETRY_AFTER_TOO_LONG') {
        const waitMs = decision.waitMs ?? 0;
        pauseLane(job.lane, now + waitMs, waitMs, 'server', describeOutcome(outcome));
        return finish(job, { code: 'RETRY_AFTER_TOO_LONG', what: `${describeOutcome(outcome)}, asked to wait ${formatWait(waitMs)}, more than --max-retry-after` }, false);
      }
      if (decision.hostPause) {
        const { delayMs, source, reason } = decision.hostPause;
        pauseLane(job.lane, now + delayMs, delayMs, source, reason);
      }
      return finish(job, null, decision.final);
    }
    if (stopping) return stopJob(job);

    emit({ type: 'retry', line: job.plan.line, host: job.host, attempt: job.attempts, delayMs: decision.delayMs, source: decision.source, reason: redactor.text(decision.reason) });
    // The lane that answered is the one told to wait, even on a redirect hop.
    const answeredBy = job.lane;
    if (decision.pauseHost) pauseLane(answeredBy, now + decision.delayMs, decision.delayMs, decision.source, decision.reason);
    restartJob(job, lanes.laneFor(job.plan.url));
    // Waiting in the queue of a paused lane holds no slot and starts right at the pause end.
    if (decision.pauseHost && answeredBy === job.lane) return enqueue(job);
    const timer: NodeJS.Timeout = setTimeout(() => {
      backingOff.delete(timer);
      enqueue(job);
    }, decision.delayMs);
    backingOff.set(timer, job);
  }

  /**
   * What the server says about its quota paces its lane before a 429 is needed: none left →
   * pause until the reset; little left → spread it over the time to the reset; plenty → the
   * lane goes back to the run's pace.
   */
  function paceByQuota(lane: Lane, headers: { [name: string]: string | string[] }): void {
    const now = clock.now();
    const quota = parseQuotaHeaders(headers, now);
    if (quota === undefined) return;
    const pacing = decideQuotaPacing(quota, lanes.inFlight(lane), now);
    if (pacing !== undefined && 'pauseUntilMs' in pacing) {
      pauseLane(lane, pacing.pauseUntilMs, pacing.pauseUntilMs - now, 'server', `quota used up (${quota.source} headers)`);
    }
    noteRate(lanes.paceByQuota(lane, pacing !== undefined && 'rps' in pacing ? pacing.rps : undefined, now));
  }

  function noteRate(change: LaneRateChange | undefined): void {
    if (change !== undefined) emit({ type: 'rate', lane: change.lane, rps: change.rps, reason: change.reason });
  }

  function pauseLane(lane: Lane, untilMs: number, delayMs: number, source: 'server' | 'backoff', reason: string): void {
    const bucket = lane.pauseBucket;
    if (untilMs <= limiter.pausedUntil(bucket)) return;
    limiter.pause(bucket, untilMs);
    lanes.paused(lane, clock.now(), untilMs);
    emit({ type: 'pause', host: lane.label, untilMs, delayMs, source, reason: redactor.text(reason) });
    if (delayMs > options.maxRetryAfterMs) {
      // Nothing queued behind this pause could start in time: say so now instead of waiting.
      for (const key of lanes.keysUsing(bucket)) {
        for (const job of ready.drain(key)) {
          finish(job, { code: 'RETRY_AFTER_TOO_LONG', what: `${lane.label} asked to wait ${formatWait(delayMs)}, more than --max-retry-after` }, false);
        }
      }
    }
  }

  // Reading runs alongside dispatching; it waits whenever read-ahead is full.
  let total = 0;
  const reader = (async () => {
    const iterator = items[Symbol.asyncIterator]();
    try {
      while (!stopping) {
        while (open >= options.readAhead && !stopping) await unlessEnded(changed());
        if (stopping) break;
        const next = await unlessEnded(iterator.next());
        if (next === null || next.done) break;
        total += 1;
        open += 1;
        emit({ type: 'input', line: next.value.line });
        if (next.value.kind === 'invalid') {
          finished.push(invalidRecord(next.value, redactor));
          signalChange();
        } else {
          const admitted = dedupe?.admit(next.value) ?? { fetch: true };
          if (admitted.fetch) {
            enqueue(newJob(next.value, lanes.laneFor(next.value.url), clock.now()));
          } else if (admitted.record) {
            finished.push(admitted.record);
            signalChange();
          }
        }
      }
    } finally {
      inputDone = true;
      emit({ type: 'input-end', total });
      signalChange();
      // Do not wait for a source blocked on a read (stdin) once we are stopping.
      void iterator.return?.()?.catch(() => undefined);
    }
  })();
  reader.catch(() => undefined);

  /** Stops taking input and starting requests; everything not in flight gets its record now. */
  function stopRun(cause: StopCause, reason: string): void {
    if (stopping) return;
    stopping = true;
    stopCause = cause;
    emit({ type: 'interrupt', reason, cause });
    ending.abort();
    clearTimeout(wakeTimer);
    noteThrottle(false, clock.now());
    for (const timer of backingOff.keys()) clearTimeout(timer);
    const waiting = [...backingOff.values(), ...ready.drain()];
    backingOff.clear();
    for (const job of waiting) stopJob(job);
    if (inFlight > 0) setTimeout(() => hardStop.abort(new Error('grace period over')), options.graceMs).unref();
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
        open -= 1;
        signalChange();
      }
      if (inputDone && open === 0) break;
      await changed();
    }
    await reader;
  } finally {
    stopSignal?.removeEventListener('abort', onStop);
    stopping = true;
    ending.abort();
    clearTimeout(wakeTimer);
    for (const timer of backingOff.keys()) clearTimeout(timer);
    hardStop.abort(new Error('run ended'));
  }
}


function formatWait(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
