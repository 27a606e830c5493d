// Issue #28 part 2: batch endpoints end to end against fixtures/batch.ts. Inputs gathered k to a
// request, the answer cut back into one record per input by key; a 4xx split in halves until the
// bad input stands alone, a 5xx retried as a batch and then split, a 429 waited out whole; one
// record per input however the run ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InputItem } from '../../src/input/item.ts';
import { RunStats } from '../../src/report/stats.ts';
import { planOnly, type FetchRecord, type RunOptions } from '../../src/index.ts';
import { assertOneRecordPerInput, collect, hitsTo, lineNumbers, run, startServer } from '../helpers.js';
import type { FixtureServer } from '../../fixtures/server.ts';

const TEST_TIMEOUT = { timeout: 20_000 };

/** --batch k over the fixture's /batch endpoint, with `query` added to its URL. */
function batchOptions(server: FixtureServer, k: number, query = ''): Partial<RunOptions> {
  return { template: `${server.url}/batch?ids={}${query}`, batch: k, batchSplit: '.items', batchKey: '.id' };
}

/** The IDs each request to /batch asked for, in arrival order. */
function idsSent(server: FixtureServer): string[][] {
  return hitsTo(server, '/batch').map((hit) => new URL(hit.path, server.url).searchParams.get('ids')!.split(','));
}

const bodyId = (record: FetchRecord | undefined) => (record?.body as { id: unknown } | null)?.id;
const sumOfRequests = (records: readonly FetchRecord[]) => records.reduce((sum, record) => sum + (record.batch?.requests ?? 0), 0);

test('#28: k = 3 over 7 inputs: 3 requests, 7 records, each input its own element, the request counted once', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const stats = new RunStats();
  const { records, byLine, events } = await run(inputs, batchOptions(server, 3), { onEvent: (event) => stats.onEvent(event) });

  assertOneRecordPerInput(records, lineNumbers(7));
  assert.deepEqual(idsSent(server), [['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
  inputs.forEach((id, i) => {
    const record = byLine.get(i + 1)!;
    assert.equal(record.ok, true, `line ${i + 1}: ${record.error?.message}`);
    assert.deepEqual(record.body, { id, name: `item ${id}` });
    assert.equal(record.status, 200);
    assert.equal(record.attempts, 1);
    assert.equal(record.url, `${server.url}/batch?ids=${id}`, 'the URL the input would have alone');
    assert.deepEqual(record.batch, { size: i < 6 ? 3 : 1, index: i % 3, requests: i % 3 === 0 ? 1 : 0 });
  });
  assert.equal(byLine.get(2)!.finalUrl, `${server.url}/batch?ids=a,b,c`, 'finalUrl is the batch request');
  assert.equal(events.filter((e) => e.type === 'attempt-start').length, 3);
  const snapshot = stats.snapshot();
  assert.deepEqual([snapshot.attemptsStarted, snapshot.done, snapshot.ok, snapshot.batchedInputs], [3, 7, 7, 7]);
});

test('#28: an input the answer does not mention gets a BATCH_MISSING record, final; the others are ok', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run(['a', 'gone-1', 'b'], batchOptions(server, 3));
  assertOneRecordPerInput(records, [1, 2, 3]);
  assert.equal(server.hits.length, 1);
  const missing = byLine.get(2)!;
  assert.deepEqual([missing.ok, missing.final, missing.status, missing.body, missing.error?.code], [false, true, 200, null, 'BATCH_MISSING']);
  assert.match(missing.error!.message, /ids=gone-1: 200 OK to a batch of 3 values, with no element whose \.id is "gone-1"/);
  assert.deepEqual([byLine.get(1)!.ok, byLine.get(3)!.ok], [true, true]);
});

test('#28: one bad ID in 8 is found by halving: the other 7 are ok, the bad one has its own 400', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = ['a', 'b', 'c', 'd', 'bad-5', 'f', 'g', 'h'];
  const { records, byLine, events } = await run(inputs, batchOptions(server, 8));
  assertOneRecordPerInput(records, lineNumbers(8));
  // 8 refused; 4 ok + 4 refused; 2 refused + 2 ok; the bad one alone + 1 ok.
  assert.deepEqual(
    idsSent(server).map((ids) => ids.length),
    [8, 4, 4, 2, 2, 1, 1],
  );
  for (const record of records.filter((r) => r.line !== 5)) assert.equal(record.ok, true, `line ${record.line}: ${record.error?.message}`);
  const bad = byLine.get(5)!;
  assert.deepEqual([bad.ok, bad.final, bad.status, bad.error?.code, bad.attempts], [false, true, 400, 'HTTP_STATUS', 4]);
  assert.deepEqual(bad.body, { error: 'malformed id bad-5' }, 'the answer to its own request');
  assert.deepEqual(bad.batch, { size: 1, index: 0, requests: 3 }, 'the first input of three of the requests');
  assert.equal(sumOfRequests(records), 7, 'the records count each request once');
  assert.equal(events.filter((e) => e.type === 'retry').length, 3, 'one retry event per split');
});

