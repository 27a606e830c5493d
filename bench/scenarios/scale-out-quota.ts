/**
 * Issue #25, quota headers shared across workers: the coordinator and worker processes against a
 * server whose fixed 1 s windows hold `limit` requests from every process together (they all come
 * from 127.0.0.1) and say so on every answer in X-RateLimit headers. ratefetch is given no
 * `--rps`: the quota headers alone pace it. Setups: the coordinator alone, the coordinator and
 * two worker processes with the reset in epoch seconds (an absolute end, as GitHub sends), and
 * the same with the reset in seconds from now (the form that names a 1 s window's end least
 * well). Then the same windows with no quota headers at all (a 429 with Retry-After is all the
 * server says) and `--rps auto`: the coordinator alone, and with two worker processes, which
 * find the rate with the coordinator's one controller per lane. Every figure comes from the
 * server's hit log and ratefetch's output file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFixtureServer, type ResetForm } from '../../fixtures/server.js';
import { maxInWindow } from '../lib/analyze.js';
import { startCapped, type Running } from '../lib/proc.js';
import { startBenchRedis } from '../lib/redis-server.js';
import { collectWorkers, countDuplicates, exitText, loadNow, parseLines, ratefetchArgs, readText, startWorkers, WORKER_WAIT_S } from './scale-out.js';

export interface QuotaSetup {
  key: string;
  label: string;
  workerProcesses: number;
  /** The form of the quota headers' reset; undefined: the server sends no quota headers, and ratefetch runs `--rps auto`. */
  reset: ResetForm | undefined;
}

export const QUOTA_SETUPS: readonly QuotaSetup[] = [
  { key: 'alone', label: 'coordinator alone, reset in epoch seconds', workerProcesses: 0, reset: 'epoch-seconds' },
  { key: 'three', label: 'coordinator + 2 worker processes, reset in epoch seconds', workerProcesses: 2, reset: 'epoch-seconds' },
  { key: 'three-delta', label: 'coordinator + 2 worker processes, reset in seconds from now', workerProcesses: 2, reset: 'delta-seconds' },
  { key: 'auto-alone', label: 'coordinator alone, no quota headers, --rps auto', workerProcesses: 0, reset: undefined },
  { key: 'auto-three', label: 'coordinator + 2 worker processes, no quota headers, --rps auto', workerProcesses: 2, reset: undefined },
];

export interface QuotaConfig {
  repoDir: string;
  workDir: string;
  urlCount: number;
  /** Requests each 1 s window of the server holds. */
  limit: number;
  concurrency: number;
  capMs: number;
  repeat: number;
  log: (line: string) => void;
}

export interface QuotaRun {
  setup: QuotaSetup;
  wallMs: number;
  stopped: boolean;
  idealMs: number;
  requests: number;
  refused: number;
  /** The most requests the server admitted in one of its windows, and the most arrivals in any sliding second. */
  busiestWindow: number;
  maxIn1s: number;
  linesWithRecord: number;
  records: number;
  duplicates: number;
  exits: string;
  loadAverage: number[];
}

export async function runScaleOutQuota(config: QuotaConfig): Promise<QuotaRun[]> {
  const runs: QuotaRun[] = [];
  for (let i = 1; i <= config.repeat; i++) {
    if (config.repeat > 1) config.log(`  repeat ${i} of ${config.repeat}`);
    for (const setup of QUOTA_SETUPS) runs.push(await runOne(config, setup, join(config.workDir, 'scale-out-quota', `${setup.key}-${i}`)));
  }
  return runs;
}

async function runOne(config: QuotaConfig, setup: QuotaSetup, dir: string): Promise<QuotaRun> {
  mkdirSync(dir, { recursive: true });
  const redis = await startBenchRedis(dir);
  const limit =
    setup.reset === undefined
      ? { limit: config.limit, windowMs: 1_000 }
      : { limit: config.limit, windowMs: 1_000, headers: 'x-ratelimit' as const, reset: setup.reset };
  const server = await startFixtureServer({ limit, keepLog: true });
  const workers: Running[] = [];
  try {
    const input = join(dir, 'urls.txt');
    const out = join(dir, 'out.ndjson');
    writeFileSync(input, `${Array.from({ length: config.urlCount }, (_, i) => `${server.url}/items/${i + 1}`).join('\n')}\n`);
    const name = `bench-quota-${setup.key}`;
    workers.push(...(await startWorkers(config, redis.socket, name, setup.workerProcesses, config.concurrency, config.capMs + WORKER_WAIT_S * 1000)));
    const coordinator = startCapped({
      cmd: process.execPath,
      args: ratefetchArgs(config, [
        input,
        '--redis',
        redis.socket,
        '--name',
        name,
        '-c',
        String(config.concurrency),
        '-o',
        out,
        '--quiet',
        ...(setup.reset === undefined ? ['--rps', 'auto'] : []),
      ]),
      cwd: config.repoDir,
      capMs: config.capMs,
      stopSignal: 'SIGINT',
    });
    const exit = await coordinator.result;
    const workerExits = await collectWorkers(workers, 15_000);
    const hits = [...server.hits].sort((a, b) => a.t - b.t);
    const records = parseLines(readText(out));
    const admitted = new Map<number, number>();
    for (const hit of hits) if (hit.status !== 429) admitted.set(Math.floor(hit.t / 1000), (admitted.get(Math.floor(hit.t / 1000)) ?? 0) + 1);
    const run: QuotaRun = {
      setup,
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped: exit.stoppedAtMs !== null,
      idealMs: (config.urlCount / config.limit) * 1000,
      requests: hits.length,
      refused: server.count429(),
      busiestWindow: Math.max(0, ...admitted.values()),
      maxIn1s: maxInWindow(
        hits.map((hit) => hit.t),
        1000,
      ),
      linesWithRecord: new Set(records.map((record) => record.line)).size,
      records: records.length,
      duplicates: countDuplicates(hits),
      exits: `${exitText(exit)} · ${workerExits.map(exitText).join(' ') || '—'}`,
      loadAverage: loadNow(),
    };
    config.log(
      `  ${setup.label}: ${(run.wallMs / 1000).toFixed(1)} s${run.stopped ? ' (stopped at the cap)' : ''}, ${run.requests} requests, ${run.refused} × 429, ` +
        `busiest window ${run.busiestWindow}, most in 1 s ${run.maxIn1s}, ${run.linesWithRecord}/${config.urlCount} lines with a record (${run.records} records), ` +
        `${run.duplicates} duplicates, exits ${run.exits}; load ${run.loadAverage.map((n) => n.toFixed(2)).join(' ')}`,
    );
    return run;
  } finally {
    for (const worker of workers) worker.signal('SIGKILL');
    await server.close();
    await redis.stop();
  }
}
