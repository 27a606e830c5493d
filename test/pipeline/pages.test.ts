// Issue #27: pagination end to end against fixtures/pages.ts. One record per page, each with its
// input's line, its page and the next URL it found; exactly one `last: true` record per input,
// whatever ended it; every page through the limiter, the retries and the checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadResume } from '../../src/output/resume.ts';
import type { FetchRecord } from '../../src/index.ts';
import { hitsTo, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 20_000 };

/** The rule of a paginated run: exactly one `last: true` record per input line read, and pages 1, 2, … in order before it. */
function assertOneLastPerInput(records: readonly FetchRecord[], lines: readonly number[]): void {
  const lasts = records.filter((r) => r.last === true).map((r) => r.line);
  assert.deepEqual(
    lasts.sort((a, b) => a - b),
    [...lines].sort((a, b) => a - b),
    'one last record per input line',
  );
  for (const line of lines) {
    const pages = records.filter((r) => r.line === line);
    assert.ok(
      pages.every((r, i) => r.page === pages[0]!.page! + i),
      `line ${line}: pages in order, ${pages.map((r) => r.page)}`,
    );
    assert.equal(pages.at(-1)!.last, true, `line ${line}: the last page ends it`);
    assert.ok(
      pages.slice(0, -1).every((r) => r.last === false && r.ok && r.final && r.next !== null),
      `line ${line}: every page before the last is ok, final and has a next`,
    );
  }
}

const itemsOf = (records: readonly FetchRecord[]) => records.filter((r) => r.ok).flatMap((r) => (r.body as { items: string[] }).items);

test('#27: without a pagination option, records have no page, next or last', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/pages/a?n=3`]);
  assert.equal(records.length, 1);
  assert.deepEqual(
    Object.keys(records[0]!).filter((key) => ['page', 'next', 'last'].includes(key)),
    [],
  );
});

test('#27: --paginate follows Link rel="next" page by page; read-ahead counts an input until its last page', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const input = [`${server.url}/pages/a?n=3`, `${server.url}/pages/b?n=5`, 'not a url', `${server.url}/pages/c?n=1`];
  // Read-ahead of one: the second input is read only once the first input's last record is handed over.
  const { records, events } = await run(input, { paginate: true, readAhead: 1, concurrency: 4 });

  assertOneLastPerInput(records, [1, 2, 3, 4]);
  assert.equal(records.length, 3 + 5 + 1 + 1);
  const a = records.filter((r) => r.line === 1);
  assert.deepEqual(
    a.map((r) => [r.page, r.finalUrl, r.next]),
    [
      [1, `${server.url}/pages/a?n=3`, `${server.url}/pages/a?n=3&page=2`],
      [2, `${server.url}/pages/a?n=3&page=2`, `${server.url}/pages/a?n=3&page=3`],
      [3, `${server.url}/pages/a?n=3&page=3`, null],
    ],
  );
  assert.ok(
    a.every((r) => r.url === `${server.url}/pages/a?n=3` && r.attempts === 1 && r.startedAt !== null && r.endedAt !== null),
    'each page is an attempt cycle of its input',
  );
  const invalid = records.find((r) => r.line === 3)!;
  assert.deepEqual([invalid.error?.code, invalid.page, invalid.next, invalid.last], ['INVALID_URL', 1, null, true]);
  assert.deepEqual(itemsOf(records.filter((r) => r.line === 2)), ['b-1-1', 'b-1-2', 'b-2-1', 'b-2-2', 'b-3-1', 'b-3-2', 'b-4-1', 'b-4-2', 'b-5-1', 'b-5-2']);
  assert.equal(hitsTo(server, '/pages/').length, 9, 'each page fetched once');
  // With read-ahead 1, input 2 is read after input 1's third page ended.
  const order = events.filter((e) => e.type === 'input' || (e.type === 'record' && e.record.last)).map((e) => (e.type === 'input' ? `in ${e.line}` : 'last'));
  assert.deepEqual(order.slice(0, 4), ['in 1', 'last', 'in 2', 'last']);
});

test('#27: --next follows a URL in the JSON body (.next, .paging.next) until it is null', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const flat = await run([`${server.url}/pages/a?n=4&style=next`], { nextPath: '.next' });
  assertOneLastPerInput(flat.records, [1]);
  assert.deepEqual(
    flat.records.map((r) => r.page),
    [1, 2, 3, 4],
  );
  const nested = await run([`${server.url}/pages/b?n=2&style=paging`, `${server.url}/pages/c?n=3&style=paging`], { nextPath: '.paging.next' });
  assertOneLastPerInput(nested.records, [1, 2]);
  assert.equal(nested.records.length, 5);
  assert.deepEqual(itemsOf(nested.records.filter((r) => r.line === 1)), ['b-1-1', 'b-1-2', 'b-2-1', 'b-2-2']);
});

test('#27: --cursor puts the cursor from the body into the input request until it is empty', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/pages/a?n=3&style=cursor&q=x`], { cursor: 'cursor=.meta.next_cursor' });
  assertOneLastPerInput(records, [1]);
  assert.deepEqual(
    hitsTo(server, '/pages/').map((h) => h.path),
    ['/pages/a?n=3&style=cursor&q=x', '/pages/a?n=3&style=cursor&q=x&cursor=c2', '/pages/a?n=3&style=cursor&q=x&cursor=c3'],
  );
  assert.deepEqual(
    records.map((r) => r.next),
    [`${server.url}/pages/a?n=3&style=cursor&q=x&cursor=c2`, `${server.url}/pages/a?n=3&style=cursor&q=x&cursor=c3`, null],
  );
});

