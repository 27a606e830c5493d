/**
 * Issue #23, "Measured": every limiter shape of fixtures/limiters/ over real HTTP, each run
 * against its own in-process fixture server in the model mode (as limits.ts does). Per mode:
 * ratefetch `--rps auto -c 10`, ratefetch told twice the limit, and serial curl told the right
 * rate. Efficiency = the mode's `ideal()` (the least time its limiter allows the requests the
 * run needs, faults' retries included, from the first arrival) ÷ the client's wall time
 * (spawn to exit). Figures come from the server's hit log and ratefetch's --stats-file.
 *
 * Runs go two at a time; the long modes (60 s windows, the slow API) run beside them in a lane
 * of their own, since each spends minutes mostly waiting for its next window.
 */
import { getMode } from '../../fixtures/limiters/index.js';
import { windowQuota } from '../../fixtures/limiters/limiter.js';
import { startFixtureServer } from '../../fixtures/server.js';
import { maxInWindow } from '../lib/analyze.js';
import { curlSerialPlan, ratefetchPlan, type ClientPlan, type ClientSetup } from '../lib/clients.js';
import { runCapped } from '../lib/proc.js';

export interface ShapesConfig {
  repoDir: string;
  workDir: string;
  /** Each run is capped at min(capFactor × ideal, capMs); a long mode's at max(ideal + 60 s, 1.25 × count / limit). */
  capFactor: number;
  capMs: number;
  /** Only these modes, if set (e.g. from BENCH_SHAPES_MODES). */
  only?: readonly string[];
  log: (line: string) => void;
}

/** Which of the issue's targets a mode answers to. */
export type TargetKind = 'headers' | 'retry-after' | 'none' | 'faults' | 'change' | 'slow';

export const TARGETS: Record<TargetKind | 'twice', string> = {
  headers: '≥ 0.95, no 429',
  'retry-after': '≥ 0.92, ≤ 1 × 429 in any 10 s after the first',
  none: '≥ 0.88, 429s < 3% of requests',
  twice: '≥ 0.90',
  faults: '≥ 0.80, rate found ≥ 0.9 × limit',
  change: 'new limit held within 5 s of each change, ≤ 10 × 429 in the 10 s after the halving',
  slow: '≥ 0.90',
};

export interface ShapeMode {
  name: string;
  kind: TargetKind;
  /** Requests the run makes (the mode's quota is sized for it). */
  count: number;
  /** The rate the limiter allows in steady state, per second: what curl is told. */
  limitRps: number;
  long: boolean;
}

const N = 600;
const SLOW_N = 300; // 60 s of ideal at 5/s, instead of 120 s
const CHANGE_AFTER_MS = 10_000; // the modes' own changeAfterMs default

export const SHAPE_MODES: readonly ShapeMode[] = [
  ...['quota-rounded-short', 'quota-rounded-long', 'ietf-draft11'].map((name) => mode(name, 'headers')),
  ...['fw1s', 'client-window-1s', 'client-window-2s', 'sliding-log', 'sliding-counter'].map((name) => mode(name, 'retry-after')),
  // A 60 s window's quota is capped at N / 5 so the run spans five windows: 2/s, whatever N.
  { name: 'fw60s', kind: 'retry-after', count: N, limitRps: windowQuota(20, 60_000, N) / 60, long: true },
  { name: 'client-window-60s', kind: 'retry-after', count: N, limitRps: windowQuota(20, 60_000, N) / 60, long: true },
  ...['tb1', 'tb5', 'gcra'].map((name) => mode(name, 'none')),
  ...['faults10', 'faults30'].map((name) => mode(name, 'faults')),
  ...['halving', 'doubling'].map((name) => mode(name, 'change')),
  { name: 'slow', kind: 'slow', count: SLOW_N, limitRps: 5, long: true },
];

function mode(name: string, kind: TargetKind): ShapeMode {
  return { name, kind, count: N, limitRps: 20, long: false };
}

export type ShapeClient = 'auto' | 'twice' | 'curl';

