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
  /** The V8 old-space cap for the third run, and how long it may go. */
  heapCapMiB: number;
  heapCapStopAfterMs: number;
  log: (line: string) => void;
}

export interface MemoryRow {
  inputLines: number;
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
  try {
    const rows: MemoryRow[] = [];
    const runs: RunShape[] = [
      { lines: 10_000, stopAfterMs: null, heapCapMiB: null },
      { lines: 1_000_000, stopAfterMs: config.stopAfterMs, heapCapMiB: null },
      { lines: 1_000_000, stopAfterMs: config.heapCapStopAfterMs, heapCapMiB: config.heapCapMiB },
    ];
    for (const shape of runs) {
      const input = join(dir, `urls-${shape.lines}.txt`);
      if (!existsSync(input)) await writeUrls(input, server.url, shape.lines);
      const row = await runOne(config, dir, input, shape, () => server.countRequests());
      config.log(
        `  ${shape.lines.toLocaleString('en-US')} lines, ${row.how}: ${row.outcome}; peak RSS ${(row.peakKiB / 1024).toFixed(1)} MiB, ${row.records?.toLocaleString('en-US') ?? 'no stats file, so unknown'} records, ${row.requests.toLocaleString('en-US')} requests`,
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
  /** null: to the end. */
  stopAfterMs: number | null;
  heapCapMiB: number | null;
}

async function runOne(config: MemoryConfig, dir: string, input: string, shape: RunShape, requestsSoFar: () => number): Promise<MemoryRow> {
  const { lines, stopAfterMs, heapCapMiB } = shape;
  const requestsBefore = requestsSoFar();
  const name = `${lines}-${heapCapMiB ?? 'default'}`;
  const statsPath = join(dir, `stats-${name}.json`);
  const timeOut = join(dir, `time-${name}.txt`);
  const ratefetch = [
    join(config.repoDir, 'bin/ratefetch.js'),
    input,
    '-c',
    String(config.concurrency),
    '-o',
    '/dev/null',
    '--quiet',
    '--stats-file',
    statsPath,
  ];
  const { cmd, args, timed: hasTime } = underGnuTime(ratefetch, timeOut);

  const samples: Array<[number, number]> = [];
  let polledHwm = 0;
  let sampler: NodeJS.Timeout | undefined;
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
  }).finally(() => clearInterval(sampler));

  const stats = readStatsFile(statsPath);
  const timePeak = hasTime ? readTimePeak(timeOut) : undefined;
  const outOfMemory = /heap out of memory/i.test(exit.stderr);
  const ended = exit.signal ?? (exit.code !== null && exit.code > 128 ? `signal ${exit.code - 128}` : `exit ${exit.code}`);
  const stopped = stopAfterMs === null ? 'to the end' : `SIGINT after ${stopAfterMs / 1000} s`;
  return {
    inputLines: lines,
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
