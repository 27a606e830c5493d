/**
 * Issue #25, "Measured in npm run bench": a run shared through Redis, as users run it: the
 * coordinator (`ratefetch urls --redis SOCKET --name N --rps R -o out`) and worker processes
 * (`ratefetch worker --redis SOCKET --name N`), a real redis-server on a unix socket and the
 * fixture server, all on this machine.
 *
 * Rate: N URLs against an in-process fixture server that allows `rps` per client address (a
 * token bucket; every process comes from 127.0.0.1, so they share it) and answers one planted
 * 429 with `Retry-After: 2` at the middle line (`/flaky/<line>?fail=1&status=429&retryAfter=2`:
 * refused the first time it is routed, 200 after). ratefetch is told the same rate. Setups: the
 * coordinator alone (its one in-process worker), the coordinator and two worker processes,
 * `--local-workers 0` and three worker processes, and the second again with one worker process
 * SIGKILLed mid-run (`--stalled-after 2`). Every figure comes from the server's hit log and
 * ratefetch's own output file.
 *
 * Memory: `used_memory` (INFO memory) of the redis-server, sampled once a second, while the
 * coordinator and two worker processes fetch 100k and 1M inputs with no rate cap from the
 * fixture server in a process of its own. A run still going at its cap is stopped with SIGINT.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFixtureServer, type Hit } from '../../fixtures/server.js';
import { achievedRate, maxInWindow, sentDuringToldWait } from '../lib/analyze.js';
import { readStatsFile, type RatefetchStats } from '../lib/clients.js';
import { firstStderrLine, startCapped, startService, type Exit, type Running } from '../lib/proc.js';
import { startBenchRedis } from '../lib/redis-server.js';

export interface ScaleOutConfig {
  repoDir: string;
  workDir: string;
  urlCount: number;
  /** The server's limit per client address, and the --rps ratefetch is told. */
  rps: number;
  /** The server's token bucket depth. */
  serverBurst: number;
  /** The planted 429's Retry-After, seconds, and the line it is planted at. */
  retryAfterS: number;
  pausedLine: number;
  /** Requests in flight at most, for the coordinator and each worker process. */
  concurrency: number;
  /** --stalled-after of the run with a worker killed. */
  stalledAfterS: number;
  /** The worker is killed when the server has seen this many requests. */
  killAfterRequests: number;
  /** Requests arriving this soon after the planted 429 was answered were already on their way. */
  pauseSlackMs: number;
  capMs: number;
  repeat: number;
  memoryCounts: readonly number[];
  memoryConcurrency: number;
  /** A memory run still going after this long is stopped with SIGINT. */
  memoryCapMs: number;
  /** Setups to run (keys of SETUPS); all when undefined. */
  only?: readonly string[];
  log: (line: string) => void;
}

export interface Setup {
  key: string;
  label: string;
  localWorkers: 0 | 1;
  workerProcesses: number;
  killOne: boolean;
  /** The server's token bucket depth, when not the config's. */
  serverBurst?: number;
}

export const SETUPS: readonly Setup[] = [
  { key: 'alone', label: 'coordinator alone (1 worker, in-process)', localWorkers: 1, workerProcesses: 0, killOne: false },
  { key: 'three', label: 'coordinator + 2 worker processes (3 workers)', localWorkers: 1, workerProcesses: 2, killOne: false },
  { key: 'remote', label: '--local-workers 0 + 3 worker processes', localWorkers: 0, workerProcesses: 3, killOne: false },
  { key: 'killed', label: 'coordinator + 2 worker processes, one SIGKILLed', localWorkers: 1, workerProcesses: 2, killOne: true },
  // A strict server (no two requests closer than 1 / rps): what arrival jitter costs one process and three.
  { key: 'strict-alone', label: 'coordinator alone, strict server (depth 1)', localWorkers: 1, workerProcesses: 0, killOne: false, serverBurst: 1 },
  {
    key: 'strict-three',
    label: 'coordinator + 2 worker processes, strict server (depth 1)',
    localWorkers: 1,
    workerProcesses: 2,
    killOne: false,
    serverBurst: 1,
  },
];

