/**
 * Issues #8 and #9: N URLs against a fixture server that allows `allowedRps` per client with
 * Retry-After, fetched by ratefetch and by three curl set-ups, each told the right rate and
 * twice the rate where it takes one. Every client run gets its own in-process fixture server
 * (own port, own bucket, own hit log); the clients are child processes.
 */
import { startFixtureServer } from '../../fixtures/server.js';
import { countSentDuringWait, gapsBefore429 } from '../lib/analyze.js';
import { curlParallelPlan, curlSerialPlan, ratefetchPlan, xargsCurlPlan, type ClientPlan, type ClientSetup, type RatefetchStats } from '../lib/clients.js';
import { firstStderrLine, runCapped } from '../lib/proc.js';

export interface ComparisonConfig {
  repoDir: string;
  workDir: string;
  urlCount: number;
  allowedRps: number;
  capMs: number;
  /** Retry-After the server sends, as measured by the calibration probe. */
  retryAfterMs: number;
  /** Allowance for requests already on their way when a 429 was answered. */
  roundTripMs: number;
  log: (line: string) => void;
}

export interface ComparisonRow {
  label: string;
  told: string;
  urlCount: number;
  wallMs: number;
  /** True when the run was stopped at the cap; wallMs is then the cap. */
  stopped: boolean;
  idealMs: number;
  /** HTTP 200s the server sent (each URL succeeds at most once). */
  served200: number;
  requests: number;
  answered429: number;
  sentDuringWait: number;
  /** Records the client itself reports complete. */
  complete: number;
  exit: string;
  /** ms between each 429 and the arrival before it. */
  gapsBefore429: number[];
  /** What the client printed on stderr that is not its own -w output; '' when nothing. */
  stderrLine: string;
  stats?: RatefetchStats;
}

type PlanFor = (setup: ClientSetup) => ClientPlan;

export async function runComparison(config: ComparisonConfig): Promise<ComparisonRow[]> {
  const right = config.allowedRps;
  const twice = config.allowedRps * 2;
  // Runs in the same group overlap in time (each has its own server); groups run one after another.
  const groups: PlanFor[][] = [
    [(s) => ratefetchPlan(s, right, `${right} rps (right)`), (s) => curlSerialPlan(s, right, `${right} rps (right)`)],
    [(s) => ratefetchPlan(s, twice, `${twice} rps (2x)`), (s) => curlSerialPlan(s, twice, `${twice} rps (2x)`)],
    [(s) => curlParallelPlan(s), (s) => xargsCurlPlan(s)],
  ];
  const rows: ComparisonRow[] = [];
  for (const group of groups) {
    config.log(`  running ${group.length} clients side by side (each stopped after ${config.capMs / 1000} s at most)…`);
    rows.push(...(await Promise.all(group.map((planFor) => runOne(config, planFor)))));
  }
  return rows;
}

async function runOne(config: ComparisonConfig, planFor: PlanFor): Promise<ComparisonRow> {
  const server = await startFixtureServer({ rps: config.allowedRps, burst: 1, retryAfter: 'seconds', keepLog: true });
  try {
    const urls = Array.from({ length: config.urlCount }, (_, i) => `${server.url}/items/${i + 1}`);
    const plan = planFor({ repoDir: config.repoDir, workDir: config.workDir, urls, capMs: config.capMs });
    const exit = await runCapped({ ...plan.spec, cwd: config.repoDir });
    const stopped = exit.stoppedAtMs !== null;
    const row: ComparisonRow = {
      label: plan.label,
      told: plan.told,
      urlCount: config.urlCount,
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped,
      idealMs: (config.urlCount / config.allowedRps) * 1000,
      served200: server.hits.filter((hit) => hit.status === 200).length,
      requests: server.countRequests(),
      answered429: server.count429(),
      sentDuringWait: countSentDuringWait(server.hits, config.retryAfterMs, config.roundTripMs),
      complete: plan.countComplete(exit),
      exit: exit.signal ?? String(exit.code),
      gapsBefore429: gapsBefore429(server.hits),
      stderrLine: firstStderrLine(exit.stderr, (line) => /^\d{3}$/.test(line)),
      stats: plan.readStats?.(),
    };
    config.log(
      `  done: ${row.label}, told ${row.told}: ${(row.wallMs / 1000).toFixed(1)} s${stopped ? ' (stopped at the cap)' : ''}, ${row.complete}/${row.urlCount} complete, ${row.requests} requests, ${row.answered429} × 429, ${row.sentDuringWait} sent during a wait`,
    );
    if (row.stderrLine !== '') config.log(`    stderr: ${row.stderrLine}`);
    return row;
  } finally {
    await server.close();
  }
}
