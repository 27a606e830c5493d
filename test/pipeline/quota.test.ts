// Pacing from quota headers (issue #11, part 1): a server that says how much is left is
// never pushed into a 429.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAST, assertOneRecordPerInput, lineNumbers, run } from '../helpers.js';

/**
 * A fixed-window server: `limit` requests per `windowMs`, announced with X-RateLimit-* headers
 * (Reset as delta seconds, rounded up, as Reddit sends it); beyond that, 429.
 */
async function startQuotaServer(t: TestContext, limit: number, windowMs: number) {
  const started = Date.now();
  const counts = new Map<number, number>();
  let refused = 0;
  let served = 0;
  const server = http.createServer((_req, res) => {
    const now = Date.now();
    const window = Math.floor((now - started) / windowMs);
    const used = (counts.get(window) ?? 0) + 1;
    counts.set(window, used);
    const resetS = Math.ceil((started + (window + 1) * windowMs - now) / 1000);
    res.setHeader('x-ratelimit-limit', String(limit));
    res.setHeader('x-ratelimit-remaining', String(Math.max(0, limit - used)));
    res.setHeader('x-ratelimit-reset', String(resetS));
    if (used > limit) {
      refused += 1;
      res.writeHead(429, { 'retry-after': String(resetS) }).end('slow down');
      return;
    }
    served += 1;
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused: () => refused, served: () => served };
}

test('#11: X-RateLimit-Remaining 0 pauses the host until the reset: every URL, almost no 429s', { timeout: 30_000 }, async (t) => {
  const server = await startQuotaServer(t, 10, 1_000);
  const inputs = Array.from({ length: 25 }, (_, i) => `${server.url}/items/${i}`);
  // No --rps at all: only the headers pace the run. Concurrency 1 keeps requests in flight from
  // spending what the last answer said was left.
  const { records, events } = await run(inputs, { ...FAST, concurrency: 1 });
  assertOneRecordPerInput(records, lineNumbers(25));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.filter((r) => !r.ok).map((r) => r.error)),
  );
  assert.equal(server.refused(), 0, 'no 429: the client paused when the quota said none was left');
  const pauses = events.filter((e) => e.type === 'pause');
  assert.ok(pauses.length >= 2, `paused ${pauses.length} times`);
  assert.ok(pauses.every((e) => e.type === 'pause' && /quota used up \(x-ratelimit headers\)/.test(e.reason)));
});

test('#11: a used-up quota does not hold back requests already started: the pause counted them against what was left', { timeout: 30_000 }, async (t) => {
  const { Agent } = await import('undici');
  const server = await startQuotaServer(t, 4, 2_000);
  // One connection: three of the four starts wait in undici for its socket. The first answer
  // says 3 left with 3 in flight, so the host pauses until the reset, nearly 2 s away; those
  // three were counted and go now.
  const dispatcher = new Agent({ connections: 1 });
  t.after(() => dispatcher.close());
  const startedAt = performance.now();
  const { records, events } = await run(
    Array.from({ length: 4 }, (_, i) => `${server.url}/items/${i}`),
    { ...FAST, concurrency: 4 },
    { dispatcher },
  );
  const elapsedMs = performance.now() - startedAt;
  assertOneRecordPerInput(records, lineNumbers(4));
  assert.ok(records.every((r) => r.ok));
  assert.ok(
    events.some((e) => e.type === 'pause'),
    'the quota paused the host',
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'attempt-held'),
    [],
  );
  assert.equal(server.refused(), 0);
  assert.ok(elapsedMs < 1_000, `took ${Math.round(elapsedMs)} ms: the started requests waited for the reset`);
});

test('#11: without quota headers nothing changes: a plain server is not paced', { timeout: 30_000 }, async (t) => {
  const plain = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => plain.close(resolve)));
  const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  const { records, events } = await run(
    Array.from({ length: 20 }, (_, i) => `${url}/${i}`),
    { ...FAST, concurrency: 4 },
  );
  assertOneRecordPerInput(records, lineNumbers(20));
  assert.equal(events.filter((e) => e.type === 'pause').length, 0);
});