export interface RateRun {
  setup: Setup;
  serverBurst: number;
  wallMs: number;
  stopped: boolean;
  idealMs: number;
  requests: number;
  /** The most arrivals in any sliding second. */
  maxIn1s: number;
  /** Arrival of the planted 429 (epoch ms); null when it was never answered. */
  plantedAt: number | null;
  /** Arrivals inside (planted 429 + slack, planted 429 + Retry-After); null when it was never answered. */
  sentDuringPause: number | null;
  /** From the planted 429 to the next request of any input, and to the retry of its own line, ms. */
  firstAfterPauseMs: number | null;
  retryAfterPauseMs: number | null;
  /** Arrivals per second from the end of the pause to the last arrival: (n − 1) / span. */
  rateAfterPause: number | null;
  /** 429s other than the planted one: the server's own bucket refusing. */
  other429: number;
  /** Requests that arrived inside any wait the server had told (any 429), after the slack. */
  sentDuringAnyWait: number;
  /** Inputs with a record in the output, records in all, and ok records. */
  linesWithRecord: number;
  records: number;
  ok: number;
  /** Requests beyond one answered (not 429) request per URL. */
  duplicates: number;
  /** Coordinator's exit, then each worker process's, e.g. `0 · 0 0 SIGKILL`. */
  exits: string;
  /** Records each worker process said it handed back, in start order (the killed one: null). */
  handedBack: Array<number | null>;
  /** When the worker was killed, ms after the first arrival. */
  killedAtMs: number | null;
  /**
   * The killed run: lines below the highest line fetched before the kill that had not been
   * fetched by then, and came more than 1 s after it (the dead worker's, given back after
   * --stalled-after): ms from the kill to each one's first arrival.
   */
  cameBackMs: number[];
  /** First arrival (epoch ms), for times in the readings. */
  firstArrival: number | null;
  /** First to last arrival, ms. */
  arrivalSpanMs: number;
  /** Arrivals per whole second from the first, for the readings. */
  perSecond: number[];
  /** For each 429 but the planted one: ms since the arrival before it. */
  gapsBefore429: number[];
  stats?: RatefetchStats;
  stderrLine: string;
  loadAverage: number[];
}

export interface MemoryRun {
  inputs: number;
  wallMs: number;
  stopped: boolean;
  capMs: number;
  /** From the coordinator's --stats-file: records written and ok (fetched) by the end or the cap. */
  records: number | null;
  ok: number | null;
  requests: number | null;
  /** used_memory before the run, and over the run: [s since spawn, bytes]. */
  baselineBytes: number;
  samples: Array<[number, number]>;
  peakRssBytes: number;
  exits: string;
  stderrLine: string;
  loadAverage: number[];
}

export interface ScaleOutResult {
  rate: RateRun[];
  memory: MemoryRun[];
  redisVersion: string;
}

export const WORKER_WAIT_S = 30;
const SAMPLE_EVERY_MS = 1000;

export async function runScaleOut(config: ScaleOutConfig): Promise<ScaleOutResult> {
  const root = join(config.workDir, 'scale-out');
  mkdirSync(root, { recursive: true });
  const setups = SETUPS.filter((setup) => config.only === undefined || config.only.includes(setup.key));
  const rate: RateRun[] = [];
  let redisVersion = '';
  for (let i = 1; i <= config.repeat; i++) {
    if (config.repeat > 1) config.log(`  repeat ${i} of ${config.repeat}`);
    for (const setup of setups) {
      const run = await runRate(config, setup, join(root, `${setup.key}-${i}`), (version) => {
        redisVersion = version;
      });
      rate.push(run);
    }
  }
  const memory: MemoryRun[] = [];
  for (const inputs of config.memoryCounts) memory.push(await runMemory(config, inputs, join(root, `memory-${inputs}`)));
  return { rate, memory, redisVersion };
}