test('#28: a 5xx is retried as a batch, then split in halves, each with one retry, until the parts are answered', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // The endpoint answers 500 to any batch of more than 2 IDs.
  const { records } = await run(['a', 'b', 'c', 'd', 'e', 'f'], { ...batchOptions(server, 6, '&maxSize=2'), retries: 2 });
  assertOneRecordPerInput(records, lineNumbers(6));
  assert.ok(
    records.every((r) => r.ok),
    records.map((r) => r.error?.message).join('; '),
  );
  // 6 IDs: 3 attempts (--retries 2); halves of 3: 2 attempts each (one retry); quarters of 2 and 1: answered.
  const sizes = idsSent(server).map((ids) => ids.length);
  assert.deepEqual(
    sizes.filter((n) => n === 6),
    [6, 6, 6],
  );
  assert.deepEqual(
    sizes.filter((n) => n === 3),
    [3, 3, 3, 3],
  );
  assert.deepEqual(sizes.filter((n) => n < 3).sort(), [1, 1, 2, 2]);
  assert.equal(records.find((r) => r.line === 1)!.attempts, 3 + 2 + 1, 'every request that carried the input');
  assert.equal(sumOfRequests(records), server.hits.length);
});

test('#28: a 429 is waited out and the batch goes again whole, never split', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(['a', 'b', 'c', 'd', 'e'], batchOptions(server, 5, '&throttle=1&retryAfter=1'));
  assertOneRecordPerInput(records, lineNumbers(5));
  assert.deepEqual(idsSent(server), [
    ['a', 'b', 'c', 'd', 'e'],
    ['a', 'b', 'c', 'd', 'e'],
  ]);
  assert.deepEqual(
    server.hits.map((hit) => hit.status),
    [429, 200],
  );
  assert.ok(records.every((r) => r.ok && r.attempts === 2));
  assert.equal(sumOfRequests(records), 2);
});

test('#28: a 401 fails the whole batch without splitting it: the credential, not an ID, was refused', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(['a', 'b', 'c', 'd'], { ...batchOptions(server, 4), template: `${server.url}/status/401?ids={}` });
  assertOneRecordPerInput(records, lineNumbers(4));
  assert.equal(server.hits.length, 1);
  for (const record of records) {
    assert.deepEqual([record.ok, record.status, record.error?.code], [false, 401, 'HTTP_STATUS']);
    assert.match(record.error!.message, /: 401 Unauthorized to a batch of 4 values$/);
  }
});

test('#28: IDs answered as numbers match their inputs as strings', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run(['7', '42', 'x9'], batchOptions(server, 3, '&numbers=1'));
  assertOneRecordPerInput(records, [1, 2, 3]);
  assert.ok(records.every((r) => r.ok));
  assert.deepEqual([bodyId(byLine.get(1)), bodyId(byLine.get(2)), bodyId(byLine.get(3))], [7, 42, 'x9']);
});

test('#28: an element given twice: the first wins; an ID two inputs share is sent once and answers both', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run(['a', 'b', 'a'], batchOptions(server, 3, '&twice=1'));
  assertOneRecordPerInput(records, [1, 2, 3]);
  assert.deepEqual(idsSent(server), [['a', 'b']]);
  assert.deepEqual(
    records.map((r) => (r.body as { name: string }).name),
    records.map((r) => `item ${bodyId(r)}`),
  );
  assert.deepEqual([byLine.get(3)!.batch, byLine.get(3)!.ok], [{ size: 2, index: 0, requests: 0 }, true]);
});

test('#28: an accepted answer without the array fails every input with BATCH_UNREADABLE, not final', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(['a', 'b'], { ...batchOptions(server, 2), template: `${server.url}/items/x?ids={}` });
  assertOneRecordPerInput(records, [1, 2]);
  for (const record of records) {
    assert.deepEqual([record.ok, record.final, record.status, record.error?.code], [false, false, 200, 'BATCH_UNREADABLE']);
    assert.match(record.error!.message, /has no array at \.items \(--batch-split\)/);
  }
});

test("#28: --schema checks each input's own element, not the batch answer", TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const schema = { document: { type: 'object', required: ['id'], properties: { name: { const: 'item a' } } }, source: 'element.json' };
  const { records, byLine } = await run(['a', 'b'], { ...batchOptions(server, 2), schema });
  assertOneRecordPerInput(records, [1, 2]);
  assert.equal(byLine.get(1)!.ok, true, byLine.get(1)!.error?.message);
  assert.deepEqual([byLine.get(2)!.ok, byLine.get(2)!.error?.code, byLine.get(2)!.schemaErrors?.[0]?.path], [false, 'SCHEMA_MISMATCH', '/name']);
});

