/**
 * The start gate: starts a waiting job whenever a concurrency slot is free *and* its lane's
 * buckets allow a start. The slot and the tokens are taken at the same moment, so a job waiting
 * for a token or a pause holds no slot, and starts never bunch behind a full queue. Jobs wait
 * in one queue per lane, served round robin (lane-queues.ts); when none may start yet, a timer
 * wakes the gate at the earliest moment one may.
 */
import type { RunEvent } from '../events.js';
import { LaneQueues } from './lane-queues.js';
import type { Job } from './job.js';
import type { Lanes } from '../rate/lanes.js';
import type { Clock, Limiter } from '../rate/limiter.js';

export interface StartGateDeps {
  lanes: Lanes;
  limiter: Limiter;
  clock: Clock;
  emit: (event: RunEvent) => void;
  /** Requests on the wire at once (--concurrency). */
  concurrency: number;
  /** Starts in all, retries and redirect hops included (--max-requests). */
  maxRequests: number;
  /** Puts a job on the wire; its slot and tokens are taken already. */
  start: (job: Job) => void;
  /** Called instead of a start when the request budget is used up and work still waits. */
  onBudgetSpent: () => void;
}

export class StartGate {
  readonly #deps: StartGateDeps;
  readonly #ready = new LaneQueues<Job>(); // jobs that may start once their buckets allow, by lane
  #inFlight = 0;
  #sent = 0; // requests started, retries and redirect hops included (--max-requests)
  #wakeTimer: NodeJS.Timeout | undefined;
  #throttledSince: number | null = null;
  #stopped = false;

  constructor(deps: StartGateDeps) {
    this.#deps = deps;
  }

  /** Requests on the wire. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queues a job (at the head of its lane's queue with `first`) and starts what may start. */
  add(job: Job, first: boolean): void {
    this.#ready.push(job.lane.key, job, first);
    this.pump();
  }

  /** A request came off the wire and its slot is free; the caller pumps once it has acted on it. */
  settled(): void {
    this.#inFlight -= 1;
  }

  /** A started request was held back before it went on the wire: its slot is free, and it costs no budget. */
  held(): void {
    this.#inFlight -= 1;
    this.#sent -= 1;
  }

  /** Start every waiting job that has a free slot and a token now; else sleep until one may. */
  pump(): void {
    if (this.#stopped) return;
    const { lanes, limiter, clock, concurrency, maxRequests } = this.#deps;
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    let earliest = Infinity;
    while (this.#inFlight < concurrency) {
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
      this.#inFlight += 1;
      this.#sent += 1;
      this.#deps.start(next.item);
    }
    const now = clock.now();
    // Held by a rate or a pause, not only by --host-concurrency or a rule's cap (earliest Infinity).
    const throttled = this.#inFlight < concurrency && this.#ready.laneCount > 0 && Number.isFinite(earliest);
    this.#noteThrottle(throttled, now);
    if (throttled) {
      this.#wakeTimer = setTimeout(() => this.pump(), Math.max(0, earliest - now));
    }
  }

  /** Removes and returns the jobs waiting in these lanes. */
  drain(laneKeys: readonly string[]): Job[] {
    return laneKeys.flatMap((key) => this.#ready.drain(key));
  }

  /** The run stops: start nothing more, end a throttled stretch, and return every job still waiting. */
  stop(): Job[] {
    this.#stopped = true;
    clearTimeout(this.#wakeTimer);
    this.#noteThrottle(false, this.#deps.clock.now());
    return this.#ready.drain();
  }

  /** The run is over: start nothing more. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#wakeTimer);
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
