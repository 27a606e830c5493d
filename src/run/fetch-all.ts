/**
 * `fetchAll(input, options, hooks)`: the pipeline as one call. It yields one record per input,
 * in completion order; the CLI is a thin layer over it.
 */
import type { Dispatcher } from 'undici';
import { createDispatcher } from '../http/agent.js';
import type { RunEventListener } from '../events.js';
import { attempt, type AttemptRequest } from '../http/attempt.js';
import { applyRunRate } from '../rate/pacing-margin.js';
import { TokenBucketLimiter, systemClock, type Clock, type Limiter } from '../rate/limiter.js';
import { resolveOptions, type RunOptions } from '../options.js';
import { parseExpectStatus, type ResponseChecks } from '../record/checks.js';
import { createPlanner, planAll, type InputSource, type PlannedRequest, type PlanResult } from '../plan/planner.js';
import type { FetchRecord } from '../record/record.js';
import { createRunRedactor, type Redactor } from '../record/redact.js';
import { UsageError } from '../errors.js';
import { commandSource } from '../auth/auth-command.js';
import { AuthError } from '../auth/grant.js';
import { clientCredentialsSource } from '../auth/oauth2.js';
import { RunCredentials } from '../auth/run-credentials.js';
import { schedule } from './scheduler.js';
import type { PageContinuation } from './pages.js';
import { systemTimers } from './timers.js';
import { connectionsToWarm, warmFirstOrigin } from './warm-up.js';
import { createSharedGate } from './shared-gate.js';
import type { RedisLimiter } from '../rate/shared-limiter.js';
import type { StreamLaneReporter } from './lane-report-stream.js';
import type { ResponseCache } from '../cache/response-cache.js';
import { saveStage, type SavedFilesResume } from './save-stage.js';

export interface RunHooks {
  /** Receives every RunEvent (progress, stats, verbose logging). */
  onEvent?: RunEventListener;
  /** Aborting it stops the run gracefully: unfinished inputs get INTERRUPTED records. */
  signal?: AbortSignal;
  /** An undici dispatcher to send through (tests inject one with a failing DNS lookup). */
  dispatcher?: Dispatcher;
  limiter?: Limiter;
  clock?: Clock;
  random?: () => number;
  /**
   * Called once per input, in line order, before anything is done with it. An input it returns
   * true for is not fetched and gets no record (--resume: `loadResume(path).isDone`).
   */
  skip?: (plan: PlanResult) => boolean;
  /**
   * A limiter in Redis that other processes share (issue #25): the run's fixed rates and the
   * pauses it is told go there too, and each request waits for its word before it goes out.
   */
  shared?: RedisLimiter;
  /**
   * With `shared`: where the lanes report to the coordinator's rate controllers, one per lane
   * for every process of the run, whose rates the shared limiter holds (issue #25).
   */
  laneReports?: StreamLaneReporter;
  /** Where --auth-command's own messages (its stderr) go. @default process.stderr */
  authStderr?: NodeJS.WritableStream;
  /**
   * With pagination, called once per input that is fetched: where an earlier run left it, so
   * it goes on from the page after (--resume: `loadResume(path).continuationOf`).
   */
  resumePages?: (plan: PlannedRequest) => PageContinuation | undefined;
  /**
   * --save with --resume: what an earlier run left in the save directory. Its stale temporary
   * files are removed at the start, and an input about to be fetched whose file is already at
   * its path gets its record from that file, with no request (the run that wrote it died
   * before its record), unless `isChanged(path)` says an earlier record saw another size there.
   */
  savedFiles?: SavedFilesResume;
}

