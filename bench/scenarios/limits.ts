/**
 * Issue #11, "Measured in npm run bench": N URLs against a fixture server that allows
 * `limitPerWindow` requests per client in fixed 1 s windows, in every mode the server can
 * announce its limit (quota headers in each shape and Reset form, Retry-After only, no hints at
 * all), plus a limit that halves mid-run and a server that punishes requests sent while told
 * to wait. ratefetch runs as a user would for each mode; serial curl, told the right rate and
 * twice it, runs beside it. Each run has its own in-process server; runs go two at a time.
 *
 * Every figure comes from the server's hit log: 429s per window, and requests that arrived
 * inside a wait the server had told that client (Retry-After, or quota headers saying nothing
 * is left), one round trip after it was told.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFixtureServer, type WindowLimitOptions } from '../../fixtures/server.js';
import { breakDownByWindow, sentDuringToldWait, type WindowBreakdown } from '../lib/analyze.js';
import { curlSerialPlan, ratefetchPlan, type ClientPlan, type ClientSetup, type RatefetchStats } from '../lib/clients.js';
import { firstStderrLine, runCapped } from '../lib/proc.js';

export interface LimitsConfig {
  repoDir: string;
  workDir: string;
  urlCount: number;
  /** Requests per client per window; with 1 s windows, the server's rps. */
  limitPerWindow: number;
  windowMs: number;
  /** The limit halves this long after the first request, in the halving mode. */
  halveAfterMs: number;
  capMs: number;
  /** One round trip: requests arriving this soon after a wait was told were already on their way. */
  graceMs: number;
  /** If set, each run's hit log is written here as JSON (t, status, toldToWait, punished), for reading by hand. */
  hitsDir?: string;
  log: (line: string) => void;
}

/** Which hints a mode gives decides its target (issue #11). */
export type Hints = 'headers' | 'retry-after' | 'none';

export interface Target {
  maxWallRatio: number;
  text: string;
}

export const TARGETS: Record<Hints, Target> = {
  headers: { maxWallRatio: 1.05, text: '≤ 1.05 × ideal, no 429' },
  'retry-after': { maxWallRatio: 1.1, text: '≤ 1.10 × ideal, ≤ 1 429 per window' },
  none: { maxWallRatio: 1.2, text: '≤ 1.20 × ideal, 429s < 5% of requests' },
};

export interface LimitMode {
  key: string;
  /** Table label: what the server says. */
  name: string;
  hints: Hints;
  limit: Omit<WindowLimitOptions, 'limit' | 'windowMs'>;
  /** Instead of fixed windows, a token bucket of this depth refilling at the limit per window (Retry-After only). */
  tokenBucketDepth?: number;
}

export interface LimitsRow {
  mode: LimitMode;
  client: 'ratefetch' | 'curl';
  label: string;
  told: string;
  urlCount: number;
  wallMs: number;
  stopped: boolean;
  idealMs: number;
  requests: number;
  answered429: number;
  byWindow: WindowBreakdown;
  /** Requests that arrived inside a told wait after the grace; null when the mode never tells one. */
  sentDuringWait: number | null;
  /** For those: the latest, in ms after the wait was told. */
  latestOffenceMs: number | null;
  /** For those: when they arrived, in ms after the run's first request. */
  offencesAtMs: number[];
  punished: number;
  complete: number;
  exit: string;
  /** Set when the client refused its arguments (exit 2): the run measured nothing. */
  usageError: string | null;
  stderrLine: string;
  stats?: RatefetchStats;
  result: { verdict: 'pass' | 'fail' | 'not measured'; misses: string[] };
}

