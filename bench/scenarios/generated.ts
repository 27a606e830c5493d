/**
 * Peak RSS with generated requests (issue #10): `--range id=1..N -t TEMPLATE --dry-run` for
 * N = 100k, 1M and 10M, and a real run over the first 200k generated requests against a
 * fixture server that keeps no hit log. Generating must not hold the inputs in memory, so
 * the dry-run peaks should stay flat as N grows tenfold twice.
 *
 * The 1M dry run is timed first; if ten times its wall time would exceed `dryRunBudgetMs`,
 * the 10M dry run is stopped after `dryRunCapMs`. --dry-run installs no SIGINT handler, so
 * the signal kills it: its VmHWM is read from /proc just before the signal, and the lines it
 * had written by then are estimated from the bytes it had written (/proc/PID/io `wchar`, the
 * output being /dev/null), using the exact length of every planned line (checked against the
 * 1M file). The other runs write to a temp file whose lines are counted, then deleted.
 */
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startFixtureServer } from '../../fixtures/server.js';
import { readStatsFile } from '../lib/clients.js';
import { findChildPid, firstStderrLine, readMemoryKiB, readTimePeak, runCapped, underGnuTime } from '../lib/proc.js';
import { count } from '../lib/units.js';

export interface GeneratedConfig {
  repoDir: string;
  workDir: string;
  /** N for each dry run, ascending; the last may be capped. */
  dryRunCounts: readonly number[];
  /** Cap the last dry run if 10 × the one before it would take longer than this. */
  dryRunBudgetMs: number;
  /** How long a capped dry run goes before SIGINT. */
  dryRunCapMs: number;
  /** The real run: how many generated requests, and -c. */
  realCount: number;
  concurrency: number;
  log: (line: string) => void;
}

export interface GeneratedRow {
  /** `--dry-run` or `-c 64`. */
  mode: string;
  /** N in --range id=1..N. */
  generated: number;
  /** `to the end`, or `SIGINT after 60 s (killed)`. */
  how: string;
  outcome: string;
  stderrLine: string;
  wallMs: number;
  /** Output lines counted in the temp file; null when the output went to /dev/null. */
  linesWritten: number | null;
  /** For a killed dry run: lines estimated from the bytes written; null otherwise. */
  linesEstimated: number | null;
  /** Requests the server counted (real run only). */
  requests: number | null;
  /** From --stats-file (real run only). */
  ok: number | null;
  peakKiB: number;
  peakSource: string;
  /** [seconds since start, VmRSS KiB] every second. */
  samples: Array<[number, number]>;
}

const SAMPLE_EVERY_MS = 1000;
const TEMPLATE_PATH = '/items/{id}';

export interface GeneratedResult {
  rows: GeneratedRow[];
  /** How the line-length formula behind the capped run's estimate compared with a real file. */
  estimateCheck: string | null;
}

export async function runGenerated(config: GeneratedConfig): Promise<GeneratedResult> {
  const dir = join(config.workDir, 'generated');
  mkdirSync(dir, { recursive: true });
  const server = await startFixtureServer({ keepLog: false });
  try {
    const template = `${server.url}${TEMPLATE_PATH}`;
    const rows: MeasuredRow[] = [];
    let estimateCheck: string | null = null;
    const counts = config.dryRunCounts;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      const previous = rows[rows.length - 1];
      const projectedMs = previous === undefined ? 0 : (previous.wallMs * n) / previous.generated;
      const capped = i === counts.length - 1 && projectedMs > config.dryRunBudgetMs;
      if (capped) {
        config.log(
          `  ${count(n)} dry run: ${count(previous!.generated)} took ${(previous!.wallMs / 1000).toFixed(1)} s, so about ${(projectedMs / 1000).toFixed(0)} s projected; stopping it after ${config.dryRunCapMs / 1000} s`,
        );
      }
      const row = await runOne(
        config,
        dir,
        template,
        {
          mode: '--dry-run',
          n,
          extraArgs: ['--dry-run'],
          // The capped run writes nowhere, so it leaves no 10M-line file behind.
          toFile: !capped,
          capMs: capped ? config.dryRunCapMs : null,
        },
        () => null,
      );
      if (row.linesWritten !== null && row.linesWritten === n) {
        // Check the line-length formula the capped run's estimate relies on against a real file.
        const expected = dryRunBytes(template, n);
        estimateCheck =
          row.outputBytes === expected
            ? `the formula gives the ${count(n)}-line output's size exactly (${count(expected)} bytes)`
            : `the ${count(n)}-line output is ${count(row.outputBytes ?? 0)} bytes where the formula says ${count(expected)}, so the estimate is off by about ${((Math.abs((row.outputBytes ?? 0) - expected) / expected) * 100).toFixed(1)} %`;
      }
      logRow(config, row);
      rows.push(row);
    }

    const before = server.countRequests();
    const real = await runOne(
      config,
      dir,
      template,
      {
        mode: `-c ${config.concurrency}`,
        n: config.realCount,
        extraArgs: ['-c', String(config.concurrency)],
        toFile: true,
        capMs: null,
      },
      () => server.countRequests() - before,
    );
    logRow(config, real);
    rows.push(real);
    return { rows: rows.map(({ outputBytes: _unused, ...row }) => row), estimateCheck };
  } finally {
    await server.close();
  }
}

