/**
 * runCli(argv, io) → exit code. Turns flags into RunOptions, picks the sink and the reporter,
 * runs fetchAll, handles signals and maps outcomes to exit codes. No HTTP, no formatting.
 */
import { Writable } from 'node:stream';
import { OutputError, UsageError } from '../errors.js';
import type { RunEvent } from '../events.js';
import { resolveOptions, type RunOptions } from '../options.js';
import { planOnly, type PlannedLine } from '../plan/dry-run.js';
import { createPlanner } from '../plan/planner.js';
import { createStderrChalk } from '../report/color.js';
import { startPlainProgress } from '../report/progress-plain.js';
import { RunStats } from '../report/stats.js';
import { toStatsJson } from '../report/stats-json.js';
import { formatSummary } from '../report/summary.js';
import { formatVerboseLine } from '../report/verbose.js';
import { fetchAll } from '../run/fetch-all.js';
import { OutputClosed, createNdjsonSink, type RecordSink } from '../output/ndjson-sink.js';
import { EXIT, type CliIo } from './cli-io.js';
import { openOutput, openResume, resumeNote, writeStatsFile } from './files.js';
import { firstGiven, toRunOptions } from './flags-to-options.js';
import { checkPlaceholders, openItems, type ItemSource } from './sources.js';
import { buildProgram, type CliFlags } from './program.js';
import { withConfigFile } from './config-file.js';
import { parseArgs } from './parse-args.js';
import { completionScript } from './completion.js';
import { exitCodeFor, listenForStop } from './signals.js';

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let verbose = argv.includes('-v') || argv.includes('--verbose');
  // A reader that stops early (`ratefetch --help | head -1`) is no error for text we print; the
  // record sink handles it for records on its own. Any other write error still throws.
  io.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  try {
    const command = argv[0];
    if (command === 'completion') {
      if (argv.length !== 2) throw new UsageError("completion takes one shell: 'ratefetch completion bash' (or zsh, fish).");
      io.stdout.write(completionScript(argv[1]!, buildProgram()));
      return EXIT.ok;
    }
    if (command === 'report') return await (await import('./report-command.js')).runReport(argv.slice(1), io);
    if (command !== undefined && isRedisCommand(command)) {
      // Loaded only here: a one-machine run does not pay for BullMQ.
      return await (await import('./redis-commands.js')).runRedisCommand(command, argv.slice(1), io);
    }
    const program = buildProgram()
      .exitOverride()
      .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: () => undefined });
    if (parseArgs(program, withConfigFile(argv, buildProgram))) return EXIT.ok; // --help, --version
    const flags = program.opts<CliFlags>();
    verbose = flags.verbose === true;
    return await run(program.args[0], flags, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ratefetch: ${error.message}\nRun 'ratefetch --help' for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof OutputError) {
      io.stderr.write(`ratefetch: ${error.message}\n`);
      return EXIT.output;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`ratefetch: internal error: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT.internal;
  }
}

async function run(inputPath: string | undefined, flags: CliFlags, io: CliIo): Promise<number> {
  const distributed = checkRedisFlags(flags);
  const source = openItems(inputPath, flags, io);
  const partial = toRunOptions(flags, source.template, io.env);
  const options = resolveOptions(partial);
  checkPlaceholders(
    createPlanner(options).names,
    source,
    (flags.range ?? flags.values ?? []).map(({ spec }) => spec.split('=')[0] ?? ''),
  );
  if (distributed && !flags.dryRun) {
    // Before the output is opened: a run that cannot be shared, or whose name is taken, changes no file.
    (await import('../run/run-settings.js')).toSharedSettings(partial);
    await (await import('../run/coordinator.js')).checkCanCoordinate({ ...distributed, resume: flags.resume === true });
  }
  const resume = await openResume(flags, io);
  const appending = flags.append === true || resume !== undefined;
  const output = openOutput(flags.output, appending, io);
  if (flags.dryRun)
    return dryRun(source, options, createNdjsonSink<PlannedLine>(output.stream, output.name, output.owned), io.signals, () => source.stream?.destroy());
  const failedOutput = flags.failedOutput === undefined ? undefined : openOutput(flags.failedOutput, appending, io);
  const failedSink = failedOutput && createNdjsonSink(failedOutput.stream, failedOutput.name, true);

  const chalk = createStderrChalk({ isTTY: io.stderr.isTTY === true, env: io.env });
  const stats = new RunStats();
  const showBar = flags.progress ?? io.stderr.isTTY === true;
  const display =
    flags.quiet || flags.progress === false
      ? undefined
      : showBar
        ? // cli-progress takes about 40 ms to load: only a run that draws the bar pays for it.
          (await import('../report/progress-tty.js')).startTtyProgress(stats, io.stderr, { chalk })
        : startPlainProgress(stats, io.stderr);
  // Records on the terminal that shows the bar: the bar steps aside for each write of them.
  const besideBar = display?.besideBar;
  const recordStream = !output.owned && io.stdout.isTTY === true && besideBar !== undefined ? besideTheBar(output.stream, besideBar) : output.stream;
  const sink = createNdjsonSink(recordStream, output.name, output.owned);
  // Human lines go above the live bar when there is one.
  const say = (line: string) => (display ? display.log(line) : io.stderr.write(`${line}\n`));
  // Resuming, the inputs already done will not come through the run.
  Promise.resolve(source.total).then(
    (total) => stats.setTotal(total === undefined || !resume ? total : Math.max(0, total - resume.done)),
    () => undefined,
  );
  if (flags.verbose && !flags.quiet && flags.inputFormat === undefined && inputPath !== undefined && source.format !== 'lines') {
    say(`ratefetch: reading ${inputPath} as ${source.format} (from its extension; --input-format to choose)`);
  }

  const stop = new AbortController();
  let stopCode: number = EXIT.ok;
  const stopListening = listenForStop(io.signals, (signal) => {
    if (stop.signal.aborted) {
      // A second signal: leave now; every record written so far is a whole line.
      display?.stop(); // restores terminal line-wrap that the bar turned off
      io.stderr.write('ratefetch: stopped at once.\n');
      process.exit(stopCode);
    }
    stopCode = exitCodeFor(signal);
    if (!flags.quiet) say(`ratefetch: ${signal}, finishing requests in flight (${signal === 'SIGINT' ? 'Ctrl-C again' : 'signal again'} to quit now)…`);
    stop.abort(signal);
  });

  let allOk = true;
  let stoppedEarly = false;
  let outputFailure: OutputError | undefined;
  try {
    const hooks = {
      signal: stop.signal,
      skip: resume?.isDone,
      resumePages: resume?.continuationOf,
      savedFiles: resume && { isChanged: resume.savedFileChanged },
      onEvent: (event: RunEvent) => {
        stats.onEvent(event);
        if (event.type === 'interrupt' && event.cause !== 'signal') {
          // Cron must learn why a run stopped early, even under --quiet.
          stoppedEarly = true;
          say(`ratefetch: stopping early: ${event.reason}; inputs already read get records, the rest are left for a later run.`);
        }
        if (flags.verbose && !flags.quiet) {
          const line = formatVerboseLine(event);
          if (line !== undefined) say(line);
        }
      },
    };
    const records =
      distributed === undefined
        ? fetchAll(source.items, options, hooks)
        : (await import('../run/coordinator.js')).coordinate(source.items, partial, { ...distributed, resume: resume !== undefined }, hooks);
    for await (const record of records) {
      if (!record.ok) allOk = false;
      try {
        // A sink returns a promise only when its output is behind: no turn is spent otherwise.
        const behind = sink.write(record);
        if (behind) await behind;
        if (failedSink && !record.ok) await failedSink.write(record);
      } catch (error) {
        // `| head`: the reader has what it wanted. The run stops quietly; its exit code still
        // says whether the records that were written are ok.
        if (error instanceof OutputClosed) {
          stop.abort('output closed');
          break;
        }
        if (error instanceof OutputError) {
          outputFailure = error;
          stop.abort('output write error');
          break;
        }
        throw error;
      }
    }
    for (const each of failedSink ? [sink, failedSink] : [sink]) {
      await each.close().catch((error: unknown) => {
        if (error instanceof OutputError) outputFailure ??= error;
      });
    }
  } finally {
    stopListening();
    display?.stop();
    source.stream?.destroy();
  }

  const snapshot = stats.snapshot();
  const note = resume && resumeNote(resume, snapshot.done, stop.signal.aborted);
  if (!flags.quiet) io.stderr.write(`${note?.line ?? ''}${note?.nothingLeft ? '' : formatSummary(snapshot, chalk)}`);
  if (flags.statsFile !== undefined) writeStatsFile(flags.statsFile, toStatsJson(snapshot, stats.history()));
  if (outputFailure) throw outputFailure;
  if (stop.signal.aborted && stopCode !== EXIT.ok) return stopCode;
  if (stoppedEarly) return EXIT.stopped;
  return allOk ? EXIT.ok : EXIT.notOk;
}

const REDIS_COMMANDS = ['worker', 'status', 'clean'] as const;
const isRedisCommand = (word: string): word is (typeof REDIS_COMMANDS)[number] => (REDIS_COMMANDS as readonly string[]).includes(word);

/** --redis and its companions: the coordinator's settings, or undefined for a one-machine run. */
function checkRedisFlags(flags: CliFlags) {
  if (flags.redis === undefined) {
    const stray = firstGiven([
      ['--name', flags.name],
      ['--local-workers', flags.localWorkers],
      ['--stalled-after', flags.stalledAfter],
    ]);
    if (stray !== undefined) throw new UsageError(`${stray} goes with --redis, which shares the run through Redis.`);
    return undefined;
  }
  if (flags.name === undefined) throw new UsageError('--redis needs --name: the name workers, status and clean find the run by.');
  const stalledMs = flags.stalledAfter === undefined ? undefined : Math.round(flags.stalledAfter * 1000);
  return {
    redis: flags.redis,
    name: flags.name,
    localWorkers: flags.localWorkers ?? 1,
    ...(stalledMs !== undefined && { stalledIntervalMs: stalledMs, lockDurationMs: stalledMs }),
  };
}

/** --dry-run: one planned line per input, nothing sent; exit 0 unless an input is invalid. */
async function dryRun(
  source: ItemSource,
  options: RunOptions,
  sink: RecordSink<PlannedLine>,
  signals: NodeJS.EventEmitter | undefined,
  close: () => void,
): Promise<number> {
  let allOk = true;
  let stoppedBy: number | undefined;
  const stopListening = listenForStop(signals, (signal) => (stoppedBy = exitCodeFor(signal)));
  try {
    for await (const planned of planOnly(source.items, options)) {
      if (stoppedBy !== undefined) break; // whole lines only: stop between two
      if (!planned.ok) allOk = false;
      try {
        await sink.write(planned);
      } catch (error) {
        if (error instanceof OutputClosed) break;
        throw error;
      }
    }
    await sink.close();
  } finally {
    stopListening();
    close();
  }
  if (stoppedBy !== undefined) return stoppedBy;
  return allOk ? EXIT.ok : EXIT.notOk;
}

/** A stream that writes to `terminal` through `besideBar`, so the live bar on stderr is not torn by the records. */
function besideTheBar(terminal: Writable, besideBar: (write: () => void) => void): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      besideBar(() => terminal.write(chunk, done));
    },
  });
}
