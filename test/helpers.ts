// Shared helpers for the pipeline tests: run fetchAll to the end, check the one-record-per-input
// rule, start fixture servers with teardown, and measure pacing from the server's own hits.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { startFixtureServer, type FixtureServer, type FixtureServerOptions, type Hit } from '../fixtures/server.js';
import { fetchAll, type FetchRecord, type InputSource, type RunEvent, type RunHooks, type RunOptions } from '../src/index.js';

/** Small waits everywhere, so a whole pipeline file runs in seconds. */
export const FAST: Partial<RunOptions> = { backoffBaseMs: 20, maxBackoffMs: 200, timeoutMs: 5_000, graceMs: 200 };

/** Drains an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export interface RunResult {
  records: FetchRecord[];
  events: RunEvent[];
  /** The record for each input line. */
  byLine: Map<number, FetchRecord>;
}

/** Runs fetchAll to the end with FAST defaults, collecting records and events. */
export async function run(input: InputSource, options: Partial<RunOptions> = {}, hooks: RunHooks = {}): Promise<RunResult> {
  const events: RunEvent[] = [];
  const records = await collect(
    fetchAll(
      input,
      { ...FAST, ...options },
      {
        ...hooks,
        onEvent: (event) => {
          events.push(event);
          hooks.onEvent?.(event);
        },
      },
    ),
  );
  return { records, events, byLine: new Map(records.map((r) => [r.line, r])) };
}

/** The house rule: exactly one record per input, and each input line appears once. */
export function assertOneRecordPerInput(records: readonly FetchRecord[], lines: readonly number[]): void {
  const seen = records.map((r) => r.line).sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    [...lines].sort((a, b) => a - b),
    'one record per input line',
  );
}

/** 1..n, the line numbers of an array input without blank or comment lines. */
export function lineNumbers(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** A fixture server closed when the test ends. */
export async function startServer(t: TestContext, opts?: FixtureServerOptions): Promise<FixtureServer> {
  const server = await startFixtureServer(opts);
  t.after(() => server.close());
  return server;
}

/** A port on `host` that nothing listens on (it was just bound and released). */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const server = http.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** Hits whose path starts with `prefix`, in arrival order. */
export function hitsTo(server: FixtureServer, prefix: string): Hit[] {
  return server.hits.filter((h) => h.path.startsWith(prefix));
}

/** The most starts within any half-open window of `windowMs`, from sorted or unsorted times. */
export function maxStartsInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/**
 * Checks "starts in any window of W ms ≤ burst + rps × W" for a range of windows, allowing
 * `slackStarts` extra starts and `jitterMs` of timestamp noise (a window is widened by it).
 */
export function assertRateBound(
  times: readonly number[],
  limits: { rps: number; burst: number; slackStarts?: number; jitterMs?: number; windowsMs?: number[] },
): void {
  const slack = limits.slackStarts ?? 1;
  const jitter = limits.jitterMs ?? 0;
  const windows = limits.windowsMs ?? [50, 100, 250, 500, 1_000, 2_000];
  for (const windowMs of windows) {
    const seen = maxStartsInWindow(times, windowMs);
    const allowed = Math.floor(limits.burst + (limits.rps * (windowMs + jitter)) / 1000) + slack;
    assert.ok(seen <= allowed, `${seen} starts in a ${windowMs} ms window, at most ${allowed} allowed (rps ${limits.rps}, burst ${limits.burst})`);
  }
}

/** Records collected unhandled rejections while a test runs. */
export function watchUnhandledRejections(t: TestContext): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  t.after(() => void process.off('unhandledRejection', listener));
  return seen;
}

type RetryEvent = Extract<RunEvent, { type: 'retry' }>;
type PauseEvent = Extract<RunEvent, { type: 'pause' }>;
export const retriesIn = (events: RunEvent[]): RetryEvent[] => events.filter((e): e is RetryEvent => e.type === 'retry');
export const pausesIn = (events: RunEvent[]): PauseEvent[] => events.filter((e): e is PauseEvent => e.type === 'pause');

/** Ms between the first two arrivals whose path starts with `prefix`. */
export function gapMs(hits: readonly Hit[], prefix: string): number {
  const matching = hits.filter((h) => h.path.startsWith(prefix));
  assert.ok(matching.length >= 2, `${matching.length} hits for ${prefix}`);
  return matching[1]!.t - matching[0]!.t;
}

/** Hits that started while a 429 told the client to wait `retryAfterMs`, allowing `slackMs` at each end. */
export function startsDuringPauses(hits: readonly Hit[], retryAfterMs: number, slackMs = 50): Hit[] {
  const limited = hits.filter((h) => h.status === 429);
  return hits.filter((h) => limited.some((l) => h.t > l.t + slackMs && h.t < l.t + retryAfterMs - slackMs));
}

export type { FetchRecord, RunEvent };
