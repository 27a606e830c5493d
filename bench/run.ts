/**
 * `npm run bench`: builds, then measures ratefetch against the fixture server, prints tables as
 * it goes and writes bench/RESULTS.md. Loopback only; every run is capped in time, so the
 * whole benchmark ends in a few minutes. Environment:
 *   BENCH_CAP_S   cap on each client run in the comparison, seconds (default 45 = 3 × ideal)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, capture } from './lib/proc.js';
import { comparisonTable, generatedObservations, generatedTable, memoryTable, observations, precisionTable } from './lib/report.js';
import { calibrate } from './scenarios/calibrate.js';
import { runComparison } from './scenarios/comparison.js';
import { runGenerated } from './scenarios/generated.js';
import { runMemory } from './scenarios/memory.js';
import { runPrecision } from './scenarios/precision.js';

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_PATH = join(REPO_DIR, 'bench/RESULTS.md');

const URL_COUNT = 300;
const ALLOWED_RPS = 20;
const CAP_S = readCapSeconds();
const PRECISION_RATES = [1, 100, 2000] as const;
const PRECISION_SECONDS = 10;
const PRECISION_CONCURRENCY = 64;
const MEMORY_CONCURRENCY = 64;
const MEMORY_STOP_MS = 20_000;
const HEAP_CAP_MIB = 128;
const HEAP_CAP_STOP_MS = 45_000;
const GENERATED_DRY_RUN_COUNTS = [100_000, 1_000_000, 10_000_000] as const;
const GENERATED_DRY_RUN_BUDGET_MS = 90_000;
const GENERATED_DRY_RUN_CAP_MS = 60_000;
const GENERATED_REAL_COUNT = 200_000;

const log = (line: string) => process.stdout.write(`${line}\n`);
const workDir = mkdtempSync(join(tmpdir(), 'ratefetch-bench-'));

function cleanUp(): void {
  killAll();
  rmSync(workDir, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping children and removing ${workDir}\n`);
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

try {
  const startedAt = new Date();
  const machine = await describeMachine();
  log(`ratefetch benchmark, ${startedAt.toISOString()}\n${machine.map((line) => `  ${line}`).join('\n')}\n`);

  log('Calibrating (Retry-After the limited server sends, loopback round trip)…');
  const { retryAfterMs, roundTripMs } = await calibrate(REPO_DIR, workDir, ALLOWED_RPS);
  log(`  Retry-After ${retryAfterMs / 1000} s; round trip (ratefetch p95 latency) ${roundTripMs} ms\n`);

  log(`1. ${URL_COUNT} URLs against a server allowing ${ALLOWED_RPS} rps per client (burst 1, 429 + Retry-After)`);
  const comparison = await runComparison({ repoDir: REPO_DIR, workDir, urlCount: URL_COUNT, allowedRps: ALLOWED_RPS, capMs: CAP_S * 1000, retryAfterMs, roundTripMs, log });
  const table1 = comparisonTable(comparison, ALLOWED_RPS);
  log(`\n${table1}\n`);

  log(`2. Rate precision: ratefetch --rps R -c ${PRECISION_CONCURRENCY}, about ${PRECISION_SECONDS} s of starts, server without a limit`);
  const precision = await runPrecision({ repoDir: REPO_DIR, workDir, rates: PRECISION_RATES, durationS: PRECISION_SECONDS, concurrency: PRECISION_CONCURRENCY, log });
  const table2 = precisionTable(precision);
  log(`\n${table2}\n`);

  log(`3. Peak RSS: ratefetch -c ${MEMORY_CONCURRENCY}, no rate cap, server without a limit`);
  const memory = await runMemory({ repoDir: REPO_DIR, workDir, concurrency: MEMORY_CONCURRENCY, stopAfterMs: MEMORY_STOP_MS, heapCapMiB: HEAP_CAP_MIB, heapCapStopAfterMs: HEAP_CAP_STOP_MS, log });
  const table3 = memoryTable(memory);
  log(`\n${table3}\n`);

  log(`4. Generated requests (issue #10): --range id=1..N --dry-run, and a real run over ${GENERATED_REAL_COUNT.toLocaleString('en-US')} of them`);
  const generated = await runGenerated({ repoDir: REPO_DIR, workDir, dryRunCounts: GENERATED_DRY_RUN_COUNTS, dryRunBudgetMs: GENERATED_DRY_RUN_BUDGET_MS, dryRunCapMs: GENERATED_DRY_RUN_CAP_MS, realCount: GENERATED_REAL_COUNT, concurrency: MEMORY_CONCURRENCY, log });
  const table4 = generatedTable(generated.rows);
  log(`\n${table4}\n`);

  const notes = [...observations(comparison, precision, memory, ALLOWED_RPS), ...generatedObservations(generated.rows)];
  log(`Observations:\n${notes.map((note) => `  - ${note}`).join('\n')}\n`);

  const finishedAt = new Date();
  writeFileSync(
    RESULTS_PATH,
    renderResults({ startedAt, finishedAt, machine, retryAfterMs, roundTripMs, table1, table2, table3, table4, estimateCheck: generated.estimateCheck, notes }),
  );
  log(`Wrote ${RESULTS_PATH} (${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(0)} s).`);
} catch (error) {
  process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  cleanUp();
}

function readCapSeconds(): number {
  const text = process.env.BENCH_CAP_S;
  if (text === undefined || text === '') return 45;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 3600) throw new Error(`BENCH_CAP_S must be seconds in (0, 3600], got ${JSON.stringify(text)}`);
  return value;
}

async function describeMachine(): Promise<string[]> {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const nproc = (await capture('nproc', [])).trim();
  const memLine = (await capture('free', ['-h'])).split('\n').find((line) => line.startsWith('Mem:'))?.replace(/\s+/g, ' ') ?? 'n/a';
  const curl = (await capture('curl', ['--version'])).split('\n')[0] ?? 'n/a';
  const head = (await capture('git', ['rev-parse', '--short', 'HEAD'])).trim();
  const dirty = (await capture('git', ['status', '--porcelain', '--', 'src', 'bin', 'fixtures'])).trim() !== '';
  return [
    `CPU: ${cpuModel}, nproc ${nproc}; load average at start ${loadavg().map((n) => n.toFixed(2)).join(' ')}`,
    `memory (free -h): ${memLine}`,
    `node ${process.version}; ${curl}`,
    `ratefetch at ${head}${dirty ? ' with uncommitted changes in src/, bin/ or fixtures/' : ''}`,
  ];
}

interface ResultsInput {
  startedAt: Date;
  finishedAt: Date;
  machine: string[];
  retryAfterMs: number;
  roundTripMs: number;
  table1: string;
  table2: string;
  table3: string;
  table4: string;
  estimateCheck: string | null;
  notes: string[];
}

function renderResults(r: ResultsInput): string {
  const command = `${process.env.BENCH_CAP_S ? `BENCH_CAP_S=${process.env.BENCH_CAP_S} ` : ''}npm run bench`;
  const tookS = ((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000).toFixed(0);
  const idealS = URL_COUNT / ALLOWED_RPS;
  return `# ratefetch benchmark results

Made by \`${command}\` (\`bench/run.ts\`) on ${r.startedAt.toISOString()}; the run took ${tookS} s.
Everything is generated by that command: rerun it to refresh this file. Each figure comes from
one run, so expect some spread between runs (the 429 counts in particular).

${r.machine.map((line) => `- ${line}`).join('\n')}

The machine is shared and noisy, so read the ratios rather than the absolute times.

## 1. A rate-limited server, told the right rate and twice it (issues #8, #9)

${URL_COUNT} URLs (\`/items/1…${URL_COUNT}\`) against the in-process fixture server allowing ${ALLOWED_RPS} rps per
client (token bucket, burst 1; a refused request gets 429 with \`Retry-After: ${r.retryAfterMs / 1000}\`, as
measured by a probe). Ideal time = ${URL_COUNT} / ${ALLOWED_RPS} rps = ${idealS} s. Each client run has its own server
(own port, bucket and hit log); the two runs in each pair of rows ran side by side, pairs one
after another. A run still going after ${CAP_S} s (${(CAP_S / idealS).toFixed(1)} × ideal) is stopped (ratefetch with
SIGINT, curl with SIGTERM): its wall/ideal is then a lower bound, marked \`>\`.

${r.table1}

- **wall / ideal**: process wall time (start-up included) over ${idealS} s.
- **ok/s ÷ allowed**: HTTP 200s the server sent per second of wall time, over ${ALLOWED_RPS}/s; 1.00 is perfect.
- **requests sent**, **429s provoked**: counted by the server.
- **sent during a wait**: requests that arrived inside (t429 + round trip, t429 + Retry-After)
  for some 429 answered at t429; the round trip allowance is ${r.roundTripMs} ms (p95 latency of a
  serial ratefetch run against the same kind of server), for requests already on their way.
- **records complete**: ratefetch: lines of its \`-o\` file with \`"ok": true\`; curl: \`200\` lines
  in its \`-w '%{http_code}\\n'\` output.
- curl writes bodies to files (\`--output-dir … -O\`): with \`-o /dev/null\`, curl 7.88's
  \`--retry\` fails with "(23) Failed to truncate file" and never retries. ratefetch runs with
  \`-c 10 -o FILE --quiet --stats-file FILE\` and its default \`--retries 5\`.

## 2. Rate precision

ratefetch \`--rps R -c ${PRECISION_CONCURRENCY}\` (default burst), ${PRECISION_SECONDS} × R + 1 URLs, so about ${PRECISION_SECONDS} s of starts, against
a fixture server with no limit. **achieved** = (arrivals − 1) / (last arrival − first arrival),
from the server's own timestamps; **most starts in any 1 s** = the most arrivals in any sliding
one-second window, over the whole run and leaving out the first second of arrivals (where the
first requests wait for connections and lazily loaded code, then go out together); the bound is
the default burst (max(1, ⌊R × 20 ms⌋)) + R. **ratefetch says** is \`achievedRps\` from its
\`--stats-file\`. The server stamps a request when its handler runs, so a stall in either process
bunches arrivals: a few percent over the bound can come from the measurement, not the limiter.
So when the server counts more than the bound, the same run is repeated through the library
(\`fetchAll\` in a child, \`bench/lib/record-starts.ts\`) with the time of each \`attempt-start\`
event recorded: **limiter's own starts** is the most of those in any sliding second.

${r.table2}

## 3. Peak memory

ratefetch \`-c ${MEMORY_CONCURRENCY} -o /dev/null --quiet\` with no rate cap against a fixture server with no limit
and no hit log. The 10k-line input is fetched to the end; the 1M-line input (a ${'~'}40 MB file) is
stopped with SIGINT after ${MEMORY_STOP_MS / 1000} s, which drains in-flight requests and writes INTERRUPTED
records for the read-ahead. **peak RSS** is GNU time's maximum resident set size over the
whole process life (start-up, the run, the drain); the last column samples VmRSS from /proc once
a second. Fetching all 1M URLs is not measured (it would take minutes); the claim tested is that
memory does not grow with the input. The third row runs the 1M-line input again with V8's old
space capped at ${HEAP_CAP_MIB} MiB (\`NODE_OPTIONS=--max-old-space-size=${HEAP_CAP_MIB}\`, stopped after
${HEAP_CAP_STOP_MS / 1000} s): growth that is only a lazy garbage collector stays under the cap; a leak dies of
"JavaScript heap out of memory".

${r.table3}

## 4. Generated requests (issue #10)

\`node bin/ratefetch.js --range id=1..N -t 'http://127.0.0.1:PORT/items/{id}' … -o OUT --quiet\`:
with \`--dry-run\` for N = ${GENERATED_DRY_RUN_COUNTS.map((n) => n.toLocaleString('en-US')).join(', ')}, and a real run (\`-c ${MEMORY_CONCURRENCY}\`, no rate
cap, plus \`--stats-file\` for the ok count) over N = ${GENERATED_REAL_COUNT.toLocaleString('en-US')}, to the end, against the in-process fixture
server with no limit and no hit log. The claim tested: generating requests does not hold them
in memory, so the peak does not grow with N. **peak RSS** is GNU time's maximum resident set
size over the whole process life; the last column samples VmRSS from /proc once a second.
OUT is a temp file whose lines are counted (then deleted) for every run but the largest dry
run, which writes to \`/dev/null\`. That run is timed against the 1M one first: if ten times
the 1M wall time is over ${GENERATED_DRY_RUN_BUDGET_MS / 1000} s it is stopped after ${GENERATED_DRY_RUN_CAP_MS / 1000} s with SIGINT. \`--dry-run\` installs no
SIGINT handler, so the signal kills it (no drain, no summary): its peak is VmHWM read from
/proc just before the signal (GNU time's figure, shown beside it, covers the same life), and
the lines it had written are estimated from \`wchar\` in /proc/PID/io at that moment, using the
exact length of each planned line (the id appears three times in a line; ${r.estimateCheck ?? 'the formula was not checked against a full output file this run'}).

${r.table4}

## Observations (computed from the tables above)

${r.notes.length === 0 ? '- Nothing out of line.' : r.notes.map((note) => `- ${note}`).join('\n')}
`;
}
