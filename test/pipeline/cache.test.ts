// #28 part 1: --cache keeps answers between runs by the HTTP rules. Each test runs fetchAll more
// than once on one cache directory against the fixture server's /cached/:id, whose query says
// which caching headers it answers with, and checks from the server's own hits what was sent.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cacache from 'cacache';
import { TokenBucketLimiter, type Limiter } from '../../src/rate/limiter.js';
import type { InputItem } from '../../src/index.js';
import { assertOneRecordPerInput, hitsTo, lineNumbers, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 30_000 };

function cacheDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under `dir`, its path and its bytes: what `grep -r` would read. */
function filesUnder(dir: string): Array<{ path: string; bytes: Buffer }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, bytes: readFileSync(path) };
    });
}

test('#28: a fresh answer is served from the cache with no request: no slot, token, budget or rate evidence', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const urls = lineNumbers(5).map((i) => `${server.url}/cached/${i}?cc=max-age=600`);
  const first = await run(urls, { cacheDir: dir });
  assertOneRecordPerInput(first.records, lineNumbers(5));
  assert.ok(first.records.every((r) => r.ok && r.cache === 'miss'));
  assert.equal(server.hits.length, 5);

  const events: string[] = [];
  const second = await run(urls, { cacheDir: dir, maxRequests: 1 }, { onEvent: (e) => events.push(e.type) });
  assertOneRecordPerInput(second.records, lineNumbers(5));
  assert.equal(server.hits.length, 5, 'no request sent');
  for (const record of second.records) {
    const before = first.byLine.get(record.line)!;
    assert.equal(record.cache, 'hit');
    assert.equal(record.ok, true);
    assert.equal(record.final, true);
    assert.equal(record.status, 200);
    assert.deepEqual(record.body, before.body, 'the body of the first run');
    assert.equal(record.bodyEncoding, 'json');
    assert.equal(record.bytes, before.bytes);
    assert.equal(record.contentType, 'application/json');
    assert.equal(record.attempts, 0);
    assert.equal(record.startedAt, null);
    assert.equal(record.endedAt, null);
    assert.equal(record.latencyMs, null);
    assert.equal(record.ms, 0);
    assert.equal(record.finalUrl, record.url);
    assert.equal(record.error, null);
  }
  assert.ok(!events.includes('attempt-start') && !events.includes('rate') && !events.includes('interrupt'), events.join(' '));
});

test('#28: every input a fresh hit: --rps 1 over 50 inputs takes no limiter token and does not wait for the rate', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const urls = lineNumbers(50).map((i) => `${server.url}/cached/${i}?cc=max-age=600`);
  await run(urls, { cacheDir: dir });
  assert.equal(server.hits.length, 50);

  let takes = 0;
  const real = new TokenBucketLimiter();
  const counting: Limiter = {
    tryTake: (buckets) => {
      takes++;
      return real.tryTake(buckets);
    },
    pause: (bucket, untilMs) => real.pause(bucket, untilMs),
    pausedUntil: (bucket) => real.pausedUntil(bucket),
    setRate: (bucket, rps, burst) => real.setRate(bucket, rps, burst),
  };
  const started = performance.now();
  const again = await run(urls, { cacheDir: dir, rps: 1 }, { limiter: counting });
  const elapsedMs = performance.now() - started;
  assertOneRecordPerInput(again.records, lineNumbers(50));
  assert.ok(again.records.every((r) => r.cache === 'hit' && r.ok));
  assert.equal(server.hits.length, 50, 'the server saw no request');
  assert.equal(takes, 0, 'no token asked for');
  // At 1 request a second, 50 requests would take 49 s: a wide margin for a busy machine.
  assert.ok(elapsedMs < 10_000, `took ${Math.round(elapsedMs)} ms`);
});

