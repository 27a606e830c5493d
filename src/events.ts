import type { FetchRecord } from './record/record.js';

/**
 * Everything the scheduler tells its watchers. A closed union: the reporter and stats
 * subscribe and never reach into the pipeline. Times are epoch milliseconds; URLs and
 * reasons are already redacted.
 */
export type RunEvent =
  /** An input item was read (valid or not). */
  | { type: 'input'; line: number }
  /** The input is exhausted; `total` items were read. */
  | { type: 'input-end'; total: number }
  /** An attempt went on the wire (hop > 0 for a redirect hop). */
  | { type: 'attempt-start'; line: number; host: string; attempt: number; hop: number }
  /**
   * An attempt that started did not go on the wire after all: its lane was told to wait before
   * undici could send it. It is queued again and goes when the wait is over.
   */
  | { type: 'attempt-held'; line: number; host: string; attempt: number; hop: number }
  /** An attempt finished: a response (status) or a failure (code). */
  | {
      type: 'attempt-end';
      line: number;
      host: string;
      attempt: number;
      status: number | null;
      code: string | null;
      latencyMs: number;
    }
  /** A request will be tried again after `delayMs`. */
  | {
      type: 'retry';
      line: number;
      host: string;
      attempt: number;
      delayMs: number;
      source: 'server' | 'backoff';
      reason: string;
    }
  /** A whole host is paused until `untilMs` (epoch ms). */
  | {
      type: 'pause';
      host: string;
      untilMs: number;
      delayMs: number;
      source: 'server' | 'backoff';
      reason: string;
    }
  /**
   * A lane's rate changed, or was kept for a reason worth telling: the controller cut it after a
   * refusal (`throttled`), paced it without catch-up (`spacing`), raised or probed it (`clean`,
   * `probe`), paced windows on the clock (`window`), kept it through a long window's wait
   * (`kept`), undid a cut for 503s that proved noise (`undo`), `--rps auto` started (`start`),
   * or quota headers took over (`quota`; rps Infinity). `why` says it in
   * words for --verbose; `heldRps` is the rate the server was last seen to accept whole.
   */
  | { type: 'rate'; lane: string; rps: number; reason: RateChangeReason; why: string; heldRps: number | undefined }
  /**
   * A stretch of time in which a slot was free and requests were waiting, but the limiter
   * (a rate or a pause) let none start. Summed, it is the time the run spent rate-limited.
   */
  | { type: 'rate-wait'; waitedMs: number }
  /**
   * The run stops early: a signal or a closed output (`signal`), the request budget (`budget`)
   * or the circuit breaker (`breaker`). Unfinished inputs get records saying which.
   */
  | { type: 'interrupt'; reason: string; cause: StopCause }
  /** The final record for one input. */
  | { type: 'record'; record: FetchRecord }
  /**
   * Attempts made by the workers of other processes, in a run shared through Redis, since the
   * last such event: what `attempt-start`, `attempt-end` and `retry` would have counted.
   */
  | { type: 'remote-attempts'; started: number; ended: number; refused: number; retries: number };

export type RunEventType = RunEvent['type'];

export type StopCause = 'signal' | 'budget' | 'breaker' | 'auth';

/**
 * Why a lane's rate changed. The rate controller (rate/controller/) names them; the reporter
 * words them. `probe`: a step past the rate that held, which the next step or a 429 will test.
 */
export type RateChangeReason = 'start' | 'throttled' | 'spacing' | 'fill' | 'clean' | 'probe' | 'quota' | 'window' | 'kept' | 'undo';

export type RunEventListener = (event: RunEvent) => void;
