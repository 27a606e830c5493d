/**
 * Rate precision (issue #9): ratefetch `--rps R` against a fixture server with no limit, for
 * about `durationS` seconds of starts, measured from the server's arrival times: the achieved
 * rate from first to last arrival, and the most arrivals in any sliding second against the
 * bound burst + R × 1 s (burst at its default).
 *
 * Arrivals can bunch on the way (a stall in either process), so when the server counts more
 * than the bound in some second, the same run is repeated through the library with the
 * limiter's own start times recorded (bench/lib/record-starts.ts): that says whether the
 * limiter itself started too many.
 */
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { startFixtureServer } from '../../fixtures/server.js';
import { defaultBurst } from '../../src/options.js';
import { achievedRate, maxInWindow } from '../lib/analyze.js';
import { readOkRecords, readStatsFile } from '../lib/clients.js';
import { firstStderrLine, runCapped } from '../lib/proc.js';

export interface PrecisionConfig {
  repoDir: string;
  workDir: string;
  rates: readonly number[];
  durationS: number;
  /** --concurrency for a run at `rps`. */
  concurrencyFor: (rps: number) => number;
  log: (line: string) => void;
}

export interface PrecisionRow {
  rps: number;
  urlCount: number;
  burst: number;
  /** Arrivals per second at the server, first to last. */
  achievedRps: number | null;
  /** ratefetch's own figure (attempts per second, first attempt to the end). */
  reportedRps: number | null;
  maxInAnySecond: number;
  /** The same, leaving out the first second of arrivals (start-up: connections, lazy loading). */
  maxInSteadySecond: number;
  bound: number;
  ok: number;
  requests: number;
  wallMs: number;
  stopped: boolean;
  /** What ratefetch printed on stderr despite --quiet; '' when nothing. */
  stderrLine: string;
  /** The limiter's own start times, when the server counted over the bound; else null. */
  limiter: { maxInAnySecond: number; maxInSteadySecond: number; achievedRps: number | null } | null;
}

export async function runPrecision(config: PrecisionConfig): Promise<PrecisionRow[]> {
  const rows: PrecisionRow[] = [];
  for (const rps of config.rates) {
    const row = await runOne(config, rps);
    if (row.maxInAnySecond > row.bound) row.limiter = await recordLimiterStarts(config, rps, row.urlCount);
    config.log(
      `  --rps ${rps}: achieved ${row.achievedRps?.toFixed(2) ?? 'n/a'}/s (${row.urlCount} URLs), most in any 1 s ${row.maxInAnySecond} (${row.maxInSteadySecond} after the first second; bound ${row.bound}), ${row.ok}/${row.urlCount} ok` +
        (row.limiter === null
          ? ''
          : `; limiter's own starts: most in any 1 s ${row.limiter.maxInAnySecond} (${row.limiter.maxInSteadySecond} after the first second)`),
    );
    rows.push(row);
  }
  return rows;
}

async function runOne(config: PrecisionConfig, rps: number): Promise<PrecisionRow> {
  // n starts span (n − 1) / rps seconds, so one more than durationS × rps covers durationS.
  const urlCount = Math.round(config.durationS * rps) + 1;
  const burst = defaultBurst(rps);
  const dir = join(config.workDir, `precision-${rps}`);
  mkdirSync(dir, { recursive: true });
  const server = await startFixtureServer({ keepLog: true });
  try {
    writeFileSync(join(dir, 'urls.txt'), `${Array.from({ length: urlCount }, (_, i) => `${server.url}/items/${i + 1}`).join('\n')}\n`);
    const out = join(dir, 'out.ndjson');
    const statsPath = join(dir, 'stats.json');
    const exit = await runCapped({
      cmd: process.execPath,
      args: [
        join(config.repoDir, 'bin/ratefetch.js'),
        join(dir, 'urls.txt'),
        '--rps',
        String(rps),
        '-c',
        String(config.concurrencyFor(rps)),
        '-o',
        out,
        '--quiet',
        '--stats-file',
        statsPath,
      ],
      cwd: config.repoDir,
      // Three times the expected duration, plus start-up: generous, but bounded.
      capMs: config.durationS * 3_000 + 10_000,
      stopSignal: 'SIGINT',
    });
    const times = server.hits.map((hit) => hit.t);
    const first = Math.min(...times);
    return {
      rps,
      urlCount,
      burst,
      achievedRps: achievedRate(times),
      reportedRps: readStatsFile(statsPath)?.achievedRps ?? null,
      maxInAnySecond: maxInWindow(times, 1000),
      maxInSteadySecond: maxInWindow(
        times.filter((t) => t >= first + 1000),
        1000,
      ),
      bound: burst + rps,
      ok: readOkRecords(out),
      requests: server.countRequests(),
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped: exit.stoppedAtMs !== null,
      stderrLine: firstStderrLine(exit.stderr),
      limiter: null,
    };
  } finally {
    await server.close();
  }
}

/** The same run through `fetchAll` in a child, timing starts where the limiter grants them. */
async function recordLimiterStarts(config: PrecisionConfig, rps: number, urlCount: number): Promise<NonNullable<PrecisionRow['limiter']>> {
  const dir = join(config.workDir, `precision-${rps}-library`);
  mkdirSync(dir, { recursive: true });
  const server = await startFixtureServer({ keepLog: false });
  try {
    writeFileSync(join(dir, 'urls.txt'), `${Array.from({ length: urlCount }, (_, i) => `${server.url}/items/${i + 1}`).join('\n')}\n`);
    const outPath = join(dir, 'starts.json');
    const exit = await runCapped({
      cmd: process.execPath,
      args: [
        '--import',
        'tsx',
        join(config.repoDir, 'bench/lib/record-starts.ts'),
        join(dir, 'urls.txt'),
        String(rps),
        String(config.concurrencyFor(rps)),
        outPath,
      ],
      cwd: config.repoDir,
      capMs: config.durationS * 3_000 + 10_000,
    });
    if (exit.code !== 0) throw new Error(`record-starts at ${rps} rps failed (exit ${exit.code ?? exit.signal}): ${exit.stderr.trim()}`);
    const { starts } = JSON.parse(readFileSync(outPath, 'utf8')) as { starts: number[] };
    const first = Math.min(...starts);
    return {
      maxInAnySecond: maxInWindow(starts, 1000),
      maxInSteadySecond: maxInWindow(
        starts.filter((t) => t >= first + 1000),
        1000,
      ),
      achievedRps: achievedRate(starts),
    };
  } finally {
    await server.close();
  }
}
