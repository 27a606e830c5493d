/**
 * The start gate: starts a waiting job whenever a concurrency slot is free *and* its lane's
 * buckets allow a start. The gate counts the slots on the wire itself and says when all are
 * free (the drain on stop); our lanes hold the waiting jobs. The slot and the tokens are taken
 * at the same moment, so a job waiting for a token or a pause holds no slot, and starts never
 * bunch behind a full queue. Jobs wait in one queue per lane, served round robin
 * (lane-queues.ts); when none may start yet, a timer wakes the gate at the earliest moment one may.
 *
 * The slots are a counter, not a p-queue: the gate only ever added a task while a slot was
 * free, so p-queue queued nothing, and its bookkeeping per task (an options object, an id, a
 * Symbol, a Map entry, three closures, two promises and five events) was 3.6% of a fast run's
 * CPU and 7% of what it allocated (docs/performance.md).
 */
import type { RunEvent } from '../events.js';
import { LaneQueues } from './lane-queues.js';
import type { Job } from './job.js';
import type { Lanes } from '../rate/lanes.js';
import type { Clock, Limiter, TakeResult } from '../rate/limiter.js';
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
  /** A slot freed, and the gate started what it could. */
  onSlotFreed?: () => void;
}

/**
 * Jobs kept ready while every slot is busy (or as many as there are slots, if more). Enough that
 * a short list is read whole at once, so a stop gives each of its lines a record; few enough
 * that a job waits a small part of the time between two scavenges: at 2,000 a job waited long
 * enough to be moved to V8's old space, and the reading ahead was most of what a fast run
 * moved there (measured: 30 MB of 20,000 requests, against 7 at 256 and 6 at 64).
 */
export const READY_JOBS = 256;

const AT_CAP: TakeResult = Object.freeze({ ok: false, retryAtMs: Infinity });

export class StartGate {
  readonly #deps: StartGateDeps;
  readonly #concurrency: number;
  readonly #readyJobs: number;
  #onWire = 0; // slots taken: starts whose promise has not settled yet
  /** Called once no slot is taken (settledWithin's wait), if anyone waits for that. */
  #onAllOff: (() => void) | undefined;
  readonly #timers: Timers;
  readonly #ready = new LaneQueues<Job>(); // jobs that may start once their buckets allow, by lane
  #sent = 0; // requests started, retries and redirect hops included (--max-requests)
  #wakeTimer: TimerHandle | undefined;
  #throttledSince: number | null = null;
  #stopped = false;
  // A start settled (the caller has acted on the outcome): its slot frees, and may start the next job.
  readonly #slotFreed = () => {
    this.#onWire -= 1;
    if (this.#onWire === 0) this.#onAllOff?.();
    this.pump();
    this.#deps.onSlotFreed?.();
  };
  /** Whether a job of lane `key` may start now, taking its tokens if so. */
  readonly #tryStart = (key: string): TakeResult => {
    const { lanes, limiter } = this.#deps;
    const lane = lanes.byKey(key)!;
    // A lane at its concurrency cap waits for one of its requests to settle, which pumps.
    return lanes.hasRoom(lane) ? limiter.tryTake(lane.buckets) : AT_CAP;
  };
  readonly #startFailed = (error: unknown) => {
    this.#deps.onDefect(error);
    this.#slotFreed();
  };

  constructor(deps: StartGateDeps) {
    this.#deps = deps;
    this.#concurrency = deps.concurrency;
    this.#readyJobs = Math.max(READY_JOBS, deps.concurrency);
    this.#timers = deps.timers ?? systemTimers;
  }

  /** Requests on the wire: slots taken. */
  get onWire(): number {
    return this.#onWire;
  }

  /**
   * Whether the gate could use another job: a slot is free (what waits may not start, so
   * another lane's job might), or fewer jobs wait than READY_JOBS (or the slots, if more).
   */
  get wantsMore(): boolean {
    return this.#onWire < this.#concurrency || this.#ready.size < this.#readyJobs;
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
    const { clock, maxRequests } = this.#deps;
    if (this.#wakeTimer !== undefined) {
      this.#timers.clearTimer(this.#wakeTimer);
      this.#wakeTimer = undefined;
    }
    let earliest = Infinity;
    while (this.#onWire < this.#concurrency) {
      if (this.#sent >= maxRequests && this.#ready.laneCount > 0) return this.#deps.onBudgetSpent();
      const next = this.#ready.next(this.#tryStart);
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
    const throttled = this.#onWire < this.#concurrency && this.#ready.laneCount > 0 && Number.isFinite(earliest);
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
    const timers = this.#timers;
    if (this.#onWire === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (allOff: boolean) => {
        timers.clearTimer(timer);
        this.#onAllOff = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve(allOff);
      };
      const onAbort = () => done(false);
      // Unref'd: the requests on the wire keep the process alive, not the wait for them.
      const timer = timers.setTimer(onAbort, graceMs, { unref: true });
      // The scheduler waits once, when the run stops: one waiter at a time is all there is.
      this.#onAllOff = () => done(true);
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
  }

  /**
   * The slot counts from here, before the pump asks again. The start's promise is the request's
   * time on the wire; a rejection (or a throw) is a defect, reported rather than left unhandled,
   * and frees the slot all the same.
   */
  #startInSlot(job: Job): void {
    this.#onWire += 1;
    let started: Promise<void>;
    try {
      started = this.#deps.start(job);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(this.#slotFreed, this.#startFailed);
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
