/**
 * What to do with a job after an attempt: follow a redirect, retry, or finish (pausing its lane
 * first when the answer said "slow down"). Pure: the scheduler acts on the step (sets the
 * timers, pauses the lane, queues the job).
 */
import { REDIRECT_STATUSES, describeOutcome, firstHeaderValue, type AttemptOutcome } from '../http/outcome.js';
import type { AttemptRequest } from '../http/attempt.js';
import { nextHop } from '../http/redirect.js';
import { waitTooLong, type Failure, type Job } from './job.js';
import type { RunOptions } from '../options.js';
import type { AnswerHints } from '../retry/hints.js';
import { decideRetry, type RetryPolicy } from '../retry/policy.js';

/** Pause a lane until `untilMs` (a wait of `delayMs` from now). */
export interface LanePause {
  untilMs: number;
  delayMs: number;
  source: 'server' | 'backoff';
  /** Not yet redacted. */
  reason: string;
}

/** A `pause` is for the lane that answered. */
export type NextStep =
  /** The run's hard stop cut the attempt short. */
  | { kind: 'interrupted' }
  /** The job's record: `failure` null means the last response decides (it still has to pass the checks). */
  | { kind: 'finish'; failure: Failure | null; final: boolean; pause?: LanePause }
  /** One more hop, through the limiter like any request. */
  | { kind: 'redirect'; request: AttemptRequest }
  /** Try the input again after `delayMs`; `reason` is not yet redacted. */
  | { kind: 'retry'; delayMs: number; source: 'server' | 'backoff'; reason: string; pause?: LanePause };

export type NextStepSettings = RetryPolicy & Pick<RunOptions, 'maxRedirects' | 'locationTrusted'>;

/**
 * What follows an attempt (or a redirect hop) of `job` that ended in `outcome`, whose `hints` were
 * read once for the lane pacing and this decision alike; `now` dates any pause.
 */
export function decideNextStep(job: Job, outcome: AttemptOutcome, hints: AnswerHints, settings: NextStepSettings, now: number, random: () => number): NextStep {
  if (outcome.kind === 'failure' && outcome.code === 'INTERRUPTED') return { kind: 'interrupted' };
  if (outcome.kind === 'response' && settings.maxRedirects > 0 && REDIRECT_STATUSES.has(outcome.status)) {
    const location = firstHeaderValue(outcome.headers.location);
    if (location === undefined)
      return { kind: 'finish', failure: { code: 'BAD_REDIRECT', what: `${outcome.status} redirect without a Location` }, final: true };
    const step = nextHop(job.request, outcome.status, location, job.hops, settings.maxRedirects, job.visited, settings.locationTrusted);
    if (step.kind === 'stop') return { kind: 'finish', failure: { code: step.code, what: step.message }, final: true };
    return { kind: 'redirect', request: step.request };
  }

  const decision = decideRetry(outcome, hints, job.attempts, job.plan.method, settings, random);
  if (!decision.retry) {
    if (decision.code === 'RETRY_AFTER_TOO_LONG') {
      const waitMs = decision.waitMs ?? 0;
      return {
        kind: 'finish',
        failure: waitTooLong(`${describeOutcome(outcome)},`, waitMs),
        final: false,
        pause: { untilMs: now + waitMs, delayMs: waitMs, source: 'server', reason: describeOutcome(outcome) },
      };
    }
    const { hostPause } = decision;
    const pause = hostPause && { untilMs: now + hostPause.delayMs, delayMs: hostPause.delayMs, source: hostPause.source, reason: hostPause.reason };
    return { kind: 'finish', failure: null, final: decision.final, pause };
  }
  const { delayMs, source, reason } = decision;
  return { kind: 'retry', delayMs, source, reason, pause: decision.pauseHost ? { untilMs: now + delayMs, delayMs, source, reason } : undefined };
}
