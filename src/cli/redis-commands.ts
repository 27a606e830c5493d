/**
 * The commands of a run shared through Redis (issue #25), beside the coordinator that
 * `ratefetch <input> --redis … --name …` is:
 *   worker  joins the run: reads its settings from Redis, takes the secrets from its own -H and
 *           environment, fetches until the run is over;
 *   status  what the run is doing: jobs waiting and held, workers, shared rates and pauses;
 *   clean   removes the run from Redis.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { resolveOptions } from '../options.js';
import { systemClock } from '../rate/limiter.js';
import { RedisLimiter } from '../rate/shared-limiter.js';
import { StreamLaneReporter } from '../run/lane-report-stream.js';
import { createRedactor } from '../record/redact.js';
import { formatVerboseLine } from '../report/verbose.js';
import { formatLimit } from '../text.js';
import { connect, shownRedis } from '../run/coordinator.js';
import { startPipelineWorker } from '../run/queue-pipeline.js';
import { AttemptCounter } from '../run/shared-counts.js';
import { checkRunName, cleanRun, readRun, readStop, runStatus, sayStop, type RunStatus } from '../run/redis-run.js';
import { workerOptions } from '../run/run-settings.js';
import { EXIT, type CliIo } from './cli-io.js';
import { readHeaders } from './flags-to-options.js';
import { parseArgs } from './parse-args.js';
import { collect, nonNegativeNumber, wholeNumber } from './program.js';
import { exitCodeFor, listenForStop } from './signals.js';

interface CommandFlags {
  redis: string;
  name: string;
  concurrency?: number;
  header?: string[];
  envHeaders?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  json?: boolean;
  wait: number;
}

const WATCH_MS = 500;

export async function runRedisCommand(command: 'worker' | 'status' | 'clean', argv: string[], io: CliIo): Promise<number> {
  const program = new Command(`ratefetch ${command}`)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: () => undefined })
    .helpOption('-h, --help', 'show this help and exit')
    .allowExcessArguments(false)
    .requiredOption('--redis <url|socket>', 'the Redis the run is in (redis://host:6379 or a unix socket path)')
    .requiredOption('--name <name>', 'the run, as its coordinator named it');
  if (command === 'worker') {
    program
      .description('Join a run shared through Redis and fetch its inputs until it is over.')
      .addOption(new Option('-c, --concurrency <n>', "requests in flight at most (default: the run's)").argParser(wholeNumber(1)))
      .addOption(
        new Option('-H, --header <header>', "a header this worker sends, 'Name: value' or @file: the run's secret headers come from here").argParser(collect),
      )
      .addOption(new Option('--env-headers', 'expand $NAME and ${NAME} in -H values from the environment'))
      .addOption(new Option('--wait <seconds>', 'seconds to wait for the run to appear in Redis, 0 for not at all').default(60).argParser(nonNegativeNumber))
      .addOption(new Option('-q, --quiet', 'print nothing on stderr but fatal errors'))
      .addOption(new Option('-v, --verbose', 'one line per retry and pause'));
  } else if (command === 'status') {
    program.description('Show what a run shared through Redis is doing.').addOption(new Option('--json', 'one JSON object on stdout instead of text'));
  } else {
    program.description('Remove a run from Redis: its queue, settings, unwritten records and shared limits.');
  }
  if (parseArgs(program, argv, `${command}: `)) return EXIT.ok;
  const flags = program.opts<CommandFlags>();
  checkRunName(flags.name);
  if (command === 'worker') return work(flags, io);
  const redis = await connect(flags.redis);
  try {
    const connection = flags.redis.includes('://') ? { url: flags.redis } : { path: flags.redis };
    if (command === 'clean') {
      const keys = await cleanRun(redis, connection, flags.name);
      io.stderr.write(
        keys === 0 ? `ratefetch: no run named ${flags.name} in Redis; nothing to clean.\n` : `ratefetch: removed run ${flags.name} from Redis.\n`,
      );
      return EXIT.ok;
    }
    const status = await runStatus(redis, connection, flags.name);
    if (status === undefined) {
      io.stderr.write(`ratefetch: no run named ${flags.name} in Redis (a run that ended whole removes itself).\n`);
      return EXIT.notOk;
    }
    io.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
    return EXIT.ok;
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

/** `ratefetch worker`: fetch the run's inputs until the run is over, stopped, or this process is told to stop. */
async function work(flags: CommandFlags, io: CliIo): Promise<number> {
  const own = readHeaders(flags.header ?? [], flags.envHeaders === true ? io.env : undefined);
  const redis = await connect(flags.redis);
  const say = (line: string) => {
    if (!flags.quiet) io.stderr.write(`${line}\n`);
  };
  let stopCode: number | undefined;
  const stopListening = listenForStop(io.signals, (signal) => {
    if (stopCode !== undefined) process.exit(stopCode); // a second signal: the jobs held go back to the queue
    stopCode = exitCodeFor(signal);
    say(`ratefetch worker: ${signal}, finishing the inputs this worker holds (${signal === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to hand them back now)…`);
  });
  try {
    // Hosts come up in any order: a worker may well start before its coordinator.
    let run = await readRun(redis, flags.name);
    const waitUntil = Date.now() + flags.wait * 1000;
    if (run === undefined && flags.wait > 0) say(`ratefetch worker: waiting up to ${flags.wait} s for run ${flags.name} to start…`);
    while (run === undefined && Date.now() < waitUntil && stopCode === undefined) {
      await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
      run = await readRun(redis, flags.name);
    }
    if (stopCode !== undefined) return stopCode;
    if (run === undefined) {
      throw new UsageError(
        `no run named ${flags.name} in Redis at ${shownRedis(flags.redis)}: start it with 'ratefetch <input> --redis … --name ${flags.name}'.`,
      );
    }
    const partial = workerOptions(run.settings, { ...own, concurrency: flags.concurrency });
    const options = resolveOptions(partial);
    const stop = new AbortController();
    let breaker: string | undefined;
    const laneReports = new StreamLaneReporter(redis, flags.name, systemClock);
    const worker = startPipelineWorker(
      {
        redis: flags.redis,
        name: flags.name,
        ...(run.stalledAfterMs !== undefined && { stalledIntervalMs: run.stalledAfterMs, lockDurationMs: run.stalledAfterMs }),
      },
      partial,
      {
        shared: new RedisLimiter(redis, flags.name),
        laneReports,
        counter: new AttemptCounter(flags.name),
        signal: stop.signal,
        onEvent: (event) => {
          if (event.type === 'interrupt' && event.cause !== 'signal') {
            breaker ??= event.reason;
            void sayStop(redis, flags.name, { cause: event.cause, reason: event.reason });
          }
          if (flags.verbose && !flags.quiet) {
            const line = formatVerboseLine(event);
            if (line !== undefined) say(line);
          }
        },
      },
    );
    const redactor = createRedactor();
    say(`ratefetch worker: joined run ${flags.name} (${redactor.url(options.template ?? 'URLs from its input')}), ${options.concurrency} in flight at most.`);
    let why = 'the run is over';
    let pipelineFailed = false;
    worker.ended.catch(() => {
      pipelineFailed = true;
    });
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
      if (stopCode !== undefined) {
        why = 'stopped by a signal';
        break;
      }
      if (pipelineFailed || breaker !== undefined) break;
      const word = await readStop(redis, flags.name);
      if (word !== undefined) {
        why = `the run stopped: ${word.reason}`;
        stop.abort(word.reason);
        break;
      }
      if ((await readRun(redis, flags.name)) === undefined) break;
    }
    await worker.close();
    await laneReports.close();
    const failure = await worker.ended.then(
      () => undefined,
      (error: unknown) => error,
    );
    if (failure !== undefined) throw failure;
    if (breaker !== undefined) why = `stopped early: ${breaker}`;
    say(`ratefetch worker: ${worker.records()} records handed back; ${why}.`);
    if (stopCode !== undefined) return stopCode;
    return breaker !== undefined ? EXIT.stopped : EXIT.ok;
  } finally {
    stopListening();
    await redis.quit().catch(() => undefined);
  }
}

