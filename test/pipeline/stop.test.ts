// Stopping early: an aborted hooks.signal (the CLI's Ctrl-C) and a consumer that leaves. Every
// input read still gets exactly one record, and nothing is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchAll } from '../../src/index.js';
import { assertOneRecordPerInput, FAST, lineNumbers, run, startServer, watchUnhandledRejections } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 20_000 };

test('#7: aborting hooks.signal gives every input read a record, INTERRUPTED ones not final', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const urls = Array.from({ length: 50 }, (_, i) => `${server.url}/delay/300?i=${i}`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('test stop')), 400);
  t.after(() => clearTimeout(timer));
  const startedAt = performance.now();
  const { records, events } = await run(urls, { concurrency: 2, graceMs: 150 }, { signal: controller.signal });
  const elapsedMs = performance.now() - startedAt;

  const read = events.filter((e) => e.type === 'input').length;
  assert.equal(records.length, read, 'one record per input read');
  assertOneRecordPerInput(records, lineNumbers(50));
  const interrupted = records.filter((r) => r.error?.code === 'INTERRUPTED');
  for (const record of records.filter((r) => !r.ok)) {
    assert.equal(record.error?.code, 'INTERRUPTED', `line ${record.line}: ${record.error?.message}`);
    assert.equal(record.final, false);
  }
  assert.ok(interrupted.length >= 40, `${interrupted.length} interrupted`);
  assert.ok(server.hits.length <= 8, `${server.hits.length} requests sent; about 4 expected with concurrency 2`);
  assert.ok(events.some((e) => e.type === 'interrupt'));
  assert.ok(elapsedMs < 5_000, `the run took ${Math.round(elapsedMs)} ms to end after the abort`);
});

test('#7: in-flight requests get their grace period; past it they are INTERRUPTED', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  for (const [graceMs, expected] of [
    [1_500, 'ok'],
    [50, 'INTERRUPTED'],
  ] as const) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 100);
    t.after(() => clearTimeout(timer));
    const { records } = await run([`${server.url}/delay/300?grace=${graceMs}`], { graceMs }, { signal: controller.signal });
    assertOneRecordPerInput(records, [1]);
    const [record] = records;
    assert.equal(record!.ok ? 'ok' : record!.error?.code, expected, `graceMs ${graceMs}: ${record!.error?.message}`);
    if (!record!.ok) assert.equal(record!.final, false);
  }
});

test('#7: aborting interrupts requests waiting on a backoff or a host pause at once', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = [
    `${server.url}/status/503`, // backs off 2 s after its first attempt
    `${server.url}/flaky/w?fail=1&status=429&retryAfter=10`, // pauses the host for 10 s
    `${server.url}/items/queued`, // waits behind that pause
  ];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 300);
  t.after(() => clearTimeout(timer));
  const startedAt = performance.now();
  const { records, byLine } = await run(inputs, { concurrency: 1, backoffBaseMs: 2_000, maxBackoffMs: 2_000 }, { signal: controller.signal, random: () => 1 });
  const elapsedMs = performance.now() - startedAt;
  assertOneRecordPerInput(records, lineNumbers(3));
  for (const record of records) {
    assert.equal(record.error?.code, 'INTERRUPTED', `line ${record.line}: ${JSON.stringify(record.error)}`);
    assert.equal(record.final, false);
  }
  assert.match(byLine.get(1)!.error!.message, /last attempt: 503 Service Unavailable/);
  assert.ok(elapsedMs < 1_500, `the run ended ${Math.round(elapsedMs)} ms after it started`);
});

test('#7: a signal aborted before the run starts sends nothing', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, events } = await run([`${server.url}/items/1`, `${server.url}/items/2`], {}, { signal: AbortSignal.abort() });
  const read = events.filter((e) => e.type === 'input').length;
  assert.equal(records.length, read);
  assertOneRecordPerInput(records, lineNumbers(read));
  for (const record of records) assert.equal(record.error?.code, 'INTERRUPTED');
  assert.equal(server.hits.length, 0);
});

test('#7: aborting while the input is blocked on a read (like stdin) still ends the run', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  async function* stalledInput(): AsyncGenerator<string> {
    yield `${server.url}/items/1`;
    yield `${server.url}/items/2`;
    await new Promise(() => undefined); // never resolves, holds no handle
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 300);
  t.after(() => clearTimeout(timer));
  const { records } = await run(stalledInput(), {}, { signal: controller.signal });
  assertOneRecordPerInput(records, [1, 2]);
  assert.ok(records.every((r) => r.ok));
});

test('#7: a consumer that breaks out after 3 records ends the run cleanly', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const rejections = watchUnhandledRejections(t);
  const urls = Array.from({ length: 20 }, (_, i) => `${server.url}/delay/50?i=${i}`);
  const generator = fetchAll(urls, { ...FAST, concurrency: 2 });
  const got: number[] = [];
  for await (const record of generator) {
    got.push(record.line);
    if (got.length === 3) break;
  }
  assert.equal(new Set(got).size, 3, 'three distinct lines');
  assert.deepEqual(await generator.next(), { done: true, value: undefined });
  const sentAtBreak = server.hits.length;
  await sleep(300);
  assert.equal(server.hits.length, sentAtBreak, 'nothing is sent after the consumer left');
  assert.ok(sentAtBreak < 20);
  assert.deepEqual(rejections, []);
});

test('#7: a process whose consumer breaks early exits on its own, with no unhandled rejection', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
  const script = `
    import { fetchAll } from ${JSON.stringify(index)};
    const urls = Array.from({ length: 30 }, (_, i) => ${JSON.stringify(server.url)} + '/delay/100?i=' + i);
    let n = 0;
    for await (const record of fetchAll(urls, { concurrency: 4, graceMs: 100 })) if (++n === 3) break;
    console.log('left after', n);
  `;
  const result = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { timeout: 10_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) },
      (error, stdout, stderr) => resolve({ code: child.exitCode, signal: (error as { signal?: string } | null)?.signal ?? null, stdout, stderr }),
    );
  });
  assert.equal(result.signal, null, `the process hung and was killed; stderr: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'left after 3');
  assert.equal(result.stderr, '');
});
