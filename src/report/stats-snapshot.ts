/** What RunStats reports at one instant: the data every reporter and --stats-file read. */
import type { RateChangeReason } from '../events.js';

/** Latency percentiles in ms; null when no record carried a latency. */
export interface LatencyPercentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A host the scheduler paused (after a 429 or 503 with Retry-After, for instance). */
export interface PausedHost {
  host: string;
  /** Epoch ms at which the pause ends. */
  untilMs: number;
  /** Why, already redacted (e.g. `429 Too Many Requests`). */
  reason: string;
}

/** The rate a host or route is held to by the rate controller. */
export interface LaneRate {
  lane: string;
  rps: number;
  /** True once a refusal showed a limit: found, not just climbed to. */
  found: boolean;
  /** The rate the server was last seen to accept whole (`rps` itself until a limit is found). */
  settledRps: number;
}

/** One change of a lane's rate (or a reason it was kept), `atMs` after the run's start. */
export interface RateTimelineEntry {
  atMs: number;
  lane: string;
  rps: number;
  reason: RateChangeReason;
  why: string;
}

/** A host pause that began `atMs` after the run's start, for `forMs`. */
export interface PauseTimelineEntry {
  atMs: number;
  host: string;
  forMs: number;
  source: 'server' | 'backoff';
  reason: string;
}

/** Everything the reporters show, at one instant. Plain data: safe to keep or serialise. */
export interface StatsSnapshot {
  /** Epoch ms at which the RunStats was created (the run start). */
  startedAt: number;
  /** Wall time since `startedAt`. */
  elapsedMs: number;
  /** Expected number of inputs: the real count once the input ended, else `setTotal`'s, else null. */
  total: number | null;
  /** Inputs read so far (valid or not). */
  read: number;
  inputEnded: boolean;
  /** Records emitted (one per input). */
  done: number;
  ok: number;
  failed: number;
  /** Records with `final: false`: worth trying again in a later run. */
  notFinal: number;
  /** Not-ok records that had a status, by status code. */
  byStatus: Record<string, number>;
  /** Not-ok records by `error.code`. */
  byErrorCode: Record<string, number>;
  /** SCHEMA_MISMATCH errors by body path, array indexes folded to `*`, so drift shows at a glance. */
  schemaMismatchByPath: Record<string, number>;
  retries: number;
  /** Attempts that ended with status 429 (retried or not). */
  received429: number;
  attemptsStarted: number;
  inFlight: number;
  /** ok / done, 0..1; null before the first record. */
  successRate: number | null;
  /** Attempt starts per second since the first attempt start; null before it. */
  achievedRps: number | null;
  /** Attempt starts per second over the last ~5 s; null before the first start. */
  recentRps: number | null;
  /** Over each record's `latencyMs` (its last attempt); about 1% relative error. */
  latencyMs: LatencyPercentiles;
  /** Wall time in which requests were ready and a free slot was there, but a rate or a pause held them. */
  rateWaitMs: number;
  /** Hosts still paused at snapshot time, the one that resumes last first. */
  pausedHosts: PausedHost[];
  /** Rates the run holds itself to now, found by the rate controller (or --rps auto's climb), slowest first. */
  laneRates: LaneRate[];
  /** The rate changes, oldest first (the last thousand). */
  rateTimeline: RateTimelineEntry[];
  interrupted: boolean;
  interruptReason: string | null;
  /** From the record completion rate over the last ~5 s; null when unknown or stalled. */
  etaMs: number | null;
  /** --save: files written (`foundWhole` of them found whole on --resume, with no request) and their bytes. */
  saved: { files: number; bytes: number; foundWhole: number };
  /** With --cache: the records by where their answer came from; absent without it. */
  cache?: CacheCounts;
  /** With --batch: records of inputs that went in batch requests (each batch counts once in `attemptsStarted`). */
  batchedInputs: number;
}

/** With --cache: records answered from the cache with no request, after a 304, or by the server. */
export interface CacheCounts {
  hit: number;
  revalidated: number;
  miss: number;
}
