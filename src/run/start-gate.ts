/**
 * The start gate: starts a waiting job whenever a concurrency slot is free *and* its lane's
 * buckets allow a start. p-queue holds the slots on the wire and says when one frees and when
 * all are free (the drain on stop); our lanes hold the waiting jobs. The slot and the tokens
 * are taken at the same moment, so a job waiting for a token or a pause holds no slot, is not
 * inside p-queue, and starts never bunch behind a full queue. Jobs wait in one queue per lane,
 * served round robin (lane-queues.ts); when none may start yet, a timer wakes the gate at the
 * earliest moment one may.
 */
import PQueue from 'p-queue';
import type { RunEvent } from '../events.js';
import { LaneQueues } from './lane-queues.js';
import type { Job } from './job.js';
import type { Lanes } from '../rate/lanes.js';
import type { Clock, Limiter } from '../rate/limiter.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';

export interface StartGateDeps {
  lanes: Lanes;
  limiter: Limiter;
  clock: Clock;
  /** The wake and grace timers. @default systemTimers */
  timers?: Timers;
  emit: (event: RunEvent) => void;
  /** Requests on the wire at once (--concurrency). */
  concurrency: number;
  /** Starts in all, retries and redirect hops included (--max-requests). */
  maxRequests: number;
  /**
   * Puts a job on the wire; its slot and tokens are taken already. Settles once the request is
   * off the wire (answered, failed or held back) and the caller has acted on it: its slot frees then.
   */
  start: (job: Job) => Promise<void>;
  /** Called instead of a start when the request budget is used up and work still waits. */
  onBudgetSpent: () => void;
  /** A start that threw or rejected: a defect, for the run to report. */
  onDefect: (error: unknown) => void;
}

export class StartGate {
  /**
   * The slots on the wire. Only the gate adds to it, and only while a slot is free, so every
   * task runs at once and `size` stays 0. Public so that can be watched; never add to it.
   */
  readonly slots: PQueue;
  readonly #deps: StartGateDeps;
  readonly #timers: Timers;
  readonly #ready = new LaneQueues<Job>(); // jobs that may start once their buckets allow, by lane
  #sent = 0; // requests started, retries and redirect hops included (--max-requests)
  #wakeTimer: TimerHandle | undefined;
  #throttledSince: number | null = null;
  #stopped = false;
  // A freed slot may start the next job; p-queue says so after the caller acted on the outcome.
  readonly #onSlotFreed = () => this.pump();

  constructor(deps: StartGateDeps) {
    this.#deps = deps;
    this.#timers = deps.timers ?? systemTimers;
    this.slots = new PQueue({ concurrency: deps.concurrency });
    this.slots.on('next', this.#onSlotFreed);
  }

  /** Queues a job (at the head of its lane's queue with `first`) and starts what may start. */
  add(job: Job, first: boolean): void {
    this.#ready.push(job.lane.key, job, first);
    this.pump();
  }

  /** A started request was held back before it went on the wire: it costs no budget. */
  held(): void {
    this.#sent -= 1;
  }

  /** Start every waiting job that has a free slot and a token now; else sleep until one may. */
  pump(): void {
    if (this.#stopped) return;
    const { lanes, limiter, clock, maxRequests } = this.#deps;
    const { slots } = this;
    this.#timers.clearTimer(this.#wakeTimer);
    this.#wakeTimer = undefined;
    let earliest = Infinity;
    while (slots.pending < slots.concurrency) {
      if (this.#sent >= maxRequests && this.#ready.laneCount > 0) return this.#deps.onBudgetSpent();
      const next = this.#ready.next((key) => {
        const lane = lanes.byKey(key)!;
        // A lane at its concurrency cap waits for one of its requests to settle, which pumps.
        return lanes.hasRoom(lane) ? limiter.tryTake(lane.buckets) : { ok: false, retryAtMs: Infinity };
      });
      if (next === undefined) break;
      if ('retryAtMs' in next) {
        earliest = next.retryAtMs;
        break;
      }
      this.#sent += 1;
      this.#startInSlot(next.item);
    }
    const now = clock.now();
    // Held by a rate or a pause, not only by --host-concurrency or a rule's cap (earliest Infinity).
    const throttled = slots.pending < slots.concurrency && this.#ready.laneCount > 0 && Number.isFinite(earliest);
    this.#noteThrottle(throttled, now);
    if (throttled) {
      this.#wakeTimer = this.#timers.setTimer(() => this.pump(), Math.max(0, earliest - now));
    }
  }

  /**
   * Resolves true once no request is on the wire, or false when `graceMs` passes or `signal`
   * aborts first; it leaves no listener or timer behind either way.
   */
  settledWithin(graceMs: number, signal: AbortSignal): Promise<boolean> {
    const { slots } = this;
    const timers = this.#timers;
    if (slots.pending === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (allOff: boolean) => {
        timers.clearTimer(timer);
        slots.off('pendingZero', onAllOff);
        signal.removeEventListener('abort', onAbort);
        resolve(allOff);
      };
      const onAllOff = () => done(true);
      const onAbort = () => done(false);
      // Unref'd: the requests on the wire keep the process alive, not the wait for them.
      const timer = timers.setTimer(onAbort, graceMs, { unref: true });
      slots.on('pendingZero', onAllOff);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Removes and returns the jobs waiting in these lanes. */
  drain(laneKeys: readonly string[]): Job[] {
    return laneKeys.flatMap((key) => this.#ready.drain(key));
  }

  /** The run stops: start nothing more, end a throttled stretch, and return every job still waiting. */
  stop(): Job[] {
    this.#stopped = true;
    this.#timers.clearTimer(this.#wakeTimer);
    this.#noteThrottle(false, this.#deps.clock.now());
    return this.#ready.drain();
  }

  /** The run is over: start nothing more. */
  close(): void {
    this.#stopped = true;
    this.#timers.clearTimer(this.#wakeTimer);
    this.slots.off('next', this.#onSlotFreed);
  }

  /**
   * Below its concurrency p-queue runs a task inside add(), so `pending` counts it before the
   * pump asks again and the job never waits in p-queue. The task's promise is the request's
   * time on the wire; a rejection is a defect, reported rather than left unhandled.
   */
  #startInSlot(job: Job): void {
    this.slots.add(() => this.#deps.start(job)).catch(this.#deps.onDefect);
  }

  /** Measures stretches in which a slot was free and work waited, but the limiter said no. */
  #noteThrottle(throttled: boolean, now: number): void {
    if (throttled && this.#throttledSince === null) this.#throttledSince = now;
    if (!throttled && this.#throttledSince !== null) {
      this.#deps.emit({ type: 'rate-wait', waitedMs: now - this.#throttledSince });
      this.#throttledSince = null;
    }
  }
}