interface RunShape {
  mode: string;
  n: number;
  extraArgs: string[];
  /** Write to a temp file and count its lines, or write to /dev/null. */
  toFile: boolean;
  /** null: to the end. */
  capMs: number | null;
}

type MeasuredRow = GeneratedRow & { outputBytes: number | null };

async function runOne(config: GeneratedConfig, dir: string, template: string, shape: RunShape, requests: () => number | null): Promise<MeasuredRow> {
  const name = `${shape.mode.replace(/[^a-z0-9]+/gi, '')}-${shape.n}`;
  const outPath = shape.toFile ? join(dir, `out-${name}.ndjson`) : '/dev/null';
  const timeOut = join(dir, `time-${name}.txt`);
  const statsPath = join(dir, `stats-${name}.json`);
  const isReal = shape.mode !== '--dry-run';
  const ratefetch = [
    join(config.repoDir, 'bin/ratefetch.js'),
    '--range',
    `id=1..${shape.n}`,
    '-t',
    template,
    ...shape.extraArgs,
    '-o',
    outPath,
    '--quiet',
    ...(isReal ? ['--stats-file', statsPath] : []),
  ];
  const { cmd, args, timed: hasTime } = underGnuTime(ratefetch, timeOut);

  const samples: Array<[number, number]> = [];
  let polledHwm = 0;
  let hwmAtStop: number | undefined;
  let bytesAtStop: number | undefined;
  let stoppedAtMs: number | null = null;
  let sampler: NodeJS.Timeout | undefined;
  let stopper: NodeJS.Timeout | undefined;
  const startedAt = performance.now();
  const exit = await runCapped({
    cmd,
    args,
    cwd: config.repoDir,
    // Our own timer sends the SIGINT (after reading /proc); this cap is only a backstop.
    capMs: (shape.capMs ?? 180_000) + 30_000,
    stopSignal: 'SIGINT',
    onStart: (pid) => {
      let nodePid: number | undefined = hasTime ? undefined : pid;
      const poll = () => {
        nodePid ??= findChildPid(pid);
        return nodePid === undefined ? undefined : readMemoryKiB(nodePid);
      };
      sampler = setInterval(() => {
        const memory = poll();
        if (memory === undefined) return;
        samples.push([Math.round((performance.now() - startedAt) / 1000), memory.rss]);
        polledHwm = Math.max(polledHwm, memory.hwm);
      }, SAMPLE_EVERY_MS);
      if (shape.capMs !== null) {
        stopper = setTimeout(() => {
          const memory = poll();
          if (memory !== undefined) {
            hwmAtStop = memory.hwm;
            samples.push([Math.round((performance.now() - startedAt) / 1000), memory.rss]);
          }
          if (nodePid !== undefined) bytesAtStop = readWrittenBytes(nodePid);
          stoppedAtMs = performance.now() - startedAt;
          // GNU time ignores SIGINT while it waits, so the signal to the group reaches node alone.
          try {
            process.kill(-pid, 'SIGINT');
          } catch {
            // Already gone.
          }
        }, shape.capMs);
      }
    },
  }).finally(() => {
    clearInterval(sampler);
    clearTimeout(stopper);
  });

  const timePeak = hasTime ? readTimePeak(timeOut) : undefined;
  const ended = exit.signal ?? (exit.code !== null && exit.code > 128 ? `signal ${exit.code - 128}` : `exit ${exit.code}`);
  const stopped = stoppedAtMs !== null || exit.stoppedAtMs !== null;
  let linesWritten: number | null = null;
  let outputBytes: number | null = null;
  if (shape.toFile) {
    try {
      outputBytes = statSync(outPath).size;
      linesWritten = await countLines(outPath);
    } finally {
      rmSync(outPath, { force: true });
    }
  }
  const stats = isReal ? readStatsFile(statsPath) : undefined;

  // For a killed run the whole-life peak is the VmHWM read just before the signal (nothing
  // after it allocates); GNU time's figure is shown beside it as a cross-check.
  let peakKiB: number;
  let peakSource: string;
  if (hwmAtStop !== undefined) {
    peakKiB = hwmAtStop;
    peakSource = `VmHWM just before SIGINT${timePeak === undefined ? '' : `; time -f %M ${(timePeak / 1024).toFixed(1)} MiB`}`;
  } else if (timePeak !== undefined) {
    peakKiB = timePeak;
    peakSource = 'time -f %M';
  } else {
    peakKiB = polledHwm;
    peakSource = 'VmHWM (polled)';
  }
  return {
    mode: shape.mode,
    generated: shape.n,
    how: shape.capMs === null ? 'to the end' : `SIGINT after ${shape.capMs / 1000} s`,
    outcome: stopped ? `stopped as planned, killed (${ended})` : `finished (${ended})`,
    stderrLine: firstStderrLine(exit.stderr),
    wallMs: exit.wallMs,
    linesWritten,
    linesEstimated: bytesAtStop === undefined ? null : linesForBytes(template, bytesAtStop),
    requests: requests(),
    ok: stats?.ok ?? null,
    peakKiB,
    peakSource,
    samples,
    outputBytes,
  };
}

