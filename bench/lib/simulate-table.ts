/**
 * The table of `npm run simulate`: every model (sim-models.ts) × every client setting, each over
 * a grid of start phases and latencies, run in virtual time (simulated-run.ts). bench/simulate.ts
 * writes it to bench/SIMULATE.md; test/unit/simulate-table.test.ts builds it again and compares,
 * so any change in how the run paces itself shows up there.
 */
import type { RunEvent } from '../../src/events.js';
import type { RunOptions } from '../../src/options.js';
import { MODELS, LIMIT_RPS } from './sim-models.js';
import { simulateRun, type SimulatedRun } from './simulated-run.js';

export const TABLE_FILE = new URL('../SIMULATE.md', import.meta.url);

export const COUNT = 600;
export const PHASES_MS = [0, 219, 500, 811];
export const LATENCIES_MS = [5, 60];
export const ONE_WAY_MS = 1;

/** The client settings of each row, as flags and as options. */
export const CLIENTS: Record<string, Partial<RunOptions>> = {
  '--rps auto': { autoRate: true },
  'no --rps': {},
  '--rps 20': { rps: 20 },
  '--rps 40': { rps: 40 },
};

export interface RunFigures {
  /** ideal ÷ span. */
  efficiency: number;
  spanMs: number;
  idealMs: number;
  /** 429s the model answered. */
  refused: number;
  /** Records ok. */
  ok: number;
  /** The summary's "rate found" (settled), or undefined when no limit was found. */
  rateFound: number | undefined;
  run: SimulatedRun;
}

/** One run of `modelName` against `options` (from CLIENTS, or any). */
export async function measureRun(
  modelName: string,
  options: Partial<RunOptions>,
  phaseMs: number,
  latencyMs: number,
  onEvent?: (event: RunEvent, now: number) => void,
): Promise<RunFigures> {
  const model = MODELS[modelName];
  if (model === undefined) throw new Error(`no model ${JSON.stringify(modelName)}`);
  // Seeded by the grid point: each run has its own faults and jitter, the same every time.
  const seed = 1 + phaseMs * 1_000 + latencyMs;
  const run = await simulateRun({
    model: model.create({ latencyMs, seed }),
    count: COUNT,
    options: { ...model.options, ...options },
    phaseMs,
    oneWayMs: ONE_WAY_MS,
    seed,
    onEvent,
  });
  const refused = run.arrivals.filter(({ answer }) => answer.kind === 'response' && answer.status === 429).length;
  const idealMs = model.idealMs(run.arrivals.length - refused);
  const spanMs = run.endMs - run.startMs;
  const lane = run.stats.laneRates[0];
  return {
    efficiency: idealMs / spanMs,
    spanMs,
    idealMs,
    refused,
    ok: run.records.filter((record) => record.ok).length,
    rateFound: lane?.found ? lane.settledRps : undefined,
    run,
  };
}

/** One row: the model against one client setting, over the whole grid. */
export async function tableRow(modelName: string, clientName: string): Promise<string> {
  const figures: RunFigures[] = [];
  for (const phaseMs of PHASES_MS) {
    for (const latencyMs of LATENCIES_MS) figures.push(await measureRun(modelName, CLIENTS[clientName]!, phaseMs, latencyMs));
  }
  const efficiencies = figures.map((f) => f.efficiency);
  const mean = efficiencies.reduce((sum, e) => sum + e, 0) / figures.length;
  const refused = figures.reduce((sum, f) => sum + f.refused, 0) / figures.length;
  const found = figures.flatMap((f) => (f.rateFound === undefined ? [] : [f.rateFound]));
  const rate = found.length === 0 ? '—' : `${median(found).toFixed(1)}/s${found.length < figures.length ? ` (${found.length} of ${figures.length})` : ''}`;
  const cells = [
    modelName,
    MODELS[modelName]!.describe,
    clientName,
    mean.toFixed(3),
    Math.min(...efficiencies).toFixed(3),
    refused.toFixed(1),
    String(Math.min(...figures.map((f) => f.ok))),
    rate,
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The whole file: how to read and refresh it, then the table of `models` (every model by default). */
export async function buildTable(models: readonly string[] = Object.keys(MODELS)): Promise<string> {
  const rows: string[] = [];
  for (const clientName of Object.keys(CLIENTS)) for (const modelName of models) rows.push(await tableRow(modelName, clientName));
  return `${HEADER}
| model | server | client | efficiency mean | worst | 429s per run | ok (fewest) | rate found |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
}

const HEADER = `# npm run simulate

The real run loop (\`schedule()\` with the limiter, lanes, lane pacing, retry policy and rate
controller: everything but undici) against model servers, in virtual time
(bench/lib/simulated-run.ts). The same figures on every run. \`npm test\` builds this table again
and fails when it differs (test/unit/simulate-table.test.ts): after a change to how the run
paces itself, refresh it with \`npm run simulate\` and commit it with the change.

Each row is ${PHASES_MS.length * LATENCIES_MS.length} runs of ${COUNT} requests at the default --concurrency: starting ${PHASES_MS.join(', ')} ms
past a whole second, each with answers ${LATENCIES_MS.join(' and ')} ms after they arrive, ${ONE_WAY_MS} ms from client to
server. The limit is ${LIMIT_RPS}/s unless the server says otherwise.
- **efficiency** = ideal ÷ span. The span runs from the run's start to its last record; the
  ideal is the least time the server's limiter allows for the requests it did not refuse
  (faults' retries included), taken as their number ÷ the limit. A run that uses a fixed
  window's first and last windows whole can do a little better than that: over 1.000.
- **429s per run**, on average; **ok (fewest)**, the fewest records ok in one run.
- **rate found**, the summary's "rate found": the median over the runs that found one (—: none).
`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
