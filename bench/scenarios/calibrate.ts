/**
 * Two numbers the other scenarios rely on, measured rather than assumed:
 *  - the Retry-After a rate-limited fixture server actually sends (the length of a "wait");
 *  - one loopback round trip as ratefetch sees it (p95 of its request latency), which is the
 *    allowance for requests already on their way when a 429 was answered.
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { startFixtureServer } from '../../fixtures/server.js';
import { readStatsFile } from '../lib/clients.js';
import { runCapped } from '../lib/proc.js';
import { parseRetryAfterSeconds } from '../lib/units.js';

export interface Calibration {
  retryAfterMs: number;
  roundTripMs: number;
}

const PROBE_TRIES = 5;
const LATENCY_SAMPLE_URLS = 200;

export async function calibrate(repoDir: string, workDir: string, allowedRps: number): Promise<Calibration> {
  return { retryAfterMs: await probeRetryAfter(allowedRps), roundTripMs: await measureRoundTrip(repoDir, workDir) };
}

/** Back-to-back requests from here until one is refused; its Retry-After in ms. */
async function probeRetryAfter(allowedRps: number): Promise<number> {
  const server = await startFixtureServer({ rps: allowedRps, burst: 1, retryAfter: 'seconds', keepLog: false });
  try {
    for (let i = 0; i < PROBE_TRIES; i++) {
      const response = await fetch(`${server.url}/items/probe`);
      await response.arrayBuffer();
      if (response.status !== 429) continue;
      const seconds = parseRetryAfterSeconds(response.headers.get('retry-after'));
      if (seconds === undefined) throw new Error(`fixture 429 has no usable Retry-After: ${response.headers.get('retry-after')}`);
      return seconds * 1000;
    }
    throw new Error(`the fixture server at ${allowedRps} rps refused none of ${PROBE_TRIES} back-to-back requests`);
  } finally {
    await server.close();
  }
}

/** p95 latency of ratefetch fetching from an unlimited fixture server one request at a time. */
async function measureRoundTrip(repoDir: string, workDir: string): Promise<number> {
  const server = await startFixtureServer({ keepLog: false });
  const dir = join(workDir, 'calibrate');
  mkdirSync(dir, { recursive: true });
  try {
    const urls = Array.from({ length: LATENCY_SAMPLE_URLS }, (_, i) => `${server.url}/items/${i + 1}`);
    writeFileSync(join(dir, 'urls.txt'), `${urls.join('\n')}\n`);
    const stats = join(dir, 'stats.json');
    const exit = await runCapped({
      cmd: process.execPath,
      args: [join(repoDir, 'bin/ratefetch.js'), join(dir, 'urls.txt'), '-c', '1', '-o', join(dir, 'out.ndjson'), '--quiet', '--stats-file', stats],
      cwd: repoDir,
      capMs: 30_000,
      stopSignal: 'SIGINT',
    });
    const p95 = readStatsFile(stats)?.latencyMs.p95;
    if (exit.code !== 0 || p95 === null || p95 === undefined) {
      throw new Error(`calibration run failed (exit ${exit.code ?? exit.signal}): ${exit.stderr.trim()}`);
    }
    // Never below 1 ms: the server's clock and the client's timers are no finer than that.
    return Math.max(1, p95);
  } finally {
    await server.close();
  }
}