test('#27: a page that points back at a page already seen ends its input; --max-pages ends it too', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/pages/loop?n=3&loop=2`, `${server.url}/pages/long?n=50`], { paginate: true, maxPages: 4 });
  assertOneLastPerInput(records, [1, 2]);
  const loop = records.filter((r) => r.line === 1);
  assert.equal(loop.length, 3, 'page 3 points back to page 2: no page 4');
  assert.equal(loop.at(-1)!.next, `${server.url}/pages/loop?n=3&loop=2&page=2`, 'the last record shows the link it did not follow');
  assert.equal(loop.at(-1)!.ok, true);
  const long = records.filter((r) => r.line === 2);
  assert.equal(long.length, 4);
  assert.deepEqual([long.at(-1)!.final, long.at(-1)!.next], [true, `${server.url}/pages/long?n=50&page=5`]);
  assert.equal(hitsTo(server, '/pages/').length, 7);
});

test('#27: a page is retried from its own URL, and a failed page ends its input', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/pages/flaky?n=3&flaky=2`, `${server.url}/pages/broken?n=4&broken=3`], { paginate: true });
  assertOneLastPerInput(records, [1, 2]);
  const flaky = records.filter((r) => r.line === 1);
  assert.deepEqual(
    flaky.map((r) => [r.page, r.attempts, r.ok]),
    [
      [1, 1, true],
      [2, 2, true],
      [3, 1, true],
    ],
  );
  assert.deepEqual(
    hitsTo(server, '/pages/flaky').map((h) => [h.path.replace(/^.*page=/, ''), h.status]),
    [
      ['/pages/flaky?n=3&flaky=2', 200],
      ['2', 503],
      ['2', 200],
      ['3', 200],
    ],
  );
  const broken = records.filter((r) => r.line === 2);
  assert.deepEqual(
    broken.map((r) => [r.page, r.ok, r.last]),
    [
      [1, true, false],
      [2, true, false],
      [3, false, true],
    ],
  );
  assert.deepEqual([broken.at(-1)!.status, broken.at(-1)!.error?.code, broken.at(-1)!.next], [404, 'HTTP_STATUS', null]);
});

test('#27: a page on another origin gets no Authorization or Cookie; pages on the input origin do', TEST_TIMEOUT, async (t) => {
  const home = await startServer(t);
  const other = await startServer(t, { host: '127.0.0.2' });
  const headers: Array<[string, string]> = [
    ['Authorization', 'Bearer sekret-token'],
    ['Cookie', 'session=sekret-cookie'],
    ['X-Trace', 'kept'],
  ];
  const { records } = await run([`${home.url}/pages/a?n=3&style=next`, `${home.url}/pages/b?n=2&style=next&origin=${encodeURIComponent(other.url)}`], {
    nextPath: '.next',
    headers,
  });
  assertOneLastPerInput(records, [1, 2]);
  assert.equal(hitsTo(home, '/pages/').length, 4);
  for (const hit of hitsTo(home, '/pages/')) assert.equal(hit.headers.authorization, 'Bearer sekret-token', hit.path);
  const away = hitsTo(other, '/pages/');
  assert.equal(away.length, 1, 'page 2 of b is on the other origin');
  assert.equal(away[0]!.headers.authorization, undefined);
  assert.equal(away[0]!.headers.cookie, undefined);
  assert.equal(away[0]!.headers['x-trace'], 'kept');
  assert.ok(!JSON.stringify(records).includes('sekret'));
});