export function ratefetchArgs(config: Pick<ScaleOutConfig, 'repoDir'>, args: string[]): string[] {
  return [join(config.repoDir, 'bin/ratefetch.js'), ...args];
}

/** Worker processes, each waiting for the run, as hosts that came up before the coordinator. */
export async function startWorkers(
  config: Pick<ScaleOutConfig, 'repoDir'>,
  socket: string,
  name: string,
  count: number,
  concurrency: number,
  capMs: number,
): Promise<Running[]> {
  const workers = Array.from({ length: count }, () =>
    startCapped({
      cmd: process.execPath,
      args: ratefetchArgs(config, ['worker', '--redis', socket, '--name', name, '-c', String(concurrency), '--wait', String(WORKER_WAIT_S)]),
      cwd: config.repoDir,
      capMs,
      stopSignal: 'SIGINT',
    }),
  );
  const deadline = performance.now() + 20_000;
  while (!workers.every((worker) => worker.stderrSoFar().includes('waiting up to'))) {
    if (performance.now() > deadline) {
      for (const worker of workers) worker.signal('SIGKILL');
      throw new Error(`worker processes did not start within 20 s: ${workers.map((w) => JSON.stringify(w.stderrSoFar().trim())).join(', ')}`);
    }
    await sleep(20);
  }
  return workers;
}

/** Waits for each worker process to end by itself (the run is over), then for at most `graceMs` more. */
export async function collectWorkers(workers: readonly Running[], graceMs: number): Promise<Exit[]> {
  const timer = setTimeout(() => {
    for (const worker of workers) worker.signal('SIGKILL');
  }, graceMs);
  try {
    return await Promise.all(workers.map((worker) => worker.result));
  } finally {
    clearTimeout(timer);
  }
}

export function exitText(exit: Exit): string {
  return exit.signal ?? String(exit.code);
}

