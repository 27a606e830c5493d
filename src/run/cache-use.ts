/**
 * --cache in the run loop (src/cache/ decides): a stale stored answer sends the input's request
 * with its validators (If-None-Match, If-Modified-Since), and a 304 to that request, not to a
 * redirect hop, confirms the stored answer.
 */
import type { AttemptRequest } from '../http/attempt.js';
import type { AttemptOutcome, ResponseOutcome } from '../http/outcome.js';
import type { StaleAnswer } from '../cache/response-cache.js';
import type { Job } from './job.js';

/** The job asks the server whether its stored answer changed. */
export function revalidate(job: Job, answer: StaleAnswer, validators: ReadonlyArray<readonly [string, string]>): void {
  job.revalidating = answer;
  job.start = withValidators(job.start, validators);
  job.request = job.start;
}

/** The job asks for the whole answer again: the stored one is gone. */
export function askInFull(job: Job): void {
  job.revalidating = undefined;
  job.start = { ...job.start, headers: job.plan.headers };
  job.request = job.start;
}

/** The request with the validators in place of any header of the same name. */
export function withValidators(request: AttemptRequest, validators: ReadonlyArray<readonly [string, string]>): AttemptRequest {
  const names = new Set(validators.map(([name]) => name));
  const headers = request.headers.filter(([name]) => !names.has(name.toLowerCase()));
  return { ...request, headers: [...headers, ...validators.map(([name, value]): [string, string] => [name, value])] };
}

/** A 304 that answers the validators the job sent. */
export function confirmsStored(job: Job, outcome: AttemptOutcome): outcome is ResponseOutcome {
  return job.revalidating !== undefined && job.hops === 0 && outcome.kind === 'response' && outcome.status === 304;
}
