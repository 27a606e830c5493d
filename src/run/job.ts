/**
 * One input on its way through the scheduler: the request now being tried (the input's, a
 * page's, or a redirect hop's), its lane, its attempts and its last outcome, and the record it
 * ends with.
 */
import { checkResponse, type ResponseChecks } from '../record/checks.js';
import { formatDuration } from '../text.js';
import type { StopCause } from '../events.js';
import type { AttemptRequest } from '../http/attempt.js';
import type { AttemptOutcome } from '../http/outcome.js';
import type { Lane } from '../rate/lanes.js';
import type { PlannedRequest } from '../plan/planner.js';
import type { ErrorCode } from '../record/error-codes.js';
import { toRecord, type CacheUse, type FetchRecord } from '../record/record.js';
import type { StaleAnswer } from '../cache/response-cache.js';
import type { Redactor } from '../record/redact.js';

export interface Job {
  plan: PlannedRequest;
  /** Where each attempt starts: the input's request, or its page's when paginating. */
  start: AttemptRequest;
  request: AttemptRequest;
  host: string;
  lane: Lane;
  hops: number;
  /** The requests of the redirect chain under way that were answered with a redirect (the loop check). */
  visited: Set<string>;
  attempts: number;
  readAt: number;
  firstStartAt: number | null;
  /** When the last attempt (or hop) that went on the wire ended. */
  lastEndAt: number | null;
  /** When the attempt or hop now on the wire started. */
  startedAt: number;
  /** The credential generation the request on the wire carries, if it carries one. */
  credential: number | undefined;
  /** This attempt was already sent again after a 401 with a fresh credential. */
  sentAfter401: boolean;
  outcome: AttemptOutcome | null;
  /** With pagination: which page this is, and the page URLs the input has seen (no loops). */
  paging?: { page: number; seen: Set<string> };
  /** With --cache: where the answer came from, the stored answer a 304 would confirm, and whether one is stored at all. */
  cache?: CacheUse;
  revalidating?: StaleAnswer;
  replacesStored?: boolean;
  /** With --batch: the inputs this one request answers (batches.ts). */
  batch?: JobBatch;
}

/** With --batch: the inputs a request answers, and what they went through before it. */
export interface JobBatch {
  members: BatchMember[];
  /** The distinct values the request sends, in order. */
  values: string[];
  /** For a part of a split batch: the retries it may make after a fault (not a 429 or 503, which keep --retries). */
  faultRetries: number | undefined;
}

export interface BatchMember {
  plan: PlannedRequest;
  readAt: number;
  /** Requests that carried it before this one: the batches it was split from. */
  attemptsBefore: number;
  /** When the first request that carried it started; null while none has. */
  firstStartAt: number | null;
  /** Attempts of the requests before this one of which it was the first input: its record counts them (record.batch.requests). */
  requestsCounted: number;
}

export interface Failure {
  code: ErrorCode;
  what: string;
}

/** What an unfinished input's record says, by why the run stopped. */
export const STOPPED: { [cause in StopCause]: Failure } = {
  signal: { code: 'INTERRUPTED', what: 'interrupted before it finished' },
  budget: { code: 'BUDGET_EXHAUSTED', what: 'not finished: the request budget (--max-requests) ran out' },
  breaker: { code: 'CIRCUIT_OPEN', what: 'not finished: the circuit breaker stopped the run' },
  auth: { code: 'AUTH_FAILED', what: 'not finished: the run stopped when no fresh credential could be had' },
};

export function newJob(plan: PlannedRequest, lane: Lane, now: number): Job {
  const request = requestOf(plan);
  return {
    plan,
    start: request,
    request,
    host: plan.url.host,
    lane,
    hops: 0,
    visited: new Set(),
    attempts: 0,
    readAt: now,
    firstStartAt: null,
    lastEndAt: null,
    startedAt: 0,
    credential: undefined,
    sentAfter401: false,
    outcome: null,
  };
}

/** A retry starts over from the input's (or its page's) URL; a redirect chain is followed afresh. */
export function restartJob(job: Job, lane: Lane): void {
  job.request = job.start;
  job.sentAfter401 = false;
  job.host = job.start.url.host;
  job.lane = lane;
  job.hops = 0;
  job.visited.clear();
}

/** A redirect hop: the same input, now trying the hop's request in the hop's lane. */
export function followRedirect(job: Job, request: AttemptRequest, lane: Lane): void {
  job.request = request;
  job.host = request.url.host;
  job.lane = lane;
  job.hops += 1;
}

/** The input's next page: a fresh cycle of attempts, read (for `queuedMs`) when the page before ended. */
export function turnPage(job: Job, request: AttemptRequest, lane: Lane, now: number): void {
  job.start = request;
  restartJob(job, lane);
  job.attempts = 0;
  job.readAt = now;
  job.firstStartAt = null;
  job.lastEndAt = null;
  job.credential = undefined;
  job.outcome = null;
}

function requestOf(plan: PlannedRequest): AttemptRequest {
  return { method: plan.method, url: plan.url, headers: plan.headers, body: plan.body };
}

/**
 * The job's record. With no failure, the last response still has to pass the checks (the
 * expected statuses and the schema); a schema mismatch is final, as the same body would fail again.
 */
export function jobRecord(
  job: Job,
  failure: Failure | null,
  final: boolean,
  endAt: number,
  settings: { checks: ResponseChecks; includeHeaders: boolean; redactor: Redactor },
): FetchRecord {
  let accepted = false;
  let schemaErrors: FetchRecord['schemaErrors'];
  const response = job.outcome?.kind === 'response' ? job.outcome : null;
  if (failure === null && response !== null) {
    const check = checkResponse(response.status, response.statusText, response.body, response.bodyEncoding, settings.checks);
    if (check.ok) accepted = true;
    else {
      failure = { code: check.code, what: check.what };
      schemaErrors = check.schemaErrors;
      if (check.code === 'SCHEMA_MISMATCH') final = true;
    }
  }
  return toRecord(
    {
      line: job.plan.line,
      method: job.plan.method,
      inputUrl: job.plan.inputUrl,
      key: job.plan.key,
      // A hit was the answer of the input's own URL (answers after a redirect are not stored).
      finalUrl: job.firstStartAt === null && job.cache !== 'hit' ? null : job.request.url,
      attempts: job.attempts,
      readAt: job.readAt,
      firstStartAt: job.firstStartAt,
      lastEndAt: job.lastEndAt,
      endAt,
      outcome: job.outcome,
      failure,
      final,
      accepted,
      schemaErrors,
      identity: job.plan.identity,
      includeHeaders: settings.includeHeaders,
      cache: job.cache,
    },
    settings.redactor,
  );
}

/** A server asked `who` to wait longer than --max-retry-after allows. */
export function waitTooLong(who: string, waitMs: number): Failure {
  return { code: 'RETRY_AFTER_TOO_LONG', what: `${who} asked to wait ${formatDuration(waitMs)}, more than --max-retry-after` };
}
