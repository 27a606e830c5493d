/**
 * The figures of one simulated run, the figures of a row (a mode against one client setting,
 * over the grid of runs), and whether the row meets the target (#23, "Measured"): pure,
 * from the run's arrivals, records and rate changes.
 */
import type { SimulatedRun } from './simulated-run.js';
import type { LimitChange, SimMode } from './sim-modes.js';

/** How the client is told the rate: `--rps auto`, `--rps` twice the limit, or no `--rps`. */
export type ClientKind = 'auto' | 'twice' | 'none';

/** A lane's rate changed at `t` (epoch ms); Infinity: it has none (quota headers took over). */
export interface RateChange {
  t: number;
  lane: string;
  rps: number;
}

/** The rate found is the new limit once the client's rate is within these shares of it. */
const FOUND_BAND = [0.9, 1.05] as const;
/** "At most one 429 per 10 s after the first 10 s": the first 10 s are for finding the limit. */
const SETTLE_MS = 10_000;

export interface RunFigures {
  /** ideal ÷ span. */
  efficiency: number;
  spanMs: number;
  idealMs: number;
  /** 429s the model answered, and every request that reached it. */
  refused: number;
  requests: number;
  /** 429s that arrived after the run's first 10 s, per 10 s of the rest of the run. */
  refusedPer10s: number;
  /** 429s from the limit's first change to its second (or the end): "429s on the halving". */
  refusedOnHalving: number;
  /** Records ok. */
  ok: number;
  /** The summary's "rate found" (settled), or undefined when no limit was found. */
  rateFound: number | undefined;
  /** Ms from a change of the limit to the client's rate at the new limit: the longest over the changes (Infinity: never). */
  changeFoundMs: number | undefined;
  run: SimulatedRun;
}

/** The figures of `run` against `sim`, whose ideal for it is `idealMs`; `rates` are its lanes' rate changes, `capRps` the --rps (Infinity for none or auto). */
export function runFigures(sim: SimMode, run: SimulatedRun, idealMs: number, rates: readonly RateChange[], capRps: number): RunFigures {
  const refusals = run.arrivals.filter(({ answer }) => answer.kind === 'response' && answer.status === 429).map(({ request }) => request.t);
  const firstMs = run.arrivals[0]?.request.t ?? run.startMs;
  const spanMs = run.endMs - run.startMs;
  const restMs = run.endMs - (firstMs + SETTLE_MS);
  const late = refusals.filter((t) => t >= firstMs + SETTLE_MS).length;
  const [halved, after] = sim.changes;
  const halvingEnd = after === undefined ? Infinity : firstMs + after.afterMs;
  const lane = run.stats.laneRates[0];
  return {
    efficiency: idealMs / spanMs,
    spanMs,
    idealMs,
    refused: refusals.length,
    requests: run.arrivals.length,
    refusedPer10s: restMs > 0 ? late / (restMs / 10_000) : 0,
    refusedOnHalving: halved === undefined ? 0 : refusals.filter((t) => t >= firstMs + halved.afterMs && t < halvingEnd).length,
    ok: run.records.filter((record) => record.ok).length,
    rateFound: lane?.found ? lane.settledRps : undefined,
    changeFoundMs: sim.changes.length === 0 ? undefined : Math.max(...sim.changes.map((change) => foundAfterMs(change, firstMs, rates, capRps))),
    run,
  };
}

/** Ms from `change` to the first moment the client's rate (the lowest lane's, under the --rps) is within FOUND_BAND of its rate. */
function foundAfterMs(change: LimitChange, firstMs: number, rates: readonly RateChange[], capRps: number): number {
  const atMs = firstMs + change.afterMs;
  const lanes = new Map<string, number>();
  const inBand = () => {
    const rps = Math.min(capRps, ...lanes.values());
    return rps >= FOUND_BAND[0] * change.rps && rps <= FOUND_BAND[1] * change.rps;
  };
  let i = 0;
  for (; i < rates.length && rates[i]!.t <= atMs; i++) setLane(lanes, rates[i]!);
  if (inBand()) return 0;
  for (; i < rates.length; i++) {
    setLane(lanes, rates[i]!);
    if (inBand()) return rates[i]!.t - atMs;
  }
  return Infinity;
}

function setLane(lanes: Map<string, number>, { lane, rps }: RateChange): void {
  if (Number.isFinite(rps)) lanes.set(lane, rps);
  else lanes.delete(lane);
}

export interface RowFigures {
  runs: number;
  efficiencyMean: number;
  efficiencyWorst: number;
  refusedMean: number;
  /** Worst run: the most 429s, the most per 10 s after the first 10 s, the largest share of requests, the most on the halving. */
  refusedMost: number;
  refusedPer10sWorst: number;
  refusedShareWorst: number;
  refusedOnHalvingWorst: number;
  okFewest: number;
  /** The median rate found over the runs that found one, and how many did. */
  rateFound: number | undefined;
  rateFoundRuns: number;
  changeFoundWorstMs: number | undefined;
}

