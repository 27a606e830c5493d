/**
 * Peak RSS (issue #9). A 1M-line input would take minutes to fetch even on loopback, so
 * ratefetch runs on it for `stopAfterMs` with no rate cap and is then stopped with SIGINT
 * (it drains and writes INTERRUPTED records, all inside the measurement). A 10k-line input
 * fetched to the end the same way is the comparison: if memory is flat in the input size,
 * the two peaks are close. The peak is GNU time's "maximum resident set size" over the whole
 * process life; RSS is also sampled from /proc while it runs, to show the curve.
 *
 * RSS that grows can be a leak or a garbage collector in no hurry. A third run tells them
 * apart: the 1M-line input again with V8's old space capped (NODE_OPTIONS=--max-old-space-size).
 * A program whose live memory is flat runs on under the cap; one that leaks dies of
 * "JavaScript heap out of memory".
 *
 * Issue #24's runs follow: ten million inputs from `--range` and from a file, 60 s at full
 * speed each (with the time from spawn to the first request at the server), and the two
 * options that keep an entry per input by design over a million inputs: `--dedupe` fetching
 * them all, then `--resume` over the records that run wrote (nothing left to fetch: the
 * index of a million records alone).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { startFixtureServer } from '../../fixtures/server.js';
import { readStatsFile } from '../lib/clients.js';
import { findChildPid, firstStderrLine, readMemoryKiB, readTimePeak, runCapped, underGnuTime } from '../lib/proc.js';

export interface MemoryConfig {
  repoDir: string;
  workDir: string;
  concurrency: number;
  /** How long the 1M-line run goes before SIGINT. */
  stopAfterMs: number;
  /** How long the ten-million-input runs go before SIGINT. */
  tenMillionStopAfterMs: number;
  /** The V8 old-space cap for the third run, and how long it may go. */
  heapCapMiB: number;
  heapCapStopAfterMs: number;
  log: (line: string) => void;
}

export interface MemoryRow {
  inputLines: number;
  /** Where the inputs come from and the flags that matter, e.g. `file`, `--range`, `--range --dedupe`. */
  input: string;
  /** Spawn to the first request at the server; null when no request came. */
  firstRequestMs: number | null;
  /** The V8 old-space cap of the run, if any. */
  heapCapMiB: number | null;
  /** `to the end`, or `SIGINT after 20 s`, plus the heap cap if any. */
  how: string;
  /** How it ended: finished, stopped as planned, out of memory, or an exit code. */
  outcome: string;
  /** What ratefetch printed on stderr despite --quiet; '' when nothing. */
  stderrLine: string;
  wallMs: number;
  requests: number;
  /** From ratefetch's stats file; null when it wrote none (it crashed). */
  records: number | null;
  ok: number | null;
  /** Whole-life peak from /usr/bin/time (KiB), or the last polled VmHWM if time is missing. */
  peakKiB: number;
  peakSource: 'time -f %M' | 'VmHWM (polled)';
  /** [seconds since start, VmRSS KiB] every second. */
  samples: Array<[number, number]>;
}

const SAMPLE_EVERY_MS = 1000;

export async function runMemory(config: MemoryConfig): Promise<MemoryRow[]> {
  const dir = join(config.workDir, 'memory');
  mkdirSync(dir, { recursive: true });
  const server = await startFixtureServer({ keepLog: false });
  const file = (lines: number) => ({ lines, input: 'file', args: [join(dir, `urls-${lines}.txt`)], extra: [] });
  const range = (lines: number, extra: string[]) => ({
    lines,
    input: ['--range', ...extra].join(' '),
    args: ['--range', `id=1..${lines}`, '-t', `${server.url}/items/{id}`],
    extra,
  });
  const resumeOutput = join(dir, 'dedupe-1m.ndjson');
  try {
    const rows: MemoryRow[] = [];
    const runs: RunShape[] = [
      { ...file(10_000), stopAfterMs: null, heapCapMiB: null },
      { ...file(1_000_000), stopAfterMs: config.stopAfterMs, heapCapMiB: null },
      { ...file(1_000_000), stopAfterMs: config.heapCapStopAfterMs, heapCapMiB: config.heapCapMiB },
      { ...range(10_000_000, []), stopAfterMs: config.tenMillionStopAfterMs, heapCapMiB: null },
      { ...file(10_000_000), stopAfterMs: config.tenMillionStopAfterMs, heapCapMiB: null },
      { ...range(1_000_000, ['--dedupe']), output: resumeOutput, stopAfterMs: null, heapCapMiB: null },
      { ...range(1_000_000, ['--resume']), output: resumeOutput, stopAfterMs: null, heapCapMiB: null },
    ];
    for (const shape of runs) {
      if (shape.input === 'file' && !existsSync(shape.args[0]!)) await writeUrls(shape.args[0]!, server.url, shape.lines);
      const row = await runOne(config, dir, shape, () => server.countRequests());
      config.log(
        `  ${shape.lines.toLocaleString('en-US')} inputs (${shape.input}), ${row.how}: ${row.outcome}; peak RSS ${(row.peakKiB / 1024).toFixed(1)} MiB, first request after ${row.firstRequestMs?.toFixed(0) ?? '—'} ms, ${row.records?.toLocaleString('en-US') ?? 'no stats file, so unknown'} records, ${row.requests.toLocaleString('en-US')} requests`,
      );
      if (row.stderrLine !== '') config.log(`    stderr: ${row.stderrLine}`);
      rows.push(row);
    }
    return rows;
  } finally {
    await server.close();
  }
}