test(
  '#28: a stale answer with an ETag is revalidated: If-None-Match goes out, the 304 costs no body, the record carries the stored one',
  TEST_TIMEOUT,
  async (t) => {
    const server = await startServer(t);
    const dir = cacheDir(t);
    const url = `${server.url}/cached/e?etag=v7&cc=no-cache`;
    const first = await run([url], { cacheDir: dir, includeHeaders: true });
    assert.equal(first.records[0]!.cache, 'miss');
    assert.equal(server.hits[0]!.headers['if-none-match'], undefined);

    for (const round of [1, 2]) {
      const again = await run([url], { cacheDir: dir, includeHeaders: true });
      assertOneRecordPerInput(again.records, [1]);
      const hit = hitsTo(server, '/cached/e').at(-1)!;
      assert.equal(hit.headers['if-none-match'], '"v7"', `round ${round}`);
      assert.equal(hit.status, 304);
      const record = again.records[0]!;
      assert.equal(record.cache, 'revalidated');
      assert.equal(record.ok, true);
      assert.equal(record.status, 200, 'the stored status, not the 304');
      assert.equal(record.attempts, 1, 'one request');
      assert.deepEqual(record.body, { id: 'e', sent: 1, viewer: null }, 'the body of the first answer');
      assert.equal(record.bytes, first.records[0]!.bytes);
      assert.equal(record.headers?.etag, '"v7"');
      assert.equal(record.headers?.['cache-control'], 'no-cache');
      assert.ok(record.startedAt !== null && record.latencyMs !== null);
    }
    assert.equal(server.hits.length, 3);
  },
);

test('#28: a stale answer with only Last-Modified is revalidated with If-Modified-Since', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  // No Cache-Control: no freshness of its own, and no heuristic one from the Last-Modified.
  const url = `${server.url}/cached/l?lm=1000000000`;
  await run([url], { cacheDir: dir });
  const again = await run([url], { cacheDir: dir });
  const [, revalidation] = server.hits;
  assert.equal(revalidation?.headers['if-modified-since'], new Date(1_000_000_000_000).toUTCString());
  assert.equal(revalidation?.headers['if-none-match'], undefined);
  assert.equal(revalidation?.status, 304);
  assert.equal(again.records[0]!.cache, 'revalidated');
  assert.deepEqual(again.records[0]!.body, { id: 'l', sent: 1, viewer: null });
});

test('#28: an answer that says no-store is never stored', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const url = `${server.url}/cached/n?cc=no-store&etag=x`;
  await run([url], { cacheDir: dir });
  const again = await run([url], { cacheDir: dir });
  assert.equal(again.records[0]!.cache, 'miss');
  assert.deepEqual(again.records[0]!.body, { id: 'n', sent: 2, viewer: null });
  assert.equal(server.hits.length, 2);
  assert.equal(server.hits[1]!.headers['if-none-match'], undefined, 'nothing stored to revalidate');
  assert.deepEqual(await cacache.ls(dir), {}, 'no entry in the index');
  assert.equal(filesUnder(dir).filter(({ path }) => path.includes('content-v2')).length, 0, 'no body on disk');
});

test('#28: --cache-max-age makes an answer that states no freshness a hit; the next run without it asks again', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const plain = `${server.url}/cached/m`;
  const noCache = `${server.url}/cached/c?cc=no-cache&etag=k`;
  await run([plain, noCache], { cacheDir: dir });
  assert.equal(server.hits.length, 2);

  const withMaxAge = await run([plain, noCache], { cacheDir: dir, cacheMaxAgeMs: 3_600_000 });
  assert.equal(withMaxAge.byLine.get(1)!.cache, 'hit');
  assert.equal(withMaxAge.byLine.get(2)!.cache, 'revalidated', "the server's no-cache still holds");
  assert.deepEqual(
    server.hits.slice(2).map((hit) => hit.path),
    ['/cached/c?cc=no-cache&etag=k'],
  );

  const without = await run([plain], { cacheDir: dir });
  assert.equal(without.records[0]!.cache, 'miss', 'the freshness is this run’s to give, not stored with the answer');
  assert.equal(server.hits.length, 4);
});