export interface ShapeRow {
  mode: ShapeMode;
  client: ShapeClient;
  label: string;
  wallMs: number;
  stopped: boolean;
  idealMs: number;
  efficiency: number;
  requests: number;
  answered429: number;
  /** The most 429s in any 10 s, leaving out the first 429 of the run. */
  most429In10sAfterFirst: number;
  ok: number;
  /** ratefetch's slowest lane's settledRps from --stats-file; null for curl or when absent. */
  rateFound: number | null;
  target: string;
  misses: string[];
}

interface Run {
  mode: ShapeMode;
  client: ShapeClient;
}

export async function runShapes(config: ShapesConfig): Promise<ShapeRow[]> {
  const modes = SHAPE_MODES.filter((m) => config.only === undefined || config.only.includes(m.name));
  const runs = modes.flatMap((m) => (['auto', 'twice', 'curl'] as const).map((client): Run => ({ mode: m, client })));
  const rows: ShapeRow[] = [];
  const lane = async (queue: Run[]): Promise<void> => {
    for (let run = queue.shift(); run !== undefined; run = queue.shift()) rows.push(await runOne(config, run));
  };
  const short = runs.filter((run) => !run.mode.long);
  const long = runs.filter((run) => run.mode.long);
  config.log(`  ${runs.length} runs: ${short.length} two at a time, ${long.length} long ones three at a time beside them…`);
  await Promise.all([lane(short), lane(short), lane(long), lane(long), lane(long)]);
  const order = (row: ShapeRow) => SHAPE_MODES.indexOf(row.mode) * 3 + ['auto', 'twice', 'curl'].indexOf(row.client);
  return rows.sort((a, b) => order(a) - order(b));
}

function planFor(run: Run, setup: ClientSetup): ClientPlan {
  const isFaulty = run.mode.kind === 'faults';
  const timeout = isFaulty ? ['--timeout', '2'] : [];
  if (run.client === 'auto') return ratefetchPlan(setup, 'auto', 'auto', timeout);
  if (run.client === 'twice') return ratefetchPlan(setup, 2 * run.mode.limitRps, '2x', timeout);
  return curlSerialPlan(setup, run.mode.limitRps, 'right', isFaulty ? ['--max-time', '2'] : []);
}

async function runOne(config: ShapesConfig, run: Run): Promise<ShapeRow> {
  const model = getMode(run.mode.name);
  const server = await startFixtureServer({ model: model.create({ count: run.mode.count }), keepLog: true });
  try {
    const roughIdealMs = model.ideal(run.mode.count);
    // A long mode's client told the right rate needs count / limit, more than its ideal (which
    // takes a first window's quota at once): cap it a quarter past that.
    const capMs = run.mode.long
      ? Math.max(roughIdealMs + 60_000, (1250 * run.mode.count) / run.mode.limitRps)
      : Math.min(config.capFactor * roughIdealMs, config.capMs);
    const urls = Array.from({ length: run.mode.count }, (_, i) => `${server.url}/items/${i + 1}`);
    const plan = planFor(run, { repoDir: config.repoDir, workDir: config.workDir, urls, capMs });
    const exit = await runCapped({ ...plan.spec, cwd: config.repoDir });
    const firstMs = server.hits[0]?.t ?? 0;
    const idealMs = model.ideal(run.mode.count, { count: run.mode.count, startMs: firstMs });
    const wallMs = exit.stoppedAtMs ?? exit.wallMs;
    const t429 = server.hits.filter((hit) => hit.status === 429).map((hit) => hit.t);
    const lanes = plan.readStats?.()?.laneRates ?? [];
    const settled = lanes.map((l) => l.settledRps ?? l.rps);
    const row: ShapeRow = {
      mode: run.mode,
      client: run.client,
      label: plan.label,
      wallMs,
      stopped: exit.stoppedAtMs !== null,
      idealMs,
      efficiency: idealMs / wallMs,
      requests: server.countRequests(),
      answered429: server.count429(),
      most429In10sAfterFirst: maxInWindow(t429.slice(1), 10_000),
      ok: plan.countComplete(exit),
      rateFound: settled.length === 0 ? null : Math.min(...settled),
      target: run.client === 'twice' ? TARGETS.twice : TARGETS[run.mode.kind],
      misses: [],
    };
    row.misses = judge(row, server.hits);
    config.log(
      `  done: ${run.mode.name} / ${row.label}: ${(wallMs / 1000).toFixed(1)} s${row.stopped ? ' (stopped at the cap)' : ''}, ` +
        `efficiency ${row.efficiency.toFixed(2)}, ${row.ok}/${run.mode.count} ok, ${row.requests} requests, ${row.answered429} × 429: ` +
        `${row.misses.length === 0 ? 'pass' : `fail (${row.misses.join('; ')})`}`,
    );
    return row;
  } finally {
    await server.close();
  }
}