async function runRate(config: ScaleOutConfig, setup: Setup, dir: string, onVersion: (version: string) => void): Promise<RateRun> {
  mkdirSync(dir, { recursive: true });
  const redis = await startBenchRedis(dir);
  onVersion(redis.version);
  const serverBurst = setup.serverBurst ?? config.serverBurst;
  const server = await startFixtureServer({ rps: config.rps, burst: serverBurst, retryAfter: 'seconds', keepLog: true });
  const workers: Running[] = [];
  try {
    const planted = `/flaky/${config.pausedLine}?fail=1&status=429&retryAfter=${config.retryAfterS}`;
    const urls = Array.from({ length: config.urlCount }, (_, i) => `${server.url}${i + 1 === config.pausedLine ? planted : `/items/${i + 1}`}`);
    const input = join(dir, 'urls.txt');
    const out = join(dir, 'out.ndjson');
    const statsPath = join(dir, 'stats.json');
    writeFileSync(input, `${urls.join('\n')}\n`);
    const name = `bench-${setup.key}`;
    workers.push(...(await startWorkers(config, redis.socket, name, setup.workerProcesses, config.concurrency, config.capMs + WORKER_WAIT_S * 1000)));
    const coordinator = startCapped({
      cmd: process.execPath,
      args: ratefetchArgs(config, [
        input,
        '--redis',
        redis.socket,
        '--name',
        name,
        '--rps',
        String(config.rps),
        '-c',
        String(config.concurrency),
        '-o',
        out,
        '--quiet',
        '--stats-file',
        statsPath,
        ...(setup.localWorkers === 1 ? [] : ['--local-workers', String(setup.localWorkers)]),
        ...(setup.killOne ? ['--stalled-after', String(config.stalledAfterS)] : []),
      ]),
      cwd: config.repoDir,
      capMs: config.capMs,
      stopSignal: 'SIGINT',
    });
    let killedAtMs: number | null = null;
    if (setup.killOne) {
      let ended = false;
      void coordinator.result.then(() => {
        ended = true;
      });
      while (!ended && server.countRequests() < config.killAfterRequests) await sleep(5);
      if (!ended) {
        workers[0]!.signal('SIGKILL');
        killedAtMs = performance.timeOrigin + performance.now() - (server.hits[0]?.t ?? 0);
      }
    }
    const exit = await coordinator.result;
    const workerExits = await collectWorkers(workers, 15_000);
    const hits = [...server.hits].sort((a, b) => a.t - b.t);
    const text = readText(out);
    const records = parseLines(text);
    const pause = analysePause(hits, config);
    const run: RateRun = {
      setup,
      serverBurst,
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped: exit.stoppedAtMs !== null,
      idealMs: (config.urlCount / config.rps + config.retryAfterS) * 1000,
      requests: server.countRequests(),
      maxIn1s: maxInWindow(
        hits.map((hit) => hit.t),
        1000,
      ),
      plantedAt: pause.plantedAt,
      sentDuringPause: pause.sentDuringPause,
      firstAfterPauseMs: pause.firstAfterPauseMs,
      retryAfterPauseMs: pause.retryAfterPauseMs,
      rateAfterPause: pause.rateAfterPause,
      other429: server.count429() - (pause.sentDuringPause === null ? 0 : 1),
      sentDuringAnyWait: sentDuringToldWait(hits, config.pauseSlackMs).length,
      linesWithRecord: new Set(records.map((record) => record.line)).size,
      records: records.length,
      ok: records.filter((record) => record.ok).length,
      duplicates: countDuplicates(hits),
      exits: `${exitText(exit)} · ${workerExits.map(exitText).join(' ') || '—'}`,
      handedBack: workerExits.map((w) => {
        const n = /(\d+) records handed back/.exec(w.stderr)?.[1];
        return n === undefined ? null : Number(n);
      }),
      killedAtMs,
      firstArrival: hits[0]?.t ?? null,
      cameBackMs: killedAtMs === null || hits.length === 0 ? [] : cameBack(hits, hits[0]!.t + killedAtMs),
      arrivalSpanMs: hits.length < 2 ? 0 : hits[hits.length - 1]!.t - hits[0]!.t,
      perSecond: perSecond(hits),
      gapsBefore429: gapsBeforeOther429(hits, pause.plantedAt),
      stats: readStatsFile(statsPath),
      stderrLine: firstStderrLine(exit.stderr),
      loadAverage: loadNow(),
    };
    config.log(
      `  ${setup.label}: ${(run.wallMs / 1000).toFixed(1)} s${run.stopped ? ' (stopped at the cap)' : ''}, ${run.requests} requests, ` +
        `most in 1 s ${run.maxIn1s}, ${run.sentDuringPause ?? '—'} during the pause, ${run.other429} other 429s, ` +
        `${run.linesWithRecord}/${config.urlCount} lines with a record (${run.records} records, ${run.ok} ok), ${run.duplicates} duplicates, ` +
        `exits ${run.exits}${run.handedBack.length > 0 ? `, workers handed back ${run.handedBack.map((n) => n ?? '—').join(' ')}` : ''}` +
        `${run.killedAtMs === null ? '' : `, killed at ${(run.killedAtMs / 1000).toFixed(1)} s`}; load ${run.loadAverage.map((n) => n.toFixed(2)).join(' ')}`,
    );
    if (run.stderrLine !== '') config.log(`    stderr: ${run.stderrLine}`);
    return run;
  } finally {
    for (const worker of workers) worker.signal('SIGKILL');
    await server.close();
    await redis.stop();
  }
}

