/**
 * runCli(argv, io) → exit code. Turns flags into RunOptions, picks the sink and the reporter,
 * runs fetchAll, handles signals and maps outcomes to exit codes. No HTTP, no formatting.
 */
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { CommanderError } from 'commander';
import { OutputError, UsageError } from '../errors.js';
import { fetchAll } from '../index.js';
import { countInputLines } from '../input/count-lines.js';
import { readLines } from '../input/read-lines.js';
import { resolveOptions, type BodyFormat, type RunOptions } from '../options.js';
import { createStderrChalk } from '../reporter/color.js';
import { startPlainProgress } from '../reporter/progress-plain.js';
import { startTtyProgress } from '../reporter/progress-tty.js';
import { RunStats } from '../reporter/stats.js';
import { formatSummary, toStatsJson } from '../reporter/summary.js';
import { formatVerboseLine } from '../reporter/verbose.js';
import { OutputClosed, createNdjsonSink, describeErrno } from '../sinks/ndjson.js';
import { buildProgram, type CliFlags } from './program.js';

export interface CliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /** Where SIGINT/SIGTERM come from (process in the bin; an EventEmitter in tests). */
  signals?: NodeJS.EventEmitter;
}

export const EXIT = { ok: 0, notOk: 1, usage: 2, stopped: 3, internal: 70, output: 74, sigint: 130, sigterm: 143 } as const;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    const program = buildProgram()
      .exitOverride()
      .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: () => undefined });
    try {
      program.parse(argv, { from: 'user' });
    } catch (error) {
      if (error instanceof CommanderError) {
        if (error.exitCode === 0) return EXIT.ok; // --help, --version
        throw new UsageError(error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim());
      }
      throw error;
    }
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
  const options = resolveOptions(toRunOptions(flags));
  const input = openInput(inputPath, io);
  const output = openOutput(flags, io);
  const sink = createNdjsonSink(output.stream, output.name, output.owned);

  const chalk = createStderrChalk({ isTTY: io.stderr.isTTY === true, env: io.env });
  const stats = new RunStats();
  const showBar = flags.progress ?? io.stderr.isTTY === true;
  const display = flags.quiet || flags.progress === false
    ? undefined
    : showBar
      ? startTtyProgress(stats, io.stderr, { chalk })
      : startPlainProgress(stats, io.stderr);
  // Human lines go above the live bar when there is one.
  const say = (line: string) => (display ? display.log(line) : io.stderr.write(`${line}\n`));
  if (input.path !== undefined) {
    countInputLines(input.path).then((total) => stats.setTotal(total), () => undefined);
  }

  const stop = new AbortController();
  let stopCode: number = EXIT.ok;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (stop.signal.aborted) {
      // A second signal: leave now; every record written so far is a whole line.
      display?.stop(); // restores terminal line-wrap that the bar turned off
      io.stderr.write('ratefetch: stopped at once.\n');
      process.exit(stopCode);
    }
    stopCode = name === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    if (!flags.quiet) say(`ratefetch: ${name}, finishing requests in flight (${name === 'SIGINT' ? 'Ctrl-C again' : 'signal again'} to quit now)…`);
    stop.abort(name);
  };
  const signals = io.signals;
  const sigint = onSignal('SIGINT');
  const sigterm = onSignal('SIGTERM');
  signals?.on('SIGINT', sigint);
  signals?.on('SIGTERM', sigterm);

  let allOk = true;
  let outputFailure: OutputError | undefined;
  try {
    const records = fetchAll(readLines(input.stream), options, {
      signal: stop.signal,
      onEvent: (event) => {
        stats.onEvent(event);
        if (flags.verbose && !flags.quiet) {
          const line = formatVerboseLine(event);
          if (line !== undefined) say(line);
        }
      },
    });
    for await (const record of records) {
      if (!record.ok) allOk = false;
      try {
        await sink.write(record);
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
    await sink.close().catch((error: unknown) => {
      if (error instanceof OutputError) outputFailure ??= error;
    });
  } finally {
    signals?.off('SIGINT', sigint);
    signals?.off('SIGTERM', sigterm);
    display?.stop();
    input.stream.destroy();
  }

  const snapshot = stats.snapshot();
  if (!flags.quiet) io.stderr.write(formatSummary(snapshot, chalk));
  if (flags.statsFile !== undefined) writeStatsFile(flags.statsFile, toStatsJson(snapshot));
  if (outputFailure) throw outputFailure;
  if (stop.signal.aborted && stopCode !== EXIT.ok) return stopCode;
  return allOk ? EXIT.ok : EXIT.notOk;
}

function toRunOptions(flags: CliFlags): Partial<RunOptions> {
  return {
    rps: flags.rps,
    burst: flags.burst,
    concurrency: flags.concurrency,
    retries: flags.retries,
    maxBackoffMs: flags.maxBackoff * 1000,
    maxRetryAfterMs: flags.maxRetryAfter * 1000,
    timeoutMs: flags.timeout * 1000,
    method: flags.method,
    headers: (flags.header ?? []).map(parseHeader),
    body: flags.data === undefined ? undefined : readData(flags.data),
    userAgent: flags.userAgent,
    maxRedirects: flags.maxRedirects,
    bodyFormat: flags.bodyFormat as BodyFormat,
    maxBodyBytes: flags.maxBody,
    includeHeaders: flags.includeHeaders === true,
    redactParams: flags.redactParam ?? [],
  };
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (name === '' || /\s/.test(name)) {
    // The argument may hold a token typed without its colon: never echo it.
    throw new UsageError(`-H expects 'Name: value' (the argument given is not shown, as it may hold a secret).`);
  }
  return [name, text.slice(colon + 1).trim()];
}

function readData(data: string): string | Uint8Array {
  if (!data.startsWith('@')) return data;
  const path = data.slice(1);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`-d cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
}

function openInput(path: string | undefined, io: CliIo): { stream: Readable; path?: string } {
  if (path === undefined || path === '-') {
    if (path === undefined && io.stdin.isTTY) {
      throw new UsageError('no input: give a file of URLs, or pipe URLs into stdin.');
    }
    return { stream: io.stdin };
  }
  let isFile: boolean;
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) throw new UsageError(`input ${path} is a directory, not a file of URLs.`);
    isFile = stats.isFile();
    closeSync(openSync(path, 'r'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read input ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  return isFile ? { stream, path } : { stream };
}

function openOutput(flags: CliFlags, io: CliIo): { stream: Writable; name: string; owned: boolean } {
  if (flags.append && flags.output === undefined) throw new UsageError('--append needs -o <file>.');
  if (flags.output === undefined) return { stream: io.stdout, name: 'stdout', owned: false };
  let fd: number;
  try {
    fd = openSync(flags.output, flags.append ? 'a' : 'w');
  } catch (error) {
    throw new OutputError(`cannot open output ${flags.output}: ${describeErrno(error as NodeJS.ErrnoException)}`);
  }
  return { stream: createWriteStream(flags.output, { fd }), name: flags.output, owned: true };
}

function writeStatsFile(path: string, stats: unknown): void {
  try {
    writeFileSync(path, `${JSON.stringify(stats, null, 2)}\n`);
  } catch (error) {
    throw new OutputError(`cannot write stats to ${path}: ${describeErrno(error as NodeJS.ErrnoException)}`);
  }
}
