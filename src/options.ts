import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { parseLimitRule } from './rate/limit-rules.js';
import { parseBodyPath, type Paging } from './http/next-page.js';
import { compileSaveTemplate } from './plan/save-path.js';
import { batchingOf } from './plan/batching.js';

export type BodyFormat = 'auto' | 'json' | 'text' | 'base64' | 'none';

/** Everything a run needs, validated, with units in the names. */
export interface RunOptions {
  /** Request starts per second for the whole run; with `autoRate`, the ceiling. @default Infinity (no cap) */
  rps: number;
  /** Find the rate: start at 8/s and climb until the server pushes back (--rps auto). @default false */
  autoRate: boolean;
  /** Starts per second per host (hostname and port). @default Infinity */
  hostRps: number;
  /** Requests in flight per host at most. @default Infinity */
  hostConcurrency: number;
  /** `PATTERN=RATE[,CONCURRENCY]` rules for a host or route (see src/limit-rules.ts). */
  limits: string[];
  /** Starts allowed back to back (token-bucket depth). @default max(1, rps × 20 ms) */
  burst: number;
  /** Requests on the wire at most. @default 8 */
  concurrency: number;
  /** Whole attempt, connect to last body byte. @default 30_000 */
  timeoutMs: number;
  /** Offer HTTP/2 to https origins (ALPN); an origin that declines gets HTTP/1.1. @default false */
  http2: boolean;
  /** More certificate authorities to trust for https, as PEM text, on top of the system's. */
  caCertificates: string | undefined;
  /** @default 'GET' */
  method: string;
  /** Run-wide request headers, in the order given. */
  headers: Array<[name: string, value: string]>;
  /** Request body sent with every request. */
  body: string | Uint8Array | undefined;
  /** @default 'ratefetch/<version>' */
  userAgent: string;
  /** Hops followed; 0 means a 3xx is the final answer. @default 5 */
  maxRedirects: number;
  /** Keep Authorization, Cookie and Proxy-Authorization on a redirect to another origin (curl's --location-trusted). @default false */
  locationTrusted: boolean;
  /** @default 'auto' */
  bodyFormat: BodyFormat;
  /** Cap on the decoded body. @default 10 MiB */
  maxBodyBytes: number;
  /** Put response headers in each record. @default false */
  includeHeaders: boolean;
  /** Retries per input after the first attempt. @default 5 */
  retries: number;
  /** Cap on computed backoff. @default 60_000 */
  maxBackoffMs: number;
  /** A server-given wait longer than this fails the record. @default 600_000 */
  maxRetryAfterMs: number;
  /** First backoff step before jitter; doubles each retry. @default 1_000 */
  backoffBaseMs: number;
  /**
   * Inputs read but not yet recorded, at most. Reading goes this far ahead only while jobs wait
   * that cannot start (a paused host, a rate): with every slot busy, 256 jobs wait ready (or
   * --concurrency, if more). @default 2_000
   */
  readAhead: number;
  /** How long in-flight requests may finish after an interrupt. @default 2_000 */
  graceMs: number;
  /** Extra query parameter names to redact, on top of the built-in list. */
  redactParams: string[];
  /** Header names whose values are secret on top of the built-in list (Authorization, Cookie, …). */
  secretHeaders: string[];
  /** Header names whose values are sent as given, never filled from {placeholders}. */
  literalHeaders: string[];
  /** URL template with `{name}` placeholders and `{}` for the whole line. */
  template: string | undefined;
  /** Fetch identical requests (same key) once; duplicates copy the result. @default false */
  dedupe: boolean;
  /** Statuses that count as ok, e.g. '200,404' or '2xx'. @default 2xx */
  expectStatus: string | undefined;
  /** A JSON Schema every JSON body must match, and the file it came from (for messages). */
  schema: { document: unknown; source: string } | undefined;
  /** Requests sent at most, retries and redirect hops included. @default Infinity */
  maxRequests: number;
  /** Stop when more than this fraction of the last 100 attempts failed (from 20 on). @default undefined (off) */
  maxErrorRate: number | undefined;
  /** Stop after this many connection failures in a row; 0 turns it off. @default 20 */
  maxConnectionFailures: number;
  /** A shell command whose stdout is a token or a header line, run at the start, after a 401 and every `authTtlMs`. */
  authCommand: string | undefined;
  /** Ask for a fresh credential this often, besides after a 401 and the token's own expiry. */
  authTtlMs: number | undefined;
  /** OAuth 2.0 client credentials: the token endpoint, the client's id and secret, and a scope. */
  oauth2: { tokenUrl: string; clientId: string; clientSecret: string; scope?: string } | undefined;
  /** Follow each input's `Link: <…>; rel="next"` to its next page (--paginate). @default false */
  paginate: boolean;
  /** Where the next page's URL is in the JSON body, as `.paging.next` (--next). */
  nextPath: string | undefined;
  /** `PARAM=PATH`: the cursor at PATH in the body goes into query parameter PARAM of the input's request (--cursor). */
  cursor: string | undefined;
  /** Pages fetched per input at most, with --paginate, --next or --cursor. @default Infinity */
  maxPages: number;
  /** Keep answers in this directory between runs and reuse them by the HTTP caching rules (--cache). @default undefined (no cache) */
  cacheDir: string | undefined;
  /** With `cacheDir`: how long an answer that states no freshness of its own counts as fresh. @default undefined (it is revalidated or fetched again) */
  cacheMaxAgeMs: number | undefined;

