/**
 * `npm run simulate`: the real run loop against every mode of fixtures/limiters/ in virtual time
 * (bench/lib/simulated-run.ts). No network and no wall clock: the same figures every run, in
 * seconds, where `npm run bench` takes minutes and its figures move with the machine's load.
 *
 *   npm run simulate                              the whole table; writes bench/SIMULATE.md
 *   npm run simulate -- tb5 fw1s+faults10         only those modes (printed, not written)
 *   npm run simulate -- --trace tb5 40 219 25 [2] one run: mode (any name fixtures/limiters
 *                                                 takes), client (auto, none, twice or an rps),
 *                                                 start phase ms, latency ms on top of the
 *                                                 mode's own, and up to this much more on each
 *                                                 request's way to the server (seeded jitter;
 *                                                 the table has none); every rate change,
 *                                                 pause, refusal and fault
 *   npm run simulate -- --chart fw1s auto 219 5   the same run as an SVG picture on stdout: the
 *                                                 pace, what the server accepted each second,
 *                                                 its limit and the 429s (docs/rate-control.md)
 *
 * The table and how to read it: bench/lib/simulate-table.ts. test/unit/simulate-table.test.ts
 * fails when rows of bench/SIMULATE.md are not what this writes.
 */
import { writeFileSync } from 'node:fs';
import type { RunEvent } from '../src/events.js';
import type { RunOptions } from '../src/options.js';
import { type SimMode, simMode } from './lib/sim-modes.js';
import { misses, rowFigures, targetText } from './lib/sim-targets.js';
import { TABLE_FILE, buildTable, clientLabel, clientOptions, measureRun } from './lib/simulate-table.js';
import { renderRateChart } from './lib/rate-chart.js';

function usage(message: string): never {
  process.stderr.write(
    `simulate: ${message}\nusage: npm run simulate [-- MODE…] | [-- --trace|--chart MODE [auto|twice|none|RPS] [PHASE_MS] [LATENCY_MS] [JITTER_MS (--trace)]]\n`,
  );
  process.exit(2);
}

function simModeOrUsage(name: string): SimMode {
  try {
    return simMode(name);
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
}

/** `auto` → --rps auto, `twice` → --rps twice the limit, `none` → no --rps, a number → --rps N. */
function parseClient(text: string, sim: SimMode): Partial<RunOptions> {
  if (text === 'auto' || text === 'twice' || text === 'none') return clientOptions(text, sim);
  const rps = Number(text);
  if (!(rps > 0)) usage(`client is auto, twice, none or an rps above 0, got ${JSON.stringify(text)}`);
  return { rps };
}

async function trace(args: string[]): Promise<void> {
  const [name = '', clientText = 'auto', phaseText = '0', latencyText = '25', jitterText = '0'] = args;
  const sim = simModeOrUsage(name);
  const client = parseClient(clientText, sim);
  const lines: string[] = [];
  let startMs: number | undefined;
  const at = (now: number) => `${((now - (startMs ?? now)) / 1000).toFixed(3).padStart(8)} s  `;
  const onEvent = (event: RunEvent, now: number) => {
    startMs ??= now;
    if (event.type === 'rate') lines.push(`${at(now)}rate ${event.rps.toFixed(1)}/s (${event.reason})`);
    if (event.type === 'pause') lines.push(`${at(now)}pause ${(event.delayMs / 1000).toFixed(3)} s (${event.source}: ${event.reason})`);
    // Refusals and faults: every answer but a 2xx.
    if (event.type === 'attempt-end' && !(event.status !== null && event.status < 300)) {
      lines.push(`${at(now)}${event.status ?? event.code} for line ${event.line}, attempt ${event.attempt}`);
    }
  };
  const figures = await measureRun(sim, client, Number(phaseText), Number(latencyText), onEvent, Number(jitterText));
  const { efficiency, spanMs, idealMs, refused, ok, rateFound } = figures;
  const rate = rateFound === undefined ? 'none found' : `${rateFound.toFixed(1)}/s`;
  // The target of the table's row for this client, when it is one of the table's.
  const kind = clientText === 'auto' || clientText === 'twice' || clientText === 'none' ? clientText : undefined;
  const missed = kind === undefined ? [] : misses(sim, kind, rowFigures([figures]));
  const verdict = kind === undefined ? '' : `target (${targetText(sim, kind)}): ${missed.length === 0 ? 'met' : `missed: ${missed.join('; ')}`}\n`;
  const flags = kind === undefined ? `--rps ${client.rps}${sim.flags ? ` ${sim.flags}` : ''}` : clientLabel(kind, sim);
  process.stdout.write(
    `${name} (${sim.mode.describe}), ${flags}, start ${phaseText} ms past a second, answers ${latencyText} ms later than the mode's own\n` +
      `efficiency ${efficiency.toFixed(3)} (span ${(spanMs / 1000).toFixed(3)} s, ideal ${(idealMs / 1000).toFixed(3)} s), ` +
      `${refused} × 429, ${ok} records ok, rate found ${rate}\n${verdict}${lines.join('\n')}\n`,
  );
}

/** One run as an SVG chart of its rate over time against the limit (bench/lib/rate-chart.ts). */
async function chart(args: string[]): Promise<void> {
  const [name = '', clientText = 'auto', phaseText = '0', latencyText = '25'] = args;
  const sim = simModeOrUsage(name);
  const client = parseClient(clientText, sim);
  let startMs: number | undefined;
  let firstArrivalS: number | undefined;
  const pace: Array<{ t: number; rps: number }> = [];
  const accepted: number[] = [];
  const refusals: number[] = [];
  const onEvent = (event: RunEvent, now: number) => {
    startMs ??= now;
    const t = (now - startMs) / 1000;
    if (event.type === 'rate') pace.push({ t, rps: event.rps });
    if (event.type === 'attempt-start') firstArrivalS ??= t;
    if (event.type !== 'attempt-end') return;
    if (event.status === 429) refusals.push(t);
    else accepted[Math.floor(t)] = (accepted[Math.floor(t)] ?? 0) + 1;
  };
  const figures = await measureRun(sim, client, Number(phaseText), Number(latencyText), onEvent);
  const from = firstArrivalS ?? 0;
  const limit = [{ t: 0, rps: sim.limitRps }, ...sim.changes.map((change) => ({ t: from + change.afterMs / 1000, rps: change.rps }))];
  const flags = clientText === 'auto' || clientText === 'twice' || clientText === 'none' ? clientLabel(clientText, sim) : `--rps ${client.rps}`;
  const title = `${name}: ratefetch ${flags}, efficiency ${figures.efficiency.toFixed(2)}, ${figures.refused} × 429`;
  const subtitle = `start ${phaseText} ms past a second, answers ${latencyText} ms later; ${sim.mode.describe}`;
  const svg = renderRateChart({ title, subtitle, spanS: figures.spanMs / 1000, limit, pace, acceptedPerSecond: Array.from(accepted, (n) => n ?? 0), refusals });
  process.stdout.write(svg);
}

// `npm run simulate | head` closes the pipe early: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

const args = process.argv.slice(2);
if (args[0] === '--trace') {
  await trace(args.slice(1));
} else if (args[0] === '--chart') {
  await chart(args.slice(1));
} else {
  for (const name of args) simModeOrUsage(name);
  const startedAt = performance.now();
  const table = await buildTable(args.length > 0 ? args : undefined);
  process.stdout.write(table);
  if (args.length === 0) {
    writeFileSync(TABLE_FILE, table);
    process.stderr.write(`written to bench/SIMULATE.md in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`);
  }
}