interface PauseFigures {
  /** Arrival of the planted 429 (epoch ms), if it was answered. */
  plantedAt: number | null;
  sentDuringPause: number | null;
  firstAfterPauseMs: number | null;
  retryAfterPauseMs: number | null;
  rateAfterPause: number | null;
}

/**
 * The planted 429: the first 429 on the planted line. (The server's bucket could in principle
 * refuse that line first, with a 1 s Retry-After; the readings would show it: its retry then
 * comes about 1 s after it, not 2.)
 */
function analysePause(hits: readonly Hit[], config: ScaleOutConfig): PauseFigures {
  const isPlanted = (hit: Hit) => hit.path.startsWith(`/flaky/${config.pausedLine}?`);
  const planted = hits.find((hit) => isPlanted(hit) && hit.status === 429);
  if (planted === undefined) return { plantedAt: null, sentDuringPause: null, firstAfterPauseMs: null, retryAfterPauseMs: null, rateAfterPause: null };
  const from = planted.t + config.pauseSlackMs;
  const to = planted.t + config.retryAfterS * 1000;
  const after = hits.filter((hit) => hit.t > planted.t);
  const next = after.find((hit) => hit.t > from);
  const retry = after.find(isPlanted);
  return {
    plantedAt: planted.t,
    sentDuringPause: hits.filter((hit) => hit.t > from && hit.t < to).length,
    firstAfterPauseMs: next === undefined ? null : next.t - planted.t,
    retryAfterPauseMs: retry === undefined ? null : retry.t - planted.t,
    rateAfterPause: achievedRate(hits.filter((hit) => hit.t >= to).map((hit) => hit.t)),
  };
}

/** Requests beyond one per URL that the server answered with anything but 429 (a 429 is a retry, not a duplicate). */
export function countDuplicates(hits: readonly Pick<Hit, 'path' | 'status'>[]): number {
  const answered = new Map<string, number>();
  for (const hit of hits) if (hit.status !== 429) answered.set(hit.path, (answered.get(hit.path) ?? 0) + 1);
  let extra = 0;
  for (const n of answered.values()) extra += n - 1;
  return extra;
}

function lineOf(hit: Hit): number | undefined {
  const match = /^\/(?:items|flaky)\/(\d+)/.exec(hit.path);
  return match === null ? undefined : Number(match[1]);
}

function cameBack(hits: readonly Hit[], killedAt: number): number[] {
  const before = new Set<number>();
  let highest = 0;
  for (const hit of hits) {
    if (hit.t >= killedAt) break;
    const line = lineOf(hit);
    if (line === undefined) continue;
    before.add(line);
    highest = Math.max(highest, line);
  }
  const firstAfter = new Map<number, number>();
  for (const hit of hits) {
    const line = lineOf(hit);
    if (hit.t < killedAt || line === undefined || line > highest || before.has(line) || firstAfter.has(line)) continue;
    firstAfter.set(line, hit.t - killedAt);
  }
  return [...firstAfter.values()].filter((ms) => ms > 1000).sort((a, b) => a - b);
}

function gapsBeforeOther429(hits: readonly Hit[], plantedAt: number | null): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < hits.length; i++) if (hits[i]!.status === 429 && hits[i]!.t !== plantedAt) gaps.push(hits[i]!.t - hits[i - 1]!.t);
  return gaps;
}

function perSecond(hits: readonly Hit[]): number[] {
  if (hits.length === 0) return [];
  const first = hits[0]!.t;
  const counts: number[] = [];
  for (const hit of hits) {
    const i = Math.floor((hit.t - first) / 1000);
    while (counts.length <= i) counts.push(0);
    counts[i]! += 1;
  }
  return counts;
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function parseLines(text: string): Array<{ line: number; ok: boolean }> {
  const records: Array<{ line: number; ok: boolean }> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as { line?: unknown; ok?: unknown };
      if (typeof record.line === 'number') records.push({ line: record.line, ok: record.ok === true });
    } catch {
      // A torn line is no record.
    }
  }
  return records;
}