test('#28: --max-requests counts requests: 2 batches of 3 are sent, the third batch gets BUDGET_EXHAUSTED', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], { ...batchOptions(server, 3), maxRequests: 2, concurrency: 1 });
  assertOneRecordPerInput(records, lineNumbers(9));
  assert.equal(server.hits.length, 2);
  assert.equal(records.filter((r) => r.ok).length, 6);
  const spent = records.filter((r) => !r.ok);
  assert.deepEqual(
    spent.map((r) => [r.line, r.error?.code, r.final]),
    [
      [7, 'BUDGET_EXHAUSTED', false],
      [8, 'BUDGET_EXHAUSTED', false],
      [9, 'BUDGET_EXHAUSTED', false],
    ],
  );
});

test('#28: resuming, the inputs already done are skipped and the rest form the batches', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(['a', 'b', 'c', 'd', 'e'], batchOptions(server, 2), { skip: (plan) => plan.line <= 2 });
  assertOneRecordPerInput(records, [3, 4, 5]);
  assert.deepEqual(idsSent(server), [['c', 'd'], ['e']]);
});

test('#28: stopping mid-run gives every input one record: the batch on the wire and those waiting are INTERRUPTED', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t, { latencyMs: 1_000 });
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  t.after(() => clearTimeout(timer));
  const { records, events } = await run(
    lineNumbers(10).map(String),
    { ...batchOptions(server, 3), concurrency: 1, graceMs: 50 },
    {
      signal: controller.signal,
      onEvent: (event) => {
        // Stopped while the first batch is on the wire (the server answers after 1 s) and the rest wait.
        if (event.type === 'attempt-start') timer ??= setTimeout(() => controller.abort(new Error('test stop')), 200);
      },
    },
  );
  assert.equal(events.filter((e) => e.type === 'input').length, 10, 'every input was read before the stop');
  assertOneRecordPerInput(records, lineNumbers(10));
  for (const record of records) {
    assert.deepEqual([record.ok, record.final, record.error?.code], [false, false, 'INTERRUPTED'], `line ${record.line}`);
  }
  assert.deepEqual(
    records.map((r) => r.batch?.size),
    records.map((r) => (r.line === 10 ? 1 : 3)),
  );
  assert.equal(server.hits.length, 1);
});

test('#28: a batch does not wait for a stalled input: what was read goes, and an invalid line gets its record at once', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  let hitsWhenResumed = -1;
  async function* slowProducer(): AsyncGenerator<InputItem> {
    yield { line: 1, text: '', fields: { id: 'a' } };
    yield { line: 2, text: '', fields: {} }; // no id: TEMPLATE_MISSING_VALUE
    yield { line: 3, text: '', fields: { id: 'b' } };
    // Far longer than the batch waits for more input (BATCH_LINGER_MS).
    await sleep(1_000);
    hitsWhenResumed = server.hits.length;
    yield { line: 4, text: '', fields: { id: 'c' } };
  }
  const { records } = await run(slowProducer(), { ...batchOptions(server, 50), template: `${server.url}/batch?ids={id}` });
  assertOneRecordPerInput(records, [1, 2, 3, 4]);
  assert.equal(records[0]!.line, 2, 'the invalid line first, before any answer');
  assert.equal(records[0]!.error?.code, 'TEMPLATE_MISSING_VALUE');
  assert.equal(hitsWhenResumed, 1, 'the first batch went while the producer stalled');
  assert.deepEqual(idsSent(server), [['a', 'b'], ['c']]);
});

test('#28: --dedupe with --batch: a duplicate input is not sent again and gets a copy', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run(['a', 'b', 'a', 'c'], { ...batchOptions(server, 2), dedupe: true });
  assertOneRecordPerInput(records, [1, 2, 3, 4]);
  assert.deepEqual(idsSent(server), [['a', 'b'], ['c']]);
  assert.deepEqual([byLine.get(3)!.duplicateOf, bodyId(byLine.get(3))], [1, 'a']);
});

test('#28: --dry-run shows each batch request with the lines it carries; invalid lines keep their own line', TEST_TIMEOUT, async () => {
  const items = ['a', 'b', undefined, 'c', 'd'].map((id, i): InputItem => ({ line: i + 1, text: '', fields: id === undefined ? {} : { id } }));
  const planned = await collect(planOnly(items, { template: 'https://api.example.com/v1/tracks?ids={id}', batch: 3, batchSplit: '.tracks', batchKey: '.id' }));
  assert.deepEqual(
    planned.map((line) => [line.line, line.lines, line.url, line.error?.code ?? null]),
    [
      [3, undefined, '', 'TEMPLATE_MISSING_VALUE'],
      [1, [1, 2, 4], 'https://api.example.com/v1/tracks?ids=a,b,c', null],
      [5, [5], 'https://api.example.com/v1/tracks?ids=d', null],
    ],
  );
});