function logRow(config: GeneratedConfig, row: GeneratedRow): void {
  const lines =
    row.linesWritten !== null
      ? `${count(row.linesWritten)} lines written`
      : row.linesEstimated !== null
        ? `about ${count(row.linesEstimated)} lines written`
        : 'lines not counted';
  const requests = row.requests === null ? '' : `, ${count(row.requests)} requests, ${row.ok === null ? 'n/a' : count(row.ok)} ok`;
  config.log(
    `  ${row.mode} ${count(row.generated)}, ${row.how}: ${row.outcome} in ${(row.wallMs / 1000).toFixed(1)} s; peak RSS ${(row.peakKiB / 1024).toFixed(1)} MiB; ${lines}${requests}`,
  );
  if (row.stderrLine !== '') config.log(`    stderr: ${row.stderrLine}`);
}

/**
 * Bytes of the first `n` dry-run lines for `template`: every line is the same but for the id,
 * which appears three times (`line`, which equals the id, `url` and `vars`); the key is a
 * fixed-length hash. The length of line 1 comes from the planner's output shape, rebuilt here.
 */
function dryRunBytes(template: string, n: number): number {
  let total = 0;
  for (let digits = 1, low = 1; low <= n; digits++, low *= 10) {
    const high = Math.min(n, low * 10 - 1);
    total += (high - low + 1) * (lineOneBytes(template) + 3 * (digits - 1));
  }
  return total;
}

/** Most lines whose bytes fit in `bytes` (the inverse of dryRunBytes). */
function linesForBytes(template: string, bytes: number): number {
  let lines = 0;
  let left = bytes;
  for (let digits = 1, low = 1; ; digits++, low *= 10) {
    const size = lineOneBytes(template) + 3 * (digits - 1);
    const inBand = low * 9;
    if (left < inBand * size) return lines + Math.floor(left / size);
    lines += inBand;
    left -= inBand * size;
  }
}

/** The NDJSON line --dry-run prints for id 1, with a newline; only its length matters. */
function lineOneBytes(template: string): number {
  const url = template.replace('{id}', '1');
  const line = {
    line: 1,
    key: '0'.repeat(32),
    ok: true,
    method: 'GET',
    url,
    headers: { 'user-agent': `ratefetch/${ratefetchVersion()}`, 'accept-encoding': 'gzip, deflate, br' },
    vars: { id: '1' },
    error: null,
  };
  return Buffer.byteLength(`${JSON.stringify(line)}\n`);
}

let cachedVersion: string | undefined;
function ratefetchVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/** `wchar` from /proc/PID/io: bytes the process has passed to write(2) and friends. */
function readWrittenBytes(pid: number): number | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const wchar = /^wchar:\s+(\d+)$/m.exec(io)?.[1];
    return wchar === undefined ? undefined : Number(wchar);
  } catch {
    return undefined;
  }
}

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let at = chunk.indexOf(10);
    while (at !== -1) {
      lines++;
      at = chunk.indexOf(10, at + 1);
    }
  }
  return lines;
}