test('#28: secrets never reach the cache directory: Authorization, Cookie, Set-Cookie, secret headers and query values', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const url = `${server.url}/cached/s?cc=max-age=600&cookie=1&vary=Authorization,Cookie,X-Vendor-Key,Accept&api_key=SECRET-query&sessionid=SECRET-param`;
  const options = {
    cacheDir: dir,
    includeHeaders: true,
    redactParams: ['sessionid'],
    secretHeaders: ['X-Vendor-Key'],
    headers: [
      ['Authorization', 'Bearer alice.SECRET-token'],
      ['Cookie', 'sid=SECRET-cookie'],
      ['X-Vendor-Key', 'SECRET-vendor'],
      ['Accept', 'application/json'],
    ] as Array<[string, string]>,
  };
  const first = await run([url], options);
  assert.equal(first.records[0]!.ok, true, first.records[0]!.error?.message);
  assert.equal(server.hits[0]!.headers.authorization, 'Bearer alice.SECRET-token', 'the server got the token');

  const files = filesUnder(dir);
  assert.ok(files.some(({ path }) => path.includes('index-v5')) && files.some(({ path }) => path.includes('content-v2')), 'an entry was written');
  for (const { path, bytes } of files) {
    assert.ok(!bytes.includes('SECRET'), `${path} holds a secret: ${bytes.toString('utf8').slice(0, 400)}`);
  }

  const again = await run([url], options);
  const record = again.records[0]!;
  assert.equal(record.cache, 'hit', 'it was stored, and the stripped request still matches its Vary');
  assert.equal(server.hits.length, 1);
  assert.deepEqual(record.body, { id: 's', sent: 1, viewer: 'alice' });
  assert.equal(record.headers?.['set-cookie'], undefined);
  assert.ok(!JSON.stringify(record).includes('SECRET'));
});

test('#28: a credential that differs per input is in the key: one identity’s answer is never served to another', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const options = {
    cacheDir: dir,
    template: `${server.url}/cached/me?cc=max-age=600`,
    headers: [['Authorization', 'Bearer {token}']] as Array<[string, string]>,
  };
  const item = (line: number, token: string): InputItem => ({ line, text: token, fields: { token } });

  await run([item(1, 'alice.SECRET-a')], options);
  const both = await run([item(1, 'alice.SECRET-a'), item(2, 'bob.SECRET-b')], options);
  assert.equal(both.byLine.get(1)!.cache, 'hit');
  assert.deepEqual(both.byLine.get(1)!.body, { id: 'me', sent: 1, viewer: 'alice' });
  assert.equal(both.byLine.get(2)!.cache, 'miss', "alice's answer is not bob's");
  assert.deepEqual(both.byLine.get(2)!.body, { id: 'me', sent: 2, viewer: 'bob' });
  assert.deepEqual(
    server.hits.map((hit) => hit.headers.authorization),
    ['Bearer alice.SECRET-a', 'Bearer bob.SECRET-b'],
  );

  const third = await run([item(1, 'bob.SECRET-b'), item(2, 'alice.SECRET-a')], options);
  assert.deepEqual(third.records.map((r) => [r.line, r.cache, (r.body as { viewer: string }).viewer]).sort(), [
    [1, 'hit', 'bob'],
    [2, 'hit', 'alice'],
  ]);
  assert.equal(server.hits.length, 2);
  for (const { path, bytes } of filesUnder(dir)) assert.ok(!bytes.includes('SECRET'), path);
});

test('#28: the run-wide token is not in the key: after the token is refreshed, yesterday’s answers still hit', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const url = `${server.url}/cached/w?cc=max-age=600`;
  await run([url], { cacheDir: dir, headers: [['Authorization', 'Bearer carol.OLD-token']] });
  const again = await run([url], { cacheDir: dir, headers: [['Authorization', 'Bearer carol.NEW-token']] });
  assert.equal(again.records[0]!.cache, 'hit');
  assert.equal(server.hits.length, 1);
});

test('#28: a damaged entry is a miss and is replaced, never a crash: a corrupt body, a garbled index', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const url = `${server.url}/cached/d?cc=max-age=600`;
  await run([url], { cacheDir: dir });

  for (const { path } of filesUnder(dir).filter(({ path }) => path.includes('content-v2'))) writeFileSync(path, 'not the body that was stored');
  const afterCorruptBody = await run([url], { cacheDir: dir });
  assert.equal(afterCorruptBody.records[0]!.ok, true);
  assert.equal(afterCorruptBody.records[0]!.cache, 'miss');
  assert.deepEqual(afterCorruptBody.records[0]!.body, { id: 'd', sent: 2, viewer: null });
  assert.equal((await run([url], { cacheDir: dir })).records[0]!.cache, 'hit', 'replaced by the answer fetched in its place');

  for (const { path } of filesUnder(dir).filter(({ path }) => path.includes('index-v5'))) writeFileSync(path, '\u0000garbage\tnot json\n{"key":');
  const afterGarbledIndex = await run([url], { cacheDir: dir });
  assert.equal(afterGarbledIndex.records[0]!.ok, true);
  assert.equal(afterGarbledIndex.records[0]!.cache, 'miss');
  assert.equal((await run([url], { cacheDir: dir })).records[0]!.cache, 'hit');
  assert.equal(server.hits.length, 3);
});