  // Batch endpoints (--batch, issue #28): see plan/batching.ts.
  /** Distinct input values sent in one request at most (1 to 1000); they fill the template's one placeholder, joined. @default undefined (a request per input) */
  batch: number | undefined;
  /** What joins the values of a batch, after each is encoded for its place. @default ',' */
  batchJoin: string | undefined;
  /** Where the array of answers is in a batch's JSON body, as `.tracks` (`.` for the body itself). */
  batchSplit: string | undefined;
  /** Where each answer's key is, as `.id`: it is matched, as a string, to the value its input sent. */
  batchKey: string | undefined;
  /** Write each accepted body to its own file at this path template (`covers/{id}.jpg`) instead of into the record (--save). */
  save: string | undefined;
  /** With `save`: a body larger than this is not saved (FILE_TOO_LARGE). @default Infinity */
  maxFileBytes: number;
}

// Read at run time from the package's own package.json, one level up from both src/ (tsx) and
// dist/ (compiled), so a release bumps the version in one place.
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// Timers fire at 1 ms granularity at best, so a depth-1 bucket cannot reach high rates:
// the default burst covers 20 ms of starts.
const BURST_WINDOW_MS = 20;

/** The options that are lists: frozen empty in DEFAULTS, copied afresh into each run's options. */
type ListOption = 'limits' | 'headers' | 'redactParams' | 'secretHeaders' | 'literalHeaders';

/**
 * Every option's default but `burst`'s, which follows `rps` (defaultBurst). Frozen, lists
 * included: a library caller cannot change the defaults of every later run in the process.
 */
export const DEFAULTS: Readonly<Omit<RunOptions, 'burst' | ListOption> & { [K in ListOption]: Readonly<RunOptions[K]> }> = Object.freeze({
  rps: Infinity,
  autoRate: false,
  hostRps: Infinity,
  hostConcurrency: Infinity,
  limits: Object.freeze([]),
  concurrency: 8,
  timeoutMs: 30_000,
  http2: false,
  caCertificates: undefined,
  method: 'GET',
  headers: Object.freeze([]),
  body: undefined,
  userAgent: `ratefetch/${VERSION}`,
  maxRedirects: 5,
  locationTrusted: false,
  bodyFormat: 'auto',
  maxBodyBytes: 10 * 1024 * 1024,
  includeHeaders: false,
  retries: 5,
  maxBackoffMs: 60_000,
  maxRetryAfterMs: 600_000,
  backoffBaseMs: 1_000,
  readAhead: 2_000,
  graceMs: 2_000,
  redactParams: Object.freeze([]),
  secretHeaders: Object.freeze([]),
  literalHeaders: Object.freeze([]),
  template: undefined,
  dedupe: false,
  expectStatus: undefined,
  schema: undefined,
  maxRequests: Infinity,
  maxErrorRate: undefined,
  maxConnectionFailures: 20,
  authCommand: undefined,
  authTtlMs: undefined,
  oauth2: undefined,
  paginate: false,
  nextPath: undefined,
  cursor: undefined,
  maxPages: Infinity,
  cacheDir: undefined,
  cacheMaxAgeMs: undefined,
  batch: undefined,
  batchJoin: undefined,
  batchSplit: undefined,
  batchKey: undefined,
  save: undefined,
  maxFileBytes: Infinity,
});

