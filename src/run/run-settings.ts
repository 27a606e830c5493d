/**
 * What a run spread over Redis tells its workers (issue #25): the run's options as JSON, with
 * every secret left out. A header whose value is secret (Authorization, Cookie, a value read
 * from a file or the environment) goes as its name alone, and each worker must give the value
 * from its own -H or environment; a URL template or body that holds a secret is refused, since a
 * worker could not send it without Redis holding it.
 */
import { UsageError } from '../errors.js';
import type { RunOptions } from '../options.js';
import { SECRET_HEADERS } from '../plan/secrets.js';
import { createRunRedactor } from '../record/redact.js';

export interface SharedSettings {
  /** The options every worker runs with, secret header values removed. */
  options: Partial<RunOptions>;
  /** Request bodies that are bytes travel as base64. */
  bodyBase64?: string;
  /** Headers the run sends whose values each worker must give itself. */
  workerHeaders: string[];
}

/** Options that mean nothing, or something else, when many processes share the run. */
const COUNTED_ALONE = 'each worker would count on its own';
// A worker must never run a command, or send a secret, that it read from Redis.
const NOT_FROM_REDIS = 'a worker would have to run a command or send a secret read from Redis';
// The coordinator counts one record per input; a paginated input has one per page.
const PAGES_ALONE = "the run's records would count an input once per page";
// A cache directory is on one machine's disk; the workers may be on others.
const CACHE_ON_ONE_DISK = "the run's workers would each need the cache directory on their own disk";
// Workers take inputs from the queue one at a time: none gathers a batch across the others'.
const BATCHES_ALONE = 'workers take inputs one at a time and would not gather them into batches';
const NOT_SHARED: ReadonlyArray<[string, (options: Partial<RunOptions>) => boolean, string]> = [
  ['--cache', (options) => options.cacheDir !== undefined, CACHE_ON_ONE_DISK],
  ['--dedupe', (options) => options.dedupe === true, COUNTED_ALONE],
  ['--max-requests', (options) => options.maxRequests !== undefined && Number.isFinite(options.maxRequests), COUNTED_ALONE],
  ['--max-error-rate', (options) => options.maxErrorRate !== undefined, COUNTED_ALONE],
  ['--auth-command', (options) => options.authCommand !== undefined, NOT_FROM_REDIS],
  ['--oauth2-token-url', (options) => options.oauth2 !== undefined, NOT_FROM_REDIS],
  ['--paginate', (options) => options.paginate === true, PAGES_ALONE],
  ['--next', (options) => options.nextPath !== undefined, PAGES_ALONE],
  ['--cursor', (options) => options.cursor !== undefined, PAGES_ALONE],
  ['--batch', (options) => options.batch !== undefined, BATCHES_ALONE],
  // Each worker would write the files to its own disk, and the coordinator could not resume them.
  ['--save', (options) => options.save !== undefined, "each worker would write its inputs' files to its own disk"],
];

export function toSharedSettings(options: Partial<RunOptions>): SharedSettings {
  for (const [flag, given, why] of NOT_SHARED) {
    if (given(options)) throw new UsageError(`${flag} is not supported with --redis yet: ${why}.`);
  }
  const secretNames = new Set((options.secretHeaders ?? []).map((name) => name.toLowerCase()));
  const isSecret = (name: string) => SECRET_HEADERS.has(name.toLowerCase()) || secretNames.has(name.toLowerCase());
  const headers = options.headers ?? [];
  const redactor = createRunRedactor(headers, options.redactParams ?? [], options.secretHeaders ?? []);
  if (options.template !== undefined && redactor.url(options.template) !== options.template) {
    throw new UsageError(
      'the --template holds a secret (a password or a secret query value), which --redis would store in Redis in the clear: send it in a header that each worker gives from its environment.',
    );
  }
  if (typeof options.body === 'string' && redactor.text(options.body) !== options.body) {
    throw new UsageError('the request body (-d) holds what looks like a secret, which --redis would store in Redis in the clear.');
  }
  const { body, ...rest } = options;
  const shared: SharedSettings = {
    options: { ...rest, headers: headers.filter(([name]) => !isSecret(name)) },
    workerHeaders: [...new Set(headers.filter(([name]) => isSecret(name)).map(([name]) => name))],
  };
  if (typeof body === 'string') shared.options.body = body;
  else if (body !== undefined) shared.bodyBase64 = Buffer.from(body).toString('base64');
  return shared;
}

/**
 * A worker's options: the run's, with the headers the worker gives itself added (its secrets)
 * and its own concurrency. Every header the run keeps out of Redis must be among them.
 */
export function workerOptions(
  shared: SharedSettings,
  own: { headers: Array<[string, string]>; secretHeaders: string[]; concurrency: number | undefined },
): Partial<RunOptions> {
  const given = new Set(own.headers.map(([name]) => name.toLowerCase()));
  const missing = shared.workerHeaders.filter((name) => !given.has(name.toLowerCase()));
  if (missing.length > 0) {
    throw new UsageError(
      `this run sends ${missing.join(', ')}, whose value stays out of Redis: give it to this worker with -H @file or with -H '${missing[0]}: $VAR' --env-headers.`,
    );
  }
  const options: Partial<RunOptions> = {
    ...shared.options,
    headers: [...(shared.options.headers ?? []).filter(([name]) => !given.has(name.toLowerCase())), ...own.headers],
    secretHeaders: [...new Set([...(shared.options.secretHeaders ?? []), ...own.secretHeaders])],
    literalHeaders: [...new Set([...(shared.options.literalHeaders ?? []), ...own.secretHeaders])],
  };
  if (shared.bodyBase64 !== undefined) options.body = Buffer.from(shared.bodyBase64, 'base64');
  if (own.concurrency !== undefined) options.concurrency = own.concurrency;
  return options;
}