export async function* fetchAll(input: InputSource, partial: Partial<RunOptions> = {}, hooks: RunHooks = {}): AsyncGenerator<FetchRecord> {
  const options = resolveOptions(partial);
  // Both may throw a UsageError: before anything is opened.
  const planner = createPlanner(options);
  const checks = await compileChecks(options);
  const redactor = createRunRedactor(options.headers, options.redactParams, options.secretHeaders);
  const clock = hooks.clock ?? systemClock;
  const local = hooks.limiter ?? new TokenBucketLimiter(clock);
  const gate = hooks.shared === undefined ? undefined : createSharedGate(local, hooks.shared, clock, hooks.laneReports);
  const limiter = gate?.limiter ?? local;
  applyRunRate(limiter, options);
  // As curl: http:// URLs go to an http proxy in absolute form; only https:// needs a CONNECT
  // tunnel (many proxies allow CONNECT to port 443 alone).
  const own =
    hooks.dispatcher === undefined
      ? createDispatcher({ connections: options.concurrency, http2: options.http2, caCertificates: options.caCertificates })
      : undefined;
  const dispatcher = own?.dispatcher ?? hooks.dispatcher!;
  const spares = own?.spares;
  // With --cache the first inputs may all be answered from disk: no connections opened ahead for them.
  const warmCount = spares === undefined || options.cacheDir !== undefined ? 0 : connectionsToWarm(options);
  const settings = {
    dispatcher,
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    bodyFormat: options.bodyFormat,
    followRedirects: options.maxRedirects > 0,
    keepRawBody: options.cacheDir !== undefined,
  };

  const credentials = credentialsFor(options, { dispatcher, now: () => clock.now(), redactor, stderr: hooks.authStderr });
  let cache: ResponseCache | undefined;
  try {
    // A cache directory that cannot be made or written is a usage error (exit 2), before any request.
    // Loaded only for --cache: cacache and http-cache-semantics cost every other run 50-80 ms of start-up.
    if (options.cacheDir !== undefined) cache = await (await import('../cache/response-cache.js')).openResponseCache(options, redactor);
    // Made before anything is fetched: a save directory that cannot be made stops the run (exit 74).
    const save = options.save === undefined ? undefined : await saveStage(options.save, options.maxFileBytes, checks, redactor, hooks.savedFiles);
    const sendOne = (request: AttemptRequest, hardStop: AbortSignal, mayGoOnTheWire: () => boolean, saveTo: string | undefined) =>
      attempt(request, settings, { signal: hardStop, mayGoOnTheWire, saveBody: saveTo === undefined ? undefined : save?.bodyFor(saveTo) });
    if (credentials !== undefined) {
      // The first credential before the first request: a source that fails now is a usage error (exit 2).
      await credentials.ready().catch((error: unknown) => {
        throw error instanceof AuthError ? new UsageError(`no credential to start with: ${redactor.text(error.message)}.`) : error;
      });
    }
    const planned = planAll(input, planner);
    const plans = hooks.skip ? withoutSkipped(planned, hooks.skip) : planned;
    yield* schedule(
      spares !== undefined && warmCount > 0 ? warmFirstOrigin(plans, spares, warmCount, options.timeoutMs) : plans,
      options,
      {
        checks,
        limiter,
        clock,
        timers: systemTimers,
        redactor,
        random: hooks.random ?? Math.random,
        emit: hooks.onEvent ?? (() => undefined),
        credentials,
        laneReporter: gate === undefined ? undefined : hooks.laneReports,
        resumePages: hooks.resumePages,
        cache,
        beforeFetch: save?.beforeFetch,
        waitToStart: gate?.startWhenAllowed,
        send:
          gate === undefined
            ? (request, hardStop, mayGoOnTheWire, _ticket, saveTo) => sendOne(request, hardStop, mayGoOnTheWire, saveTo)
            : async (request, hardStop, mayGoOnTheWire, ticket, saveTo) => {
                let outcome: Awaited<ReturnType<typeof sendOne>> | undefined;
                try {
                  outcome = await sendOne(request, hardStop, mayGoOnTheWire, saveTo);
                  return outcome;
                } finally {
                  gate.settled(ticket ?? [], outcome ?? { kind: 'held' });
                }
              },
      },
      hooks.signal,
    );
  } finally {
    await cache?.close();
    spares?.close();
    if (own !== undefined) await dispatcher.destroy().catch(() => undefined);
  }
}

async function* withoutSkipped(plans: AsyncIterable<PlanResult>, skip: (plan: PlanResult) => boolean): AsyncGenerator<PlanResult> {
  for await (const plan of plans) if (!skip(plan)) yield plan;
}

/** The run's credential source, when it has one (--auth-command, --oauth2-token-url). */
function credentialsFor(
  options: RunOptions,
  context: { dispatcher: Dispatcher; now: () => number; redactor: Redactor; stderr: NodeJS.WritableStream | undefined },
): RunCredentials | undefined {
  const onSecret = (value: string) => context.redactor.value(value);
  const settings = { ttlMs: options.authTtlMs, now: context.now, onSecret };
  if (options.authCommand !== undefined) {
    return new RunCredentials(
      commandSource(options.authCommand, { timeoutMs: AUTH_COMMAND_TIMEOUT_MS, env: process.env, stderr: context.stderr ?? process.stderr }),
      settings,
    );
  }
  if (options.oauth2 !== undefined) {
    onSecret(options.oauth2.clientSecret);
    return new RunCredentials(
      clientCredentialsSource(options.oauth2, { dispatcher: context.dispatcher, timeoutMs: options.timeoutMs, now: context.now }),
      settings,
    );
  }
  return undefined;
}

const AUTH_COMMAND_TIMEOUT_MS = 60_000;

/** What the checks of a run are: the expected statuses and the schema, compiled once. */
async function compileChecks(options: RunOptions): Promise<ResponseChecks> {
  const checks: ResponseChecks = {};
  if (options.expectStatus !== undefined) checks.expectStatus = parseExpectStatus(options.expectStatus);
  if (options.schema !== undefined) {
    // ajv takes about 0.1 s to load: only a run with a schema pays for it.
    const { compileSchema } = await import('../record/schema.js');
    checks.validate = compileSchema(options.schema.document, options.schema.source);
  }
  return checks;
}