export function limitModes(config: Pick<LimitsConfig, 'halveAfterMs' | 'graceMs' | 'limitPerWindow'>): LimitMode[] {
  // Header modes also send Retry-After on a 429, as GitHub and the IETF drafts' examples do.
  const headers = (key: string, name: string, limit: LimitMode['limit']): LimitMode => ({
    key,
    name,
    hints: 'headers',
    limit: { retryAfter: 'seconds', ...limit },
  });
  return [
    headers('x-epoch-s', 'X-RateLimit, Reset in epoch seconds', { headers: 'x-ratelimit', reset: 'epoch-seconds' }),
    headers('x-delta-s', 'X-RateLimit, Reset in delta seconds', { headers: 'x-ratelimit', reset: 'delta-seconds' }),
    headers('x-epoch-ms', 'X-RateLimit, Reset in epoch ms', { headers: 'x-ratelimit', reset: 'epoch-ms' }),
    headers('ietf-draft', 'RateLimit-Limit/-Remaining/-Reset (drafts 00–06)', { headers: 'ietf-draft' }),
    headers('ietf-combined', 'RateLimit: limit, remaining, reset + RateLimit-Policy (draft 07)', { headers: 'ietf-combined' }),
    headers('ietf-structured', 'RateLimit-Policy: "default";q;w + RateLimit: "default";r;t (draft 08 on)', { headers: 'ietf-structured' }),
    { key: 'retry-after', name: 'Retry-After only', hints: 'retry-after', limit: { headers: 'none', retryAfter: 'seconds' } },
    { key: 'no-hints', name: 'no hints (bare 429)', hints: 'none', limit: { headers: 'none', retryAfter: 'none' } },
    // The measure counts per clock second; a server's windows need not turn over with them.
    {
      key: 'off-clock',
      name: 'Retry-After only, windows turn over at x.5 s (off the clock)',
      hints: 'retry-after',
      limit: { headers: 'none', retryAfter: 'seconds', phaseMs: 500 },
    },
    {
      key: 'halving',
      name: `Retry-After only, limit halves to ${Math.floor(config.limitPerWindow / 2)} after ${config.halveAfterMs / 1000} s`,
      hints: 'retry-after',
      limit: { headers: 'none', retryAfter: 'seconds', halveAfterMs: config.halveAfterMs },
    },
    {
      key: 'punish',
      name: 'Retry-After only, punishing (an early request doubles the wait)',
      hints: 'retry-after',
      // The server forgives exactly the grace the measurement allows: punished = sent during a wait.
      limit: { headers: 'none', retryAfter: 'seconds', punish: { factor: 2, graceMs: config.graceMs, maxWaitMs: 30_000 } },
    },
    // Not fixed windows: nginx's limit_req without burst refuses two requests closer than its interval.
    {
      key: 'bucket-1',
      name: 'Retry-After only, token bucket of depth 1 (no two requests closer than the interval)',
      hints: 'retry-after',
      limit: { headers: 'none', retryAfter: 'seconds' },
      tokenBucketDepth: 1,
    },
    {
      key: 'bucket-5',
      name: 'Retry-After only, token bucket of depth 5',
      hints: 'retry-after',
      limit: { headers: 'none', retryAfter: 'seconds' },
      tokenBucketDepth: 5,
    },
  ];
}

interface RunPlan {
  mode: LimitMode;
  client: 'ratefetch' | 'curl';
  plan: (setup: ClientSetup) => ClientPlan;
}

