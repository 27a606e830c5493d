/**
 * Where the run's credential goes (--auth-command, --oauth2-token-url): on every request to the
 * input's own origin, as a redirect keeps Authorization only there (unless --location-trusted),
 * replacing a header of the same name the input or -H gave.
 */
import type { Credential } from '../auth/run-credentials.js';
import type { AttemptRequest } from '../http/attempt.js';
import type { Job } from './job.js';

export function carriesCredential(job: Job, locationTrusted: boolean): boolean {
  return locationTrusted || job.request.url.origin === job.plan.url.origin;
}

export function withCredential(request: AttemptRequest, credential: Credential): AttemptRequest {
  const name = credential.name.toLowerCase();
  return { ...request, headers: [...request.headers.filter(([each]) => each.toLowerCase() !== name), [credential.name, credential.value]] };
}

/** A 401 to a request that carried a credential, not yet sent again: the credential, not the input, was refused. */
export function isStaleCredential(job: Job, status: number | null): boolean {
  return status === 401 && job.credential !== undefined && !job.sentAfter401;
}