test('#28: a stored body gone by the time the 304 comes: the request goes again in full, and the record is whole', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const url = `${server.url}/cached/g?etag=v1&cc=no-cache`;
  await run([url], { cacheDir: dir });
  rmSync(join(dir, 'content-v2'), { recursive: true, force: true });

  const again = await run([url], { cacheDir: dir });
  assertOneRecordPerInput(again.records, [1]);
  const record = again.records[0]!;
  assert.equal(record.ok, true, record.error?.message);
  assert.equal(record.cache, 'miss');
  assert.deepEqual(record.body, { id: 'g', sent: 2, viewer: null });
  assert.equal(record.attempts, 2, 'the 304 and the full request');
  assert.deepEqual(
    server.hits.slice(1).map((hit) => [hit.headers['if-none-match'] ?? null, hit.status]),
    [
      ['"v1"', 304],
      [null, 200],
    ],
  );
  assert.equal((await run([url], { cacheDir: dir })).records[0]!.cache, 'revalidated', 'stored again');
});

test('#28: only GET and HEAD answers are stored; a hit is formatted as this run’s --body-format says', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const url = `${server.url}/cached/p?cc=max-age=600`;
  await run([url], { cacheDir: dir, method: 'POST', body: '{}' });
  const post = await run([url], { cacheDir: dir, method: 'POST', body: '{}' });
  assert.equal(post.records[0]!.cache, 'miss');
  assert.equal(server.hits.length, 2);

  await run([url], { cacheDir: dir, method: 'HEAD' });
  const head = await run([url], { cacheDir: dir, method: 'HEAD' });
  assert.equal(head.records[0]!.cache, 'hit');
  assert.equal(head.records[0]!.bodyEncoding, 'none');
  assert.equal(server.hits.length, 3);

  await run([url], { cacheDir: dir, bodyFormat: 'none' });
  const json = await run([url], { cacheDir: dir, bodyFormat: 'auto' });
  assert.equal(json.records[0]!.cache, 'hit');
  assert.deepEqual(json.records[0]!.body, { id: 'p', sent: 4, viewer: null }, 'the bytes were kept although the first run showed none');
  const base64 = await run([url], { cacheDir: dir, bodyFormat: 'base64' });
  assert.equal(Buffer.from(base64.records[0]!.body as string, 'base64').toString('utf8'), JSON.stringify({ id: 'p', sent: 4, viewer: null }));
  assert.equal(server.hits.length, 4);
});

test('#28: with --cache every record says where its answer came from, invalid lines and failures included', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  const inputs = [`${server.url}/cached/i?cc=max-age=600`, 'not a url', `${server.url}/status/404`, `${server.url}/redirect/1`];
  await run(inputs, { cacheDir: dir });
  const again = await run(inputs, { cacheDir: dir });
  assertOneRecordPerInput(again.records, [1, 2, 3, 4]);
  assert.deepEqual(
    again.records.map((r) => [r.line, r.cache]).sort(),
    [
      [1, 'hit'],
      [2, 'miss'],
      [3, 'miss'],
      [4, 'miss'],
    ],
    'a 404 with no freshness and an answer reached through a redirect are fetched again',
  );
  const plain = await run([inputs[0]!]);
  assert.equal(plain.records[0]!.cache, undefined, 'no cache field without --cache');
});

test('#28: an answer replaced night after night keeps one line in its index, not one a night', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = cacheDir(t);
  // No freshness, no validator: each run fetches it again and replaces the entry.
  const url = `${server.url}/cached/r`;
  for (let night = 0; night < 4; night++) await run([url], { cacheDir: dir, cacheMaxAgeMs: night === 3 ? 60_000 : undefined });
  assert.equal(server.hits.length, 3, 'the fourth run, with --cache-max-age, found the third one’s answer');
  const buckets = filesUnder(dir).filter(({ path }) => path.includes('index-v5'));
  assert.equal(buckets.length, 1);
  const lines = buckets[0]!.bytes
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, lines.join('\n'));
});