export async function runLimits(config: LimitsConfig): Promise<LimitsRow[]> {
  const modes = new Map(limitModes(config).map((mode) => [mode.key, mode]));
  const mode = (key: string): LimitMode => modes.get(key)!;
  const right = config.limitPerWindow / (config.windowMs / 1000);
  const twice = right * 2;
  const rf = (key: string, rps: number | 'auto' | null, told: string): RunPlan => ({
    mode: mode(key),
    client: 'ratefetch',
    plan: (s) => ratefetchPlan(s, rps, told),
  });
  const curl = (key: string, rps: number): RunPlan => ({
    mode: mode(key),
    client: 'curl',
    plan: (s) => curlSerialPlan(s, rps, rps === right ? `${rps} rps (right${key === 'halving' ? ' until the halving' : ''})` : `${rps} rps (2x)`),
  });
  // ratefetch and curl alternate so that two runs, each with its own server, go side by side.
  const runs: RunPlan[] = [
    rf('x-epoch-s', null, 'nothing (headers pace it)'),
    curl('x-epoch-s', right),
    rf('x-delta-s', null, 'nothing (headers pace it)'),
    curl('x-epoch-s', twice),
    rf('x-epoch-ms', null, 'nothing (headers pace it)'),
    curl('retry-after', right),
    rf('ietf-draft', null, 'nothing (headers pace it)'),
    curl('retry-after', twice),
    rf('ietf-combined', null, 'nothing (headers pace it)'),
    curl('no-hints', right),
    rf('ietf-structured', null, 'nothing (headers pace it)'),
    curl('no-hints', twice),
    rf('retry-after', null, 'nothing'),
    curl('halving', right),
    rf('retry-after', twice, `${twice} rps (2x)`),
    curl('halving', twice),
    rf('no-hints', 'auto', 'auto'),
    curl('punish', right),
    rf('halving', 'auto', 'auto'),
    curl('punish', twice),
    rf('punish', null, 'nothing'),
    rf('punish', 'auto', 'auto'),
    // Without --rps the first window is a burst of -c requests; --rps auto starts modestly.
    rf('retry-after', 'auto', 'auto'),
    rf('no-hints', twice, `${twice} rps (2x)`),
    // A ceiling, even twice too high, spares slow start's first second.
    rf('halving', twice, `${twice} rps (2x)`),
    rf('punish', twice, `${twice} rps (2x)`),
    rf('bucket-1', 'auto', 'auto'),
    rf('bucket-1', twice, `${twice} rps (2x)`),
    curl('bucket-1', right),
    rf('bucket-5', 'auto', 'auto'),
    rf('bucket-5', twice, `${twice} rps (2x)`),
    curl('bucket-5', right),
    rf('off-clock', 'auto', 'auto'),
    rf('off-clock', twice, `${twice} rps (2x)`),
  ];
  const rows: LimitsRow[] = [];
  config.log(`  ${runs.length} runs, two at a time, each stopped after ${config.capMs / 1000} s at most…`);
  for (let i = 0; i < runs.length; i += 2) {
    rows.push(...(await Promise.all(runs.slice(i, i + 2).map((run) => runOne(config, run)))));
  }
  // The table reads by mode, ratefetch first.
  const order = [...modes.keys()];
  return rows.sort((a, b) => order.indexOf(a.mode.key) - order.indexOf(b.mode.key) || clientOrder(a) - clientOrder(b));
}

function clientOrder(row: LimitsRow): number {
  if (row.client === 'ratefetch') return row.told.startsWith('nothing') || row.told === 'auto' ? 0 : 1;
  return row.told.includes('2x') ? 3 : 2;
}

/** The time a client that never wastes a window takes: N over the rate, split at the halving. */
export function idealMs(mode: LimitMode, config: Pick<LimitsConfig, 'urlCount' | 'limitPerWindow' | 'windowMs'>): number {
  const perMs = config.limitPerWindow / config.windowMs;
  const halveAfterMs = mode.limit.halveAfterMs;
  if (halveAfterMs === undefined || config.urlCount <= perMs * halveAfterMs) return config.urlCount / perMs;
  const halvedPerMs = Math.max(1, Math.floor(config.limitPerWindow / 2)) / config.windowMs;
  return halveAfterMs + (config.urlCount - perMs * halveAfterMs) / halvedPerMs;
}