export function rowFigures(runs: readonly RunFigures[]): RowFigures {
  const worst = (of: (f: RunFigures) => number) => Math.max(...runs.map(of));
  const found = runs.flatMap((f) => (f.rateFound === undefined ? [] : [f.rateFound]));
  const changes = runs.flatMap((f) => (f.changeFoundMs === undefined ? [] : [f.changeFoundMs]));
  return {
    runs: runs.length,
    efficiencyMean: runs.reduce((sum, f) => sum + f.efficiency, 0) / runs.length,
    efficiencyWorst: Math.min(...runs.map((f) => f.efficiency)),
    refusedMean: runs.reduce((sum, f) => sum + f.refused, 0) / runs.length,
    refusedMost: worst((f) => f.refused),
    refusedPer10sWorst: worst((f) => f.refusedPer10s),
    refusedShareWorst: worst((f) => f.refused / f.requests),
    refusedOnHalvingWorst: worst((f) => f.refusedOnHalving),
    okFewest: Math.min(...runs.map((f) => f.ok)),
    rateFound: found.length === 0 ? undefined : median(found),
    rateFoundRuns: found.length,
    changeFoundWorstMs: changes.length === 0 ? undefined : Math.max(...changes),
  };
}

/** The least efficiency (mean over the runs) the target asks of a row. */
function efficiencyTarget(sim: SimMode, client: ClientKind): number | undefined {
  if (sim.target === 'faults') return 0.8;
  if (client === 'twice') return 0.9; // "told twice the rate (--rps 40): ≥ 0.9"
  return { quota: 0.95, 'retry-after': 0.92, 'no-hints': 0.88, slow: 0.9, change: undefined }[sim.target];
}

/** The target of a row, in words: the mode's own; with --rps twice the limit, "≥ 0.9" for the efficiency instead. */
export function targetText(sim: SimMode, client: ClientKind): string {
  const efficiency = efficiencyTarget(sim, client);
  if (client !== 'twice' || sim.target === 'faults') return TARGETS[sim.target];
  return [`≥ ${efficiency}`, sim.target === 'change' ? TARGETS.change : ''].filter(Boolean).join(', ');
}

const TARGETS = {
  quota: '≥ 0.95, zero 429s',
  'retry-after': '≥ 0.92, ≤ 1 × 429 per 10 s after the first 10 s',
  'no-hints': '≥ 0.88, 429s < 3% of requests',
  faults: '≥ 0.8, rate found ≥ 0.9 × limit',
  change: 'new limit found within 5 s of each change, ≤ 10 × 429 on the halving',
  slow: '≥ 0.9',
} as const;

/** Why the row misses its target: nothing when it meets it. Efficiency by the mean, 429s by the worst run. */
export function misses(sim: SimMode, client: ClientKind, row: RowFigures): string[] {
  const out: string[] = [];
  const efficiency = efficiencyTarget(sim, client);
  if (efficiency !== undefined && row.efficiencyMean < efficiency) out.push(`efficiency ${row.efficiencyMean.toFixed(3)} < ${efficiency}`);
  const hintTarget = client !== 'twice';
  if (hintTarget && sim.target === 'quota' && row.refusedMost > 0) out.push(`${row.refusedMost} × 429 in a run`);
  if (hintTarget && sim.target === 'retry-after' && row.refusedPer10sWorst > 1) out.push(`${row.refusedPer10sWorst.toFixed(2)} × 429 per 10 s`);
  if (hintTarget && sim.target === 'no-hints' && row.refusedShareWorst >= 0.03) out.push(`429s ${percent(row.refusedShareWorst)} of requests`);
  if (sim.target === 'faults') {
    if (row.rateFoundRuns < row.runs) out.push(`rate found in ${row.rateFoundRuns} of ${row.runs} runs`);
    else if (row.rateFound! < 0.9 * sim.limitRps) out.push(`rate found ${row.rateFound!.toFixed(1)}/s < ${(0.9 * sim.limitRps).toFixed(1)}/s`);
  }
  if (sim.target === 'change') {
    if (row.changeFoundWorstMs! > 5_000) out.push(`new limit found ${formatFoundAfter(row.changeFoundWorstMs)}`);
    if (row.refusedOnHalvingWorst > 10) out.push(`${row.refusedOnHalvingWorst} × 429 on the halving`);
  }
  return out;
}

/** The row's 429s as its mode's target counts them (worst run), for the table. */
export function refusedAsTargeted(sim: SimMode, row: RowFigures): string {
  switch (sim.target) {
    case 'quota':
      return `${row.refusedMost} in a run`;
    case 'retry-after':
      return `${row.refusedPer10sWorst.toFixed(2)} per 10 s`;
    case 'no-hints':
      return `${percent(row.refusedShareWorst)} of requests`;
    case 'change':
      return `${row.refusedOnHalvingWorst} on the halving`;
    default:
      return '';
  }
}

export function formatFoundAfter(ms: number | undefined): string {
  if (ms === undefined) return '';
  return Number.isFinite(ms) ? `after ${(ms / 1000).toFixed(1)} s` : 'never';
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