test('#27: the credential of --auth-command goes to pages on the input origin only', TEST_TIMEOUT, async (t) => {
  const home = await startServer(t);
  const other = await startServer(t, { host: '127.0.0.2' });
  const authCommand = 'echo tok-pages-8461';
  const { records } = await run([`${home.url}/pages/a?n=2`, `${home.url}/pages/b?n=3&origin=${encodeURIComponent(other.url)}`], {
    paginate: true,
    authCommand,
  });
  assertOneLastPerInput(records, [1, 2]);
  assert.equal(hitsTo(home, '/pages/').length, 3);
  for (const hit of hitsTo(home, '/pages/')) assert.equal(hit.headers.authorization, 'Bearer tok-pages-8461', hit.path);
  const away = hitsTo(other, '/pages/');
  assert.equal(away.length, 2, 'pages 2 and 3 of b are on the other origin');
  for (const hit of away) assert.equal(hit.headers.authorization, undefined, hit.path);
  assert.ok(!JSON.stringify(records).includes('tok-pages'));
});

test('#27: the request budget ends an input mid-way with a last record that is not final', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/pages/a?n=5`], { paginate: true, maxRequests: 2 });
  assertOneLastPerInput(records, [1]);
  assert.deepEqual(
    records.map((r) => [r.page, r.ok, r.final, r.last, r.error?.code ?? null]),
    [
      [1, true, true, false, null],
      [2, true, true, false, null],
      [3, false, false, true, 'BUDGET_EXHAUSTED'],
    ],
  );
});

test('#27: --dedupe applies to inputs: a duplicate gets a copy of the last page, and the pages are fetched once', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const url = `${server.url}/pages/a?n=3`;
  const { records } = await run([url, url], { paginate: true, dedupe: true });
  assertOneLastPerInput(records, [1, 2]);
  assert.equal(hitsTo(server, '/pages/').length, 3);
  const copy = records.find((r) => r.line === 2)!;
  assert.deepEqual([copy.duplicateOf, copy.page, copy.last], [1, 3, true]);
});

test('#27: --resume goes on from the last page with a final record, secrets restored, and skips finished inputs', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-pages-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ndjson');
  const input = [`${server.url}/pages/done?n=2`, `${server.url}/pages/long?n=6&api_key=s3cret-key`, `${server.url}/pages/cur?n=3&style=cursor`];
  const options = { maxRequests: 6, concurrency: 1 };

  // The first run: the budget stops it with input 2 part way (and input 3 perhaps not begun).
  const first = await run(input, { ...options, paginate: true });
  writeFileSync(path, first.records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  assertOneLastPerInput(first.records, [1, 2, 3]);
  assert.ok(!JSON.stringify(first.records).includes('s3cret-key'), 'the key is redacted out of next');
  const pagesOf2 = first.records.filter((r) => r.line === 2 && r.last === false).length;
  assert.ok(pagesOf2 >= 1, `input 2 got ${pagesOf2} pages before the stop`);

  const hitsBefore = hitsTo(server, '/pages/long').length;
  const resume = await loadResume(path);
  const second = await run(input, { paginate: true }, { skip: resume.isDone, resumePages: resume.continuationOf });
  assert.ok(!second.records.some((r) => r.line === 1), 'the finished input is skipped');
  const long = second.records.filter((r) => r.line === 2);
  assert.equal(long[0]!.page, pagesOf2 + 1, 'goes on from the page after the last final one');
  assert.equal(long.at(-1)!.page, 6);
  const resumedHits = hitsTo(server, '/pages/long').slice(hitsBefore);
  assert.equal(resumedHits.length, 6 - pagesOf2, 'no page fetched twice');
  assert.ok(
    resumedHits.every((h) => h.path.includes('api_key=s3cret-key')),
    'the redacted key is restored from the input URL',
  );

  // Both runs' records, as the -o file holds them: each input ends with one final last record.
  const all = [...first.records, ...second.records];
  for (const line of [1, 2, 3]) {
    const lasts = all.filter((r) => r.line === line && r.last);
    assert.equal(lasts.at(-1)!.final, true, `line ${line} ends final`);
  }
  assert.deepEqual([...new Set(all.filter((r) => r.line === 2 && r.ok).map((r) => r.page))], [1, 2, 3, 4, 5, 6]);
  assert.equal(all.filter((r) => r.line === 2 && r.ok).length, 6, 'each page recorded once');
});