async function runOne(config: LimitsConfig, run: RunPlan): Promise<LimitsRow> {
  const { tokenBucketDepth } = run.mode;
  const server = await startFixtureServer(
    tokenBucketDepth === undefined
      ? { limit: { limit: config.limitPerWindow, windowMs: config.windowMs, ...run.mode.limit }, keepLog: true }
      : { rps: config.limitPerWindow / (config.windowMs / 1000), burst: tokenBucketDepth, retryAfter: 'seconds', keepLog: true },
  );
  try {
    const urls = Array.from({ length: config.urlCount }, (_, i) => `${server.url}/items/${i + 1}`);
    const plan = run.plan({ repoDir: config.repoDir, workDir: config.workDir, urls, capMs: config.capMs });
    const exit = await runCapped({ ...plan.spec, cwd: config.repoDir });
    const stderrLine = firstStderrLine(exit.stderr, (line) => /^\d{3}$/.test(line));
    const offences = sentDuringToldWait(server.hits, config.graceMs);
    const neverTells = run.mode.limit.retryAfter === 'none' && run.mode.limit.headers === 'none';
    const row: LimitsRow = {
      mode: run.mode,
      client: run.client,
      label: plan.label,
      told: plan.told,
      urlCount: config.urlCount,
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped: exit.stoppedAtMs !== null,
      idealMs: idealMs(run.mode, config),
      requests: server.countRequests(),
      answered429: server.count429(),
      byWindow: breakDownByWindow(server.hits, config.windowMs),
      sentDuringWait: neverTells ? null : offences.length,
      latestOffenceMs: offences.length === 0 ? null : Math.max(...offences.map((hit) => hit.t - hit.toldToWait!.since)),
      offencesAtMs: offences.map((hit) => hit.t - server.hits[0]!.t),
      punished: server.hits.filter((hit) => hit.punished).length,
      complete: plan.countComplete(exit),
      exit: exit.signal ?? String(exit.code),
      usageError: run.client === 'ratefetch' && exit.code === 2 ? stderrLine || 'exit 2' : null,
      stderrLine,
      stats: plan.readStats?.(),
      result: { verdict: 'pass', misses: [] },
    };
    row.result = judge(row);
    if (config.hitsDir !== undefined) {
      mkdirSync(config.hitsDir, { recursive: true });
      const name = `${run.mode.key}--${plan.label}--${plan.told}`.replace(/[^A-Za-z0-9.-]+/g, '_');
      const hits = server.hits.map(({ t, status, toldToWait, punished }) => ({ t, status, toldToWait, punished }));
      writeFileSync(
        join(config.hitsDir, `${name}.json`),
        JSON.stringify({ mode: run.mode, label: plan.label, told: plan.told, graceMs: config.graceMs, hits }),
      );
    }
    config.log(
      `  done: ${row.mode.name} / ${row.label}, told ${row.told}: ${(row.wallMs / 1000).toFixed(1)} s${row.stopped ? ' (stopped at the cap)' : ''}, ` +
        `${row.complete}/${row.urlCount} complete, ${row.requests} requests, ${row.answered429} × 429, ${row.sentDuringWait ?? '—'} sent during a wait: ` +
        `${row.result.verdict}${row.result.misses.length > 0 ? ` (${row.result.misses.join('; ')})` : ''}`,
    );
    if (row.stderrLine !== '' && row.client === 'ratefetch') config.log(`    stderr: ${row.stderrLine}`);
    return row;
  } finally {
    await server.close();
  }
}

/** The row against its mode's target; every miss named. */
export function judge(row: LimitsRow): LimitsRow['result'] {
  if (row.usageError !== null) return { verdict: 'not measured', misses: [`ratefetch refused its arguments: ${row.usageError}`] };
  const target = TARGETS[row.mode.hints];
  const misses: string[] = [];
  const wallRatio = row.wallMs / row.idealMs;
  if (row.stopped) misses.push(`stopped at the cap with ${row.complete}/${row.urlCount} complete`);
  else if (row.complete < row.urlCount) misses.push(`only ${row.complete}/${row.urlCount} complete`);
  if (wallRatio > target.maxWallRatio) misses.push(`wall ${row.stopped ? '>' : ''}${wallRatio.toFixed(2)} × ideal`);
  if (row.mode.hints === 'headers' && row.answered429 > 0) misses.push(`${row.answered429} × 429`);
  if (row.mode.hints === 'retry-after' && row.byWindow.max429 > 1) misses.push(`up to ${row.byWindow.max429} × 429 in one window`);
  if (row.mode.hints === 'none' && row.answered429 >= 0.05 * row.requests) {
    misses.push(`429s ${((100 * row.answered429) / Math.max(1, row.requests)).toFixed(1)}% of requests`);
  }
  if (row.sentDuringWait !== null && row.sentDuringWait > 0) misses.push(`${row.sentDuringWait} sent during a wait`);
  return { verdict: misses.length === 0 ? 'pass' : 'fail', misses };
}
