/**
 * The clients under comparison, as commands. Each gets its own work directory for its input,
 * output and (for curl) response bodies, and says how to count its complete records.
 *
 * curl writes bodies to real files (`--output-dir … -O`): with `-o /dev/null`, curl 7.88's
 * `--retry` cannot truncate the output before a retry and gives up with error 23, so it never
 * retries at all. That would not be a fair baseline.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countLinesEqual, countOkRecords } from './analyze.js';
import type { Exit, RunSpec } from './proc.js';

export interface ClientPlan {
  /** Row label, e.g. `curl --rate 20/s --retry 5 (serial)`. */
  label: string;
  /** What rate the client was told, e.g. `20 rps (right)`, or `none` when it has no pacing. */
  told: string;
  spec: RunSpec;
  /** Records the client reports complete (ok for ratefetch, HTTP 200 for curl). */
  countComplete(exit: Exit): number;
  /** What ratefetch's own --stats-file says, when there is one. */
  readStats?(): RatefetchStats | undefined;
}

export interface RatefetchStats {
  attempts: number;
  received429: number;
  ok: number;
  records: number;
  achievedRps: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  /** Time requests were ready but a rate limit or host pause let none start (newer builds). */
  rateWaitMs?: number;
  /** The rates the rate controller held each host to at the end (newer builds). */
  laneRates?: Array<{ lane: string; rps: number; found: boolean; settledRps?: number }>;
}

export interface ClientSetup {
  repoDir: string;
  workDir: string;
  urls: readonly string[];
  capMs: number;
}

const RETRIES = 5;
const CONCURRENCY = 10;
// One status per line. A single curl writes them to stderr, which it does not buffer, so a curl
// stopped at the cap loses none. xargs' curls share one stderr and would interleave there, so
// they use stdout, which each curl flushes when it exits. A real newline: curl expands `\n`
// in -w itself, but this does not depend on it.
const CODE_TO_STDERR = '%{stderr}%{http_code}\n';
const CODE_TO_STDOUT = '%{http_code}\n';

/**
 * `node bin/ratefetch.js urls --rps R -c 10 -o out --quiet --stats-file stats`; `rps` null
 * leaves --rps out (the server's hints alone pace the run), 'auto' passes `--rps auto`.
 */
export function ratefetchPlan(setup: ClientSetup, rps: number | 'auto' | null, told: string, extraArgs: string[] = []): ClientPlan {
  const dir = prepare(setup);
  const out = join(dir, 'out.ndjson');
  const stats = join(dir, 'stats.json');
  const rpsArgs = rps === null ? [] : ['--rps', String(rps)];
  return {
    label: `ratefetch ${[...rpsArgs, '-c', String(CONCURRENCY)].join(' ')}`,
    told,
    spec: {
      cmd: process.execPath,
      args: [
        join(setup.repoDir, 'bin/ratefetch.js'),
        join(dir, 'urls.txt'),
        ...rpsArgs,
        '-c',
        String(CONCURRENCY),
        '-o',
        out,
        '--quiet',
        '--stats-file',
        stats,
        ...extraArgs,
      ],
      capMs: setup.capMs,
      // SIGINT: ratefetch finishes in-flight requests and writes the stats file.
      stopSignal: 'SIGINT',
    },
    countComplete: () => readOkRecords(out),
    readStats: () => readStatsFile(stats),
  };
}

/** Serial curl paced by `--rate`, the only mode in which curl paces at all. */
export function curlSerialPlan(setup: ClientSetup, rps: number, told: string, extraArgs: string[] = []): ClientPlan {
  const dir = prepare(setup);
  return {
    label: `curl --rate ${rps}/s --retry ${RETRIES}${extraArgs.length > 0 ? ` ${extraArgs.join(' ')}` : ''} (serial)`,
    told,
    spec: {
      cmd: 'curl',
      args: ['-s', '--rate', `${rps}/s`, '--retry', String(RETRIES), ...extraArgs, '-w', CODE_TO_STDERR, '-K', join(dir, 'curl.cfg')],
      capMs: setup.capMs,
    },
    countComplete: (exit) => countLinesEqual(exit.stderr, '200'),
  };
}

/** `curl --parallel`: `--rate` has no effect in this mode, so none is given. */
export function curlParallelPlan(setup: ClientSetup): ClientPlan {
  const dir = prepare(setup);
  return {
    label: `curl --parallel --parallel-max ${CONCURRENCY} --retry ${RETRIES}`,
    told: 'none (no pacing)',
    spec: {
      cmd: 'curl',
      args: [
        '-s',
        '--no-progress-meter',
        '--parallel',
        '--parallel-max',
        String(CONCURRENCY),
        '--retry',
        String(RETRIES),
        '-w',
        CODE_TO_STDERR,
        '-K',
        join(dir, 'curl.cfg'),
      ],
      capMs: setup.capMs,
    },
    countComplete: (exit) => countLinesEqual(exit.stderr, '200'),
  };
}

/** `xargs -P 10 curl --retry 5`: one curl process per URL, ten at a time. */
export function xargsCurlPlan(setup: ClientSetup): ClientPlan {
  const dir = prepare(setup);
  return {
    label: `xargs -P ${CONCURRENCY} curl --retry ${RETRIES}`,
    told: 'none (no pacing)',
    spec: {
      cmd: 'xargs',
      args: ['-P', String(CONCURRENCY), '-n', '1', 'curl', '-s', '--retry', String(RETRIES), '--output-dir', join(dir, 'bodies'), '-O', '-w', CODE_TO_STDOUT],
      stdinPath: join(dir, 'urls.txt'),
      capMs: setup.capMs,
    },
    countComplete: (exit) => countLinesEqual(exit.stdout, '200'),
  };
}

let planCount = 0;

/** A fresh directory with urls.txt, curl.cfg and bodies/ for one client run. */
function prepare(setup: ClientSetup): string {
  const dir = join(setup.workDir, `run-${++planCount}`);
  mkdirSync(join(dir, 'bodies'), { recursive: true });
  writeFileSync(join(dir, 'urls.txt'), `${setup.urls.join('\n')}\n`);
  // One `url` line per input; bodies land in bodies/<last path segment>, unique per URL.
  const config = [`output-dir = "${join(dir, 'bodies')}"`, 'remote-name-all', ...setup.urls.map((url) => `url = "${url}"`)];
  writeFileSync(join(dir, 'curl.cfg'), `${config.join('\n')}\n`);
  return dir;
}

/** ok records in an NDJSON output file; 0 if there is no file. */
export function readOkRecords(path: string): number {
  try {
    return countOkRecords(readFileSync(path, 'utf8')).ok;
  } catch {
    return 0; // no output file: nothing complete
  }
}

export function readStatsFile(path: string): RatefetchStats | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RatefetchStats;
  } catch {
    return undefined;
  }
}
