/**
 * The table of `npm run simulate`: every mode of fixtures/limiters/ (sim-modes.ts) × every client
 * setting, each over a grid of start phases and latencies, run in virtual time
 * (simulated-run.ts), with the issue's target for each row and whether it is met
 * (sim-targets.ts). bench/simulate.ts writes it to bench/SIMULATE.md;
 * test/unit/simulate-table.test.ts builds most of it again and compares, so a change in how the
 * run paces itself shows up there. The whole table is 432 runs: about 18 s of CPU.
 */
import type { RunEvent } from '../../src/events.js';
import type { RunOptions } from '../../src/options.js';
import type { ModeOptions } from '../../fixtures/limiters/index.js';
import { EPOCH_MS, simulateRun } from './simulated-run.js';
import { type SimMode, simMode, TABLE_MODES } from './sim-modes.js';
import {
  type ClientKind,
  formatFoundAfter,
  misses,
  type RateChange,
  refusedAsTargeted,
  type RunFigures,
  rowFigures,
  runFigures,
  targetText,
} from './sim-targets.js';

export const TABLE_FILE = new URL('../SIMULATE.md', import.meta.url);

export const COUNT = 600;
export const PHASES_MS = [0, 219, 500, 811];
/** Added to the mode's own latency (0, or 1000 for the slow API), as the fixture server's --latency is. */
export const LATENCIES_MS = [5, 60];
export const ONE_WAY_MS = 1;
export const CLIENT_KINDS: readonly ClientKind[] = ['auto', 'twice', 'none'];

/** The options of a client setting against `sim`: --rps auto, --rps twice its limit, or no --rps. */
export function clientOptions(kind: ClientKind, sim: SimMode): Partial<RunOptions> {
  if (kind === 'auto') return { autoRate: true };
  if (kind === 'twice') return { rps: 2 * sim.limitRps };
  return {};
}

/** The same as flags, with those every run against `sim` adds. */
export function clientLabel(kind: ClientKind, sim: SimMode): string {
  const rps = { auto: '--rps auto', twice: `--rps ${2 * sim.limitRps}`, none: 'no --rps' }[kind];
  return sim.flags === '' ? rps : `${rps} ${sim.flags}`;
}

/** One run against `sim`: `options` on top of the mode's own, `latencyMs` on top of its own latency. */
export async function measureRun(
  sim: SimMode,
  options: Partial<RunOptions>,
  phaseMs: number,
  latencyMs: number,
  onEvent?: (event: RunEvent, now: number) => void,
  jitterMs = 0,
): Promise<RunFigures> {
  // Seeded by the grid point: each run has its own faults and jitter, the same every time.
  const seed = 1 + phaseMs * 1_000 + latencyMs;
  const modeOptions: ModeOptions = { count: COUNT, latencyMs: sim.settings.latencyMs + latencyMs, faults: { seed } };
  const rates: RateChange[] = [];
  const run = await simulateRun({
    model: sim.mode.create(modeOptions),
    count: COUNT,
    options: { ...sim.options, ...options },
    phaseMs,
    oneWayMs: ONE_WAY_MS,
    jitterMs,
    seed,
    onEvent: (event, now) => {
      if (event.type === 'rate') rates.push({ t: now, lane: event.lane, rps: event.rps });
      onEvent?.(event, now);
    },
  });
  // The first request arrives one way after the start: where the ideal's limiter starts too.
  const idealMs = sim.mode.ideal(COUNT, { ...modeOptions, startMs: EPOCH_MS + phaseMs + ONE_WAY_MS });
  return runFigures(sim, run, idealMs, rates, options.rps ?? Infinity);
}