/** The row against its target; every miss named, none when it passes. */
export function judge(row: ShapeRow, hits: ReadonlyArray<{ t: number; status: number }>): string[] {
  const misses: string[] = [];
  const { mode } = row;
  if (row.stopped) misses.push(`stopped at the cap with ${row.ok}/${mode.count} ok`);
  else if (row.ok < mode.count) misses.push(`only ${row.ok}/${mode.count} ok`);
  const least = row.client === 'twice' ? 0.9 : { headers: 0.95, 'retry-after': 0.92, none: 0.88, faults: 0.8, change: 0, slow: 0.9 }[mode.kind];
  if (row.efficiency < least) misses.push(`efficiency ${row.efficiency.toFixed(2)}`);
  if (row.client === 'twice') return misses;
  if (mode.kind === 'headers' && row.answered429 > 0) misses.push(`${row.answered429} × 429`);
  if (mode.kind === 'retry-after' && row.most429In10sAfterFirst > 1) misses.push(`${row.most429In10sAfterFirst} × 429 in 10 s`);
  if (mode.kind === 'none' && row.answered429 >= 0.03 * row.requests) misses.push(`429s ${((100 * row.answered429) / row.requests).toFixed(1)}%`);
  if (mode.kind === 'faults' && row.client !== 'curl' && !(row.rateFound !== null && row.rateFound >= 0.9 * mode.limitRps)) {
    misses.push(`rate found ${row.rateFound?.toFixed(1) ?? '—'}/s`);
  }
  if (mode.kind === 'change') misses.push(...judgeChanges(mode, hits));
  return misses;
}

/**
 * After each change of the limit: 200s in the 5 s from 5 s to 10 s after it (or to the last
 * arrival) at ≥ 0.9 × the new limit, and at most 10 × 429 in the 10 s after the halving.
 */
function judgeChanges(mode: ShapeMode, hits: ReadonlyArray<{ t: number; status: number }>): string[] {
  if (hits.length === 0) return ['no requests'];
  const t0 = hits[0]!.t;
  const lastMs = hits[hits.length - 1]!.t - t0;
  const changes = [{ atMs: CHANGE_AFTER_MS, rps: mode.limitRps / 2 }];
  if (mode.name === 'doubling') changes.push({ atMs: 2 * CHANGE_AFTER_MS, rps: mode.limitRps });
  const misses: string[] = [];
  for (const { atMs, rps } of changes) {
    const from = atMs + 5000;
    const to = Math.min(atMs + CHANGE_AFTER_MS, lastMs);
    if (to - from < 1000) continue; // the run ended before there was anything to hold
    const ok = hits.filter((hit) => hit.status === 200 && hit.t - t0 >= from && hit.t - t0 < to).length;
    const okRps = (ok * 1000) / (to - from);
    if (okRps < 0.9 * rps) misses.push(`${okRps.toFixed(1)}/s from ${from / 1000} s (limit ${rps}/s)`);
  }
  const onHalving = hits.filter((hit) => hit.status === 429 && hit.t - t0 >= CHANGE_AFTER_MS && hit.t - t0 < 2 * CHANGE_AFTER_MS).length;
  if (onHalving > 10) misses.push(`${onHalving} × 429 on the halving`);
  return misses;
}