interface RunShape {
  lines: number;
  input: string;
  /** The input: a file, or --range and a template. */
  args: string[];
  /** Flags beyond the input's. */
  extra: string[];
  /** The -o file; /dev/null when unset. */
  output?: string;
  /** null: to the end. */
  stopAfterMs: number | null;
  heapCapMiB: number | null;
}

async function runOne(config: MemoryConfig, dir: string, shape: RunShape, requestsSoFar: () => number): Promise<MemoryRow> {
  const { lines, stopAfterMs, heapCapMiB } = shape;
  const requestsBefore = requestsSoFar();
  const name = `${lines}-${shape.input.replace(/\W+/g, '')}-${heapCapMiB ?? 'default'}`;
  const statsPath = join(dir, `stats-${name}.json`);
  const timeOut = join(dir, `time-${name}.txt`);
  const ratefetch = [
    join(config.repoDir, 'bin/ratefetch.js'),
    ...shape.args,
    ...shape.extra,
    '-c',
    String(config.concurrency),
    '-o',
    shape.output ?? '/dev/null',
    '--quiet',
    '--stats-file',
    statsPath,
  ];
  const { cmd, args, timed: hasTime } = underGnuTime(ratefetch, timeOut);

  const samples: Array<[number, number]> = [];
  let polledHwm = 0;
  let sampler: NodeJS.Timeout | undefined;
  let firstRequestMs: number | null = null;
  // The first request, to 10 ms: a poll of the server's count, in this process.
  const watchFirst = setInterval(() => {
    if (requestsSoFar() === requestsBefore) return;
    firstRequestMs = performance.now() - startedAt;
    clearInterval(watchFirst);
  }, 10);
  const startedAt = performance.now();
  const exit = await runCapped({
    cmd,
    args,
    cwd: config.repoDir,
    env: heapCapMiB === null ? {} : { NODE_OPTIONS: `--max-old-space-size=${heapCapMiB}` },
    capMs: stopAfterMs ?? 120_000,
    // GNU time ignores SIGINT while it waits, so the signal to the group reaches node alone.
    stopSignal: 'SIGINT',
    onStart: (pid) => {
      let nodePid: number | undefined = hasTime ? undefined : pid;
      sampler = setInterval(() => {
        nodePid ??= findChildPid(pid);
        const memory = nodePid === undefined ? undefined : readMemoryKiB(nodePid);
        if (memory === undefined) return;
        samples.push([Math.round((performance.now() - startedAt) / 1000), memory.rss]);
        polledHwm = Math.max(polledHwm, memory.hwm);
      }, SAMPLE_EVERY_MS);
    },
  }).finally(() => {
    clearInterval(sampler);
    clearInterval(watchFirst);
  });

  const stats = readStatsFile(statsPath);
  const timePeak = hasTime ? readTimePeak(timeOut) : undefined;
  const outOfMemory = /heap out of memory/i.test(exit.stderr);
  const ended = exit.signal ?? (exit.code !== null && exit.code > 128 ? `signal ${exit.code - 128}` : `exit ${exit.code}`);
  const stopped = stopAfterMs === null ? 'to the end' : `SIGINT after ${stopAfterMs / 1000} s`;
  return {
    inputLines: lines,
    input: shape.input,
    firstRequestMs,
    heapCapMiB,
    how: heapCapMiB === null ? stopped : `${stopped}, --max-old-space-size=${heapCapMiB}`,
    outcome: outOfMemory
      ? `**out of memory** after ${(exit.wallMs / 1000).toFixed(1)} s (${ended})`
      : exit.stoppedAtMs !== null
        ? `stopped as planned (${ended})`
        : `finished (${ended})`,
    // V8's out-of-memory report is many lines of GC trace; the FATAL ERROR line says it all.
    stderrLine: outOfMemory ? (/^.*FATAL ERROR.*$/m.exec(exit.stderr)?.[0] ?? 'JavaScript heap out of memory') : firstStderrLine(exit.stderr),
    wallMs: exit.wallMs,
    requests: requestsSoFar() - requestsBefore,
    records: stats?.records ?? null,
    ok: stats?.ok ?? null,
    peakKiB: timePeak ?? polledHwm,
    peakSource: timePeak === undefined ? 'VmHWM (polled)' : 'time -f %M',
    samples,
  };
}

/** `lines` URLs into `path`, written in chunks so the benchmark itself stays small. */
async function writeUrls(path: string, base: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  const chunkLines = 10_000;
  for (let from = 1; from <= lines; from += chunkLines) {
    let chunk = '';
    for (let i = from; i < Math.min(from + chunkLines, lines + 1); i++) chunk += `${base}/items/${i}\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