export function defaultBurst(rps: number): number {
  return Number.isFinite(rps) ? Math.max(1, Math.floor((rps * BURST_WINDOW_MS) / 1000)) : 1;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const BODY_FORMATS: readonly BodyFormat[] = ['auto', 'json', 'text', 'base64', 'none'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Fills defaults and validates once; throws UsageError naming the option and the value. */
export function resolveOptions(partial: Partial<RunOptions> = {}): RunOptions {
  const merged = { ...DEFAULTS, ...stripUndefined(partial) };
  const options: RunOptions = {
    ...merged,
    limits: [...merged.limits],
    headers: [...merged.headers],
    redactParams: [...merged.redactParams],
    secretHeaders: [...merged.secretHeaders],
    literalHeaders: [...merged.literalHeaders],
    burst: partial.burst ?? defaultBurst(merged.rps),
  };

  expectPositive('rps', options.rps);
  expectInteger('burst', options.burst, 1);
  expectInteger('concurrency', options.concurrency, 1);
  expectPositive('hostRps', options.hostRps);
  if (options.hostConcurrency !== Infinity) expectInteger('hostConcurrency', options.hostConcurrency, 1);
  options.limits.forEach(parseLimitRule); // throws a UsageError naming the bad rule
  expectPositive('timeoutMs', options.timeoutMs);
  expectInteger('maxRedirects', options.maxRedirects, 0);
  expectInteger('maxBodyBytes', options.maxBodyBytes, 0);
  expectInteger('retries', options.retries, 0);
  expectNonNegative('maxBackoffMs', options.maxBackoffMs);
  expectNonNegative('maxRetryAfterMs', options.maxRetryAfterMs);
  // Node timers hold at most 2^31-1 ms (about 24 days); a longer one fires at once.
  if (options.maxRetryAfterMs > MAX_TIMER_MS || options.maxBackoffMs > MAX_TIMER_MS) {
    throw new UsageError('Expected `maxRetryAfterMs` (--max-retry-after) and `maxBackoffMs` (--max-backoff) to be at most 24 days.');
  }
  expectNonNegative('backoffBaseMs', options.backoffBaseMs);
  expectInteger('readAhead', options.readAhead, 1);
  expectNonNegative('graceMs', options.graceMs);
  if (options.maxRequests !== Infinity) expectInteger('maxRequests', options.maxRequests, 1);
  expectInteger('maxConnectionFailures', options.maxConnectionFailures, 0);
  if (options.maxErrorRate !== undefined && !(options.maxErrorRate >= 0 && options.maxErrorRate < 1)) {
    throw new UsageError(`Expected \`maxErrorRate\` (--max-error-rate) to be a fraction from 0 up to (not including) 1, got \`${options.maxErrorRate}\`.`);
  }
  if (!TOKEN.test(options.method)) {
    throw new UsageError(`Expected \`method\` to be an HTTP method token, got \`${options.method}\`.`);
  }
  options.method = options.method.toUpperCase();
  if (!BODY_FORMATS.includes(options.bodyFormat)) {
    throw new UsageError(`Expected \`bodyFormat\` to be one of ${BODY_FORMATS.join(', ')}, got \`${options.bodyFormat}\`.`);
  }
  if (options.schema !== undefined && options.bodyFormat !== 'auto' && options.bodyFormat !== 'json') {
    throw new UsageError(
      `Expected \`bodyFormat\` (--body-format) to be auto or json with a schema, got \`${options.bodyFormat}\`: the schema checks parsed JSON bodies.`,
    );
  }
  if (options.caCertificates !== undefined && !options.caCertificates.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError('Expected `caCertificates` (--cacert) to hold PEM certificates (-----BEGIN CERTIFICATE-----).');
  }
  for (const [name] of options.headers) {
    if (!TOKEN.test(name)) throw new UsageError(`Expected a header name, got \`${name}\`.`);
  }
  checkAuth(options);
  pagingOf(options); // throws a UsageError naming the flag
  if (options.maxPages !== Infinity) expectInteger('maxPages', options.maxPages, 1);
  checkCache(options);
  batchingOf(options); // throws a UsageError naming the flag
  checkSave(options);
  return options;
}

/** --cache and --cache-max-age (issue #28). */
function checkCache(options: RunOptions): void {
  if (options.cacheMaxAgeMs !== undefined) {
    if (options.cacheDir === undefined) throw new UsageError('--cache-max-age goes with --cache.');
    expectNonNegative('cacheMaxAgeMs', options.cacheMaxAgeMs);
    if (!Number.isFinite(options.cacheMaxAgeMs))
      throw new UsageError(`Expected \`cacheMaxAgeMs\` (--cache-max-age) to be a finite number, got \`${options.cacheMaxAgeMs}\`.`);
  }
  if (options.cacheDir === undefined) return;
  if (typeof options.cacheDir !== 'string' || options.cacheDir.trim() === '') throw new UsageError('Expected `cacheDir` (--cache) to be a directory.');
  // A page's URL comes from the page before: a stored page would lead on from an old answer.
  if (pagingOf(options) !== undefined)
    throw new UsageError('--cache does not go with --paginate, --next or --cursor: each page depends on the answer before it.');
  // A batch's answer belongs to the inputs that happened to share the request.
  if (options.batch !== undefined)
    throw new UsageError("--cache does not go with --batch: a batch's answer is cut apart among the inputs that shared its request.");
}

/** --save writes one whole file per input: what needs a body in memory, or many records per input, cannot go with it. */
function checkSave(options: RunOptions): void {
  if (options.save === undefined) {
    if (options.maxFileBytes !== Infinity) throw new UsageError('--max-filesize goes with --save.');
    return;
  }
  compileSaveTemplate(options.save); // throws a UsageError naming what is wrong
  if (options.maxFileBytes !== Infinity) expectInteger('maxFileBytes', options.maxFileBytes, 0);
  const paging = pagingOf(options);
  const clash = [
    paging !== undefined && `${paging.kind === 'link' ? '--paginate' : paging.kind === 'next' ? '--next' : '--cursor'} makes a record per page`,
    options.dedupe && '--dedupe copies one result to many inputs',
    options.schema !== undefined && '--schema checks a body held in memory',
    options.batch !== undefined && '--batch cuts one answer apart among many inputs',
    options.cacheDir !== undefined && '--cache keeps each body whole to store it',
  ].find(Boolean);
  if (clash) throw new UsageError(`--save writes one file per input's body, and ${clash}: use one of them.`);
}

/** How the run finds each input's next page, or undefined when it fetches one page per input. */
export function pagingOf(options: Pick<RunOptions, 'paginate' | 'nextPath' | 'cursor' | 'maxPages'>): Paging | undefined {
  const given = [options.paginate && '--paginate', options.nextPath !== undefined && '--next', options.cursor !== undefined && '--cursor'].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${given.join(' and ')} each say where the next page is: use one of them.`);
  if (options.nextPath !== undefined) {
    const path = parseBodyPath(options.nextPath);
    if (path === undefined)
      throw new UsageError(`Expected \`nextPath\` (--next) to be a path into the JSON body such as .paging.next, got \`${options.nextPath}\`.`);
    return { kind: 'next', path, text: options.nextPath };
  }
  if (options.cursor !== undefined) {
    const at = options.cursor.indexOf('=');
    const param = at === -1 ? '' : options.cursor.slice(0, at).trim();
    const path = at === -1 ? undefined : parseBodyPath(options.cursor.slice(at + 1).trim());
    if (param === '' || path === undefined) {
      throw new UsageError(`Expected \`cursor\` (--cursor) to be PARAM=PATH such as cursor=.meta.next_cursor, got \`${options.cursor}\`.`);
    }
    return { kind: 'cursor', param, path, text: options.cursor.slice(at + 1).trim() };
  }
  if (options.paginate) return { kind: 'link' };
  if (options.maxPages !== Infinity) throw new UsageError('--max-pages goes with --paginate, --next or --cursor.');
  return undefined;
}