/** One row: the mode against one client setting, over the whole grid. */
async function tableRow(name: string, kind: ClientKind): Promise<string> {
  const sim = simMode(name);
  const runs: RunFigures[] = [];
  for (const phaseMs of PHASES_MS) {
    for (const latencyMs of LATENCIES_MS) runs.push(await measureRun(sim, clientOptions(kind, sim), phaseMs, latencyMs));
  }
  const row = rowFigures(runs);
  const failed = misses(sim, kind, row);
  const rate =
    row.rateFound === undefined ? '—' : `${row.rateFound.toFixed(1)}/s${row.rateFoundRuns < row.runs ? ` (${row.rateFoundRuns} of ${row.runs})` : ''}`;
  const cells = [
    name,
    clientLabel(kind, sim),
    row.efficiencyMean.toFixed(3),
    row.efficiencyWorst.toFixed(3),
    row.refusedMean.toFixed(1),
    refusedAsTargeted(sim, row),
    String(row.okFewest),
    rate,
    formatFoundAfter(row.changeFoundWorstMs),
    failed.length === 0 ? 'pass' : `**fail**: ${failed.join('; ')}`,
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The rows of `modes` (every mode by default), grouped by client setting. */
export async function tableRows(modes: readonly string[] = TABLE_MODES, kinds: readonly ClientKind[] = CLIENT_KINDS): Promise<string[]> {
  const rows: string[] = [];
  for (const kind of kinds) for (const name of modes) rows.push(await tableRow(name, kind));
  return rows;
}

/** The whole file: how to read and refresh it, the modes and their targets, then the table of `modes`. */
export async function buildTable(modes: readonly string[] = TABLE_MODES): Promise<string> {
  return `${tableHeader(modes)}${(await tableRows(modes)).join('\n')}
`;
}

const TABLE_HEAD = `| mode | client | efficiency mean | worst | 429s per run | 429s as the target counts them (worst run) | ok (fewest) | rate found | new limit found (worst run) | target met |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`;

/** Everything above the rows: how to read the table, the modes of `modes` and their targets, the table's head. */
export function tableHeader(modes: readonly string[] = TABLE_MODES): string {
  const sims = modes.map(simMode);
  const modeRows = sims.map(
    (sim) => `| ${sim.name} | ${sim.mode.describe} | ${sim.limitRps}/s | ${sim.flags || '—'} | ${targetText(sim, 'auto')} | ${targetText(sim, 'twice')} |`,
  );
  return `# npm run simulate

The real run loop (\`schedule()\` with the limiter, lanes, lane pacing, retry policy and rate
controller: everything but undici) against every mode of fixtures/limiters/ (issue #23), in
virtual time (bench/lib/simulated-run.ts). The same figures on every run. \`npm test\` builds
this header and the rows for \`--rps auto\` and no \`--rps\` again and fails when they differ
(test/unit/simulate-table.test.ts): after a change to how the run paces itself, refresh the
table with \`npm run simulate\` and commit it with the change. One run, with every rate change, pause, refusal and fault:
\`npm run simulate -- --trace MODE auto|twice|none|RPS PHASE_MS LATENCY_MS\`.

Each row is ${PHASES_MS.length * LATENCIES_MS.length} runs of ${COUNT} requests at the default --concurrency (unless the mode adds
flags): starting ${listed(PHASES_MS)} ms past a whole minute, each with answers ${listed(LATENCIES_MS)} ms later than
the mode's own latency (0; 1 s for \`slow\`), ${ONE_WAY_MS} ms from client to server and as long back. Clients: \`--rps auto\`;
\`--rps\` twice the limit ("told twice the rate", \`--rps 40\` for a 20/s server); no \`--rps\`.
- **efficiency** = ideal ÷ span. The span runs from the run's start to its last record; the
  ideal is the mode's own \`ideal()\`: the least time its limiter allows for ${COUNT} inputs, every
  failed attempt retried (the faults the run's seed draws), from the same start in the clock.
- **429s per run**, on average; **429s as the target counts them**, in the worst run: per 10 s
  after the run's first 10 s (Retry-After only), as a share of the requests (no hints), the
  most in a run (quota headers), from the halving to the doubling or the end (halving, doubling).
- **ok (fewest)**, the fewest records ok in one run; **rate found**, the summary's "rate
  found": the median over the runs that found one (—: none).
- **new limit found**: from each change of the limit to the moment the client's rate (its
  lowest lane's, under any \`--rps\`) is within 0.9–1.05 × the new limit; the slowest change of
  the slowest run.
- **target met**: the issue's target for the mode (below), efficiency judged by the mean, 429s
  and the time to find a new limit by the worst run, the rate found by the median (and found
  in every run). The issue states the hint targets for \`--rps auto\`; no \`--rps\` is held to
  the same.

| mode | server | limit | flags added | target: --rps auto, no --rps | target: --rps twice the limit |
| --- | --- | --- | --- | --- | --- |
${modeRows.join('\n')}

${TABLE_HEAD}
`;
}

/** `[0, 219, 500]` → `0, 219 and 500`. */
function listed(values: readonly number[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} and ${values.at(-1)}`;
}