function describeQuota({ left, limit, endsInMs }: RunStatus['quotas'][number]): string {
  if (limit === null) return 'first answer awaited';
  const ends = endsInMs === null ? 'the window end not yet known' : `the window ends in ${(endsInMs / 1000).toFixed(1)} s`;
  return `${Math.max(0, left)} of ${limit} left, ${ends}`;
}

function formatStatus(status: RunStatus): string {
  const redactor = createRedactor();
  const lines = [
    `run ${status.name}, started ${new Date(status.startedAt).toISOString()}${status.paused ? ', stopped early (continue it with --resume)' : ''}`,
    `  fetching ${status.template === undefined ? 'the URLs of its input' : redactor.url(status.template)}`,
    `  inputs: ${status.jobs.waiting} waiting, ${status.jobs.active} being fetched, ${status.recordsUnwritten} records not yet written`,
    `  workers: ${status.workers}`,
  ];
  if (status.jobs.failed > 0) lines.push(`  failed jobs: ${status.jobs.failed}`);
  for (const rate of status.rates) if (!rate.bucket.startsWith('adaptive:')) lines.push(`  rate ${rate.bucket}: ${rate.rps}/s, burst ${rate.burst}`);
  for (const { lane, rps } of status.lanes) lines.push(`  rate now for ${lane}: ${rps === null ? 'no cap (no 429 seen yet)' : formatLimit(rps)}`);
  for (const pause of status.pauses) lines.push(`  paused ${pause.bucket}: ${(pause.remainingMs / 1000).toFixed(1)} s left`);
  for (const quota of status.quotas) lines.push(`  ${quota.bucket}: ${describeQuota(quota)}`);
  if (status.workerHeaders.length > 0) lines.push(`  each worker gives: ${status.workerHeaders.join(', ')}`);
  if (status.stop !== undefined) lines.push(`  stopping: ${redactor.text(status.stop.reason)}`);
  return `${lines.join('\n')}\n`;
}
