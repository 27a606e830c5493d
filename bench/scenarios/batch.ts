/**
 * Issue #28 part 2: what --batch saves. N IDs against the fixture's batch endpoint
 * (`/batch?ids=…`, fixtures/batch.ts) behind a rate limit, fetched one request per ID and with
 * --batch; then with --batch and a few bad IDs, each of which makes its batch answer 400 until
 * halving finds it. Each run gets its own in-process fixture server; ratefetch is a child process.
 */
import { startFixtureServer } from '../../fixtures/server.js';
import { ratefetchPlan, type RatefetchStats } from '../lib/clients.js';
import { firstStderrLine, runCapped } from '../lib/proc.js';

export interface BatchConfig {
  repoDir: string;
  workDir: string;
  idCount: number;
  allowedRps: number;
  batchSize: number;
  /** One bad ID in every this many, for the last row. */
  badEvery: number;
  capMs: number;
  log: (line: string) => void;
}

export interface BatchRow {
  label: string;
  idCount: number;
  wallMs: number;
  stopped: boolean;
  /** Requests the server received, and of them 429s and 400s. */
  requests: number;
  answered429: number;
  answered400: number;
  stats: RatefetchStats | undefined;
  exit: string;
  stderrLine: string;
}

export async function runBatch(config: BatchConfig): Promise<BatchRow[]> {
  const ids = Array.from({ length: config.idCount }, (_, i) => `id${i + 1}`);
  const withBad = ids.map((id, i) => (i % config.badEvery === config.badEvery / 2 ? `bad-${id}` : id));
  const batchArgs = ['--batch', String(config.batchSize), '--batch-split', '.items', '--batch-key', '.id'];
  const runs: Array<[string, string[], string[]]> = [
    ['one request per ID', ids, []],
    [`--batch ${config.batchSize}`, ids, batchArgs],
    [`--batch ${config.batchSize}, one bad ID in every ${config.badEvery}`, withBad, batchArgs],
  ];
  const rows: BatchRow[] = [];
  for (const [label, lines, extra] of runs) rows.push(await runOne(config, label, lines, extra));
  return rows;
}

async function runOne(config: BatchConfig, label: string, ids: string[], extra: string[]): Promise<BatchRow> {
  const server = await startFixtureServer({ rps: config.allowedRps, burst: 1, retryAfter: 'seconds', keepLog: true });
  try {
    const setup = { repoDir: config.repoDir, workDir: config.workDir, urls: ids, capMs: config.capMs };
    const plan = ratefetchPlan(setup, config.allowedRps, `${config.allowedRps} rps`, ['-t', `${server.url}/batch?ids={}`, ...extra]);
    const exit = await runCapped({ ...plan.spec, cwd: config.repoDir });
    const row: BatchRow = {
      label,
      idCount: ids.length,
      wallMs: exit.stoppedAtMs ?? exit.wallMs,
      stopped: exit.stoppedAtMs !== null,
      requests: server.countRequests(),
      answered429: server.count429(),
      answered400: server.hits.filter((hit) => hit.status === 400).length,
      stats: plan.readStats?.(),
      exit: exit.signal ?? String(exit.code),
      stderrLine: firstStderrLine(exit.stderr),
    };
    config.log(
      `  done: ${label}: ${(row.wallMs / 1000).toFixed(1)} s${row.stopped ? ' (stopped at the cap)' : ''}, ${row.requests} requests, ${row.answered429} × 429, ${row.stats?.ok ?? '?'} / ${ids.length} ok, exit ${row.exit}`,
    );
    if (row.stderrLine !== '') config.log(`    stderr: ${row.stderrLine}`);
    return row;
  } finally {
    await server.close();
  }
}