export function loadNow(): number[] {
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [one ?? Number.NaN, five ?? Number.NaN, fifteen ?? Number.NaN];
}

async function runMemory(config: ScaleOutConfig, inputs: number, dir: string): Promise<MemoryRun> {
  mkdirSync(dir, { recursive: true });
  const redis = await startBenchRedis(dir);
  const service = await startService({ cmd: process.execPath, args: ['--import', 'tsx', 'bench/clients/fixture-server.ts'], cwd: config.repoDir });
  const workers: Running[] = [];
  try {
    const input = join(dir, 'urls.txt');
    await writeUrls(input, service.url, inputs);
    const statsPath = join(dir, 'stats.json');
    const name = 'bench-memory';
    const baseline = await redis.memory();
    workers.push(...(await startWorkers(config, redis.socket, name, 2, config.memoryConcurrency, config.memoryCapMs + WORKER_WAIT_S * 1000)));
    config.log(`  ${inputs.toLocaleString('en-US')} inputs: coordinator + 2 worker processes, -c ${config.memoryConcurrency} each, no rate cap…`);
    const startedAt = performance.now();
    const coordinator = startCapped({
      cmd: process.execPath,
      args: ratefetchArgs(config, [
        input,
        '--redis',
        redis.socket,
        '--name',
        name,
        '-c',
        String(config.memoryConcurrency),
        '-o',
        '/dev/null',
        '--quiet',
        '--stats-file',
        statsPath,
      ]),
      cwd: config.repoDir,
      capMs: config.memoryCapMs,
      stopSignal: 'SIGINT',
      graceMs: 60_000,
    });
    let ended = false;
    void coordinator.result.then(() => {
      ended = true;
    });
    const samples: Array<[number, number]> = [];
    let peakRss = 0;
    while (!ended) {
      const memory = await redis.memory().catch(() => undefined);
      if (memory !== undefined) {
        samples.push([(performance.now() - startedAt) / 1000, memory.used]);
        peakRss = Math.max(peakRss, memory.rss);
      }
      await Promise.race([sleep(SAMPLE_EVERY_MS), coordinator.result]);
    }
    const exit = await coordinator.result;
    const workerExits = await collectWorkers(workers, 30_000);
    const stats = readStatsFile(statsPath);
    const run: MemoryRun = {
      inputs,
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped: exit.stoppedAtMs !== null,
      capMs: config.memoryCapMs,
      records: stats?.records ?? null,
      ok: stats?.ok ?? null,
      requests: stats?.attempts ?? null,
      baselineBytes: baseline.used,
      samples,
      peakRssBytes: peakRss,
      exits: `${exitText(exit)} · ${workerExits.map(exitText).join(' ')}`,
      stderrLine: firstStderrLine(exit.stderr),
      loadAverage: loadNow(),
    };
    const used = samples.map(([, bytes]) => bytes);
    config.log(
      `    ${(run.wallMs / 1000).toFixed(0)} s${run.stopped ? ' (stopped at the cap)' : ''}, ${run.ok ?? '?'} ok of ${inputs}, ` +
        `used_memory ${mib(baseline.used)} before, peak ${mib(Math.max(...used))}, ${samples.length} samples; exits ${run.exits}; ` +
        `load ${run.loadAverage.map((n) => n.toFixed(2)).join(' ')}`,
    );
    if (run.stderrLine !== '') config.log(`    stderr: ${run.stderrLine}`);
    return run;
  } finally {
    for (const worker of workers) worker.signal('SIGKILL');
    service.stop();
    await redis.stop();
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function writeUrls(path: string, base: string, count: number): Promise<void> {
  const stream = createWriteStream(path);
  const batch = 10_000;
  for (let start = 1; start <= count; start += batch) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(start + batch, count + 1); i++) lines.push(`${base}/items/${i}`);
    if (!stream.write(`${lines.join('\n')}\n`)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}