function checkAuth(options: RunOptions): void {
  if (options.authCommand !== undefined && options.oauth2 !== undefined) {
    throw new UsageError('--auth-command and --oauth2-token-url both give the credential: use one of them.');
  }
  if (options.authCommand !== undefined && options.authCommand.trim() === '') throw new UsageError('Expected `authCommand` (--auth-command) to be a command.');
  if (options.authTtlMs !== undefined) {
    expectPositive('authTtlMs', options.authTtlMs);
    if (options.authCommand === undefined && options.oauth2 === undefined) throw new UsageError('--auth-ttl goes with --auth-command or --oauth2-token-url.');
  }
  if (options.oauth2 !== undefined) {
    if (!/^https?:\/\//i.test(options.oauth2.tokenUrl) || !URL.canParse(options.oauth2.tokenUrl)) {
      throw new UsageError(`Expected \`oauth2.tokenUrl\` (--oauth2-token-url) to be an http(s) URL, got \`${options.oauth2.tokenUrl}\`.`);
    }
    if (options.oauth2.clientId === '')
      throw new UsageError('--oauth2-token-url needs the client id: --oauth2-client-id, or OAUTH2_CLIENT_ID in the environment.');
    if (options.oauth2.clientSecret === '') {
      throw new UsageError('--oauth2-token-url needs the client secret: OAUTH2_CLIENT_SECRET in the environment, or --oauth2-client-secret-file.');
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function expectPositive(name: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new UsageError(`Expected \`${name}\` to be a number above 0, got \`${value}\`.`);
  }
}

function expectNonNegative(name: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new UsageError(`Expected \`${name}\` to be a number of 0 or more, got \`${value}\`.`);
  }
}

function expectInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`Expected \`${name}\` to be a whole number of ${min} or more, got \`${value}\`.`);
  }
}
