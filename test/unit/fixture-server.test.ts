// The fixture server is what every pipeline and CLI test trusts to tell the truth about
// timing and statuses, so its own behaviour is pinned here. Real HTTP over loopback, global fetch.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFixtureServer, type FixtureServer, type FixtureServerOptions } from '../../fixtures/server.js';

async function start(t: TestContext, opts?: FixtureServerOptions): Promise<FixtureServer> {
  const server = await startFixtureServer(opts);
  t.after(() => server.close());
  return server;
}

/** GET with the client socket bound to `localAddress`, to look like a different client. */
function getFrom(localAddress: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

test('rate limit: 429 with Retry-After in seconds, and the refused request is recorded', async (t) => {
  const server = await start(t, { rps: 1 });
  const first = await fetch(`${server.url}/ok`);
  await first.text();
  const second = await fetch(`${server.url}/items/7`);
  assert.equal(first.status, 200);
  assert.equal(second.status, 429);
  assert.equal(second.headers.get('retry-after'), '1');
  await second.text();
  assert.deepEqual(
    server.hits.map((h) => [h.method, h.path, h.status, h.client]),
    [
      ['GET', '/ok', 200, '127.0.0.1'],
      ['GET', '/items/7', 429, '127.0.0.1'],
    ],
  );
  assert.ok(server.hits[0]!.t <= server.hits[1]!.t);
  assert.ok(Math.abs(server.hits[0]!.t - Date.now()) < 5_000);
  assert.equal(server.count429(), 1);
});

test('rate limit: Retry-After as an IMF-fixdate in the future', async (t) => {
  const server = await start(t, { rps: 0.5, retryAfter: 'http-date' });
  await (await fetch(`${server.url}/ok`)).text();
  const limited = await fetch(`${server.url}/ok`);
  await limited.text();
  const value = limited.headers.get('retry-after') ?? '';
  assert.equal(limited.status, 429);
  assert.match(value, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
  const at = Date.parse(value);
  // A token comes back in about 2 s; the date is rounded up to a whole second.
  assert.ok(at > Date.now(), `${value} is not in the future`);
  assert.ok(at <= Date.now() + 3_000, `${value} is too far away`);
});

test('rate limit: bare 429 when retryAfter is none', async (t) => {
  const server = await start(t, { rps: 1, retryAfter: 'none' });
  await (await fetch(`${server.url}/ok`)).text();
  const limited = await fetch(`${server.url}/ok`);
  await limited.text();
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), null);
});

test('rate limit: a refused request costs no token, burst allows back-to-back starts', async (t) => {
  const server = await start(t, { rps: 10, burst: 2 });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${server.url}/ok`);
    await res.text();
    statuses.push(res.status);
  }
  assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
  // One token is back after 100 ms, whatever the three refusals did.
  await sleep(150);
  assert.equal((await fetch(`${server.url}/ok`)).status, 200);
  assert.equal(server.count429(), 3);
});

test('rate limit: each client address has its own bucket', async (t) => {
  const server = await start(t, { rps: 1 });
  assert.equal(await getFrom('127.0.0.1', `${server.url}/ok`), 200);
  assert.equal(await getFrom('127.0.0.1', `${server.url}/ok`), 429);
  assert.equal(await getFrom('127.0.0.2', `${server.url}/ok`), 200);
  assert.deepEqual(
    server.hits.map((h) => h.client),
    ['127.0.0.1', '127.0.0.1', '127.0.0.2'],
  );
});

test('keepLog false records nothing but still counts', async (t) => {
  const server = await start(t, { keepLog: false });
  await (await fetch(`${server.url}/status/429`)).text();
  await (await fetch(`${server.url}/ok`)).text();
  assert.equal(server.hits.length, 0);
  assert.equal(server.countRequests(), 2);
  assert.equal(server.count429(), 1);
});

test('/status passes Retry-After through verbatim, garbage included', async (t) => {
  const server = await start(t);
  const res = await fetch(`${server.url}/status/503?retryAfter=${encodeURIComponent('soon, maybe')}`);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), 'soon, maybe');
  assert.equal(await res.text(), 'status 503');
});

test('/flaky fails N times per key, then answers 200', async (t) => {
  const server = await start(t);
  const statuses: Array<[number, string | null]> = [];
  for (const key of ['a', 'a', 'b', 'a']) {
    const res = await fetch(`${server.url}/flaky/${key}?fail=2&status=429&retryAfter=3`);
    await res.text();
    statuses.push([res.status, res.headers.get('retry-after')]);
  }
  assert.deepEqual(statuses, [
    [429, '3'],
    [429, '3'],
    [429, '3'],
    [200, null],
  ]);
});

test('/redirect/:n walks down to /redirect/0, keeping the status', async (t) => {
  const server = await start(t);
  const followed = await fetch(`${server.url}/redirect/3`);
  assert.equal(followed.status, 200);
  assert.equal(followed.redirected, true);
  await followed.text();
  assert.deepEqual(
    server.hits.map((h) => [h.path, h.status]),
    [
      ['/redirect/3', 302],
      ['/redirect/2', 302],
      ['/redirect/1', 302],
      ['/redirect/0', 200],
    ],
  );

  const manual = await fetch(`${server.url}/redirect/2?status=307`, { redirect: 'manual' });
  await manual.text();
  assert.equal(manual.status, 307);
  assert.equal(manual.headers.get('location'), '/redirect/1?status=307');
});

test('compressed routes decode to the JSON they announce', async (t) => {
  const server = await start(t);
  for (const encoding of ['gzip', 'deflate', 'br']) {
    const res = await fetch(`${server.url}/${encoding}`);
    assert.equal(res.headers.get('content-encoding'), encoding);
    const body = (await res.json()) as { compressed: string; data: string };
    assert.equal(body.compressed, encoding);
    assert.ok(body.data.length > 200);
  }
  await assert.rejects(async () => (await fetch(`${server.url}/corrupt-gzip`)).text());
});

test('/bytes, /echo, HEAD and the fault routes', async (t) => {
  const server = await start(t);
  const bytes = new Uint8Array(await (await fetch(`${server.url}/bytes/70000`)).arrayBuffer());
  assert.equal(bytes.length, 70_000);
  assert.equal(bytes[65_537], 65_537 % 256);

  const echo = await fetch(`${server.url}/echo?x=1`, { method: 'POST', body: 'héllo', headers: { 'x-test': 'yes' } });
  const echoed = (await echo.json()) as { method: string; path: string; headers: Record<string, string>; body: string };
  assert.deepEqual([echoed.method, echoed.path, echoed.headers['x-test'], echoed.body], ['POST', '/echo?x=1', 'yes', 'héllo']);

  const head = await fetch(`${server.url}/text`, { method: 'HEAD' });
  assert.equal(head.headers.get('content-length'), '5');
  assert.equal(await head.text(), '');

  await assert.rejects(fetch(`${server.url}/reset`));
  await assert.rejects(async () => (await fetch(`${server.url}/reset-body`)).arrayBuffer());
  assert.deepEqual(server.hits.slice(-2).map((h) => h.status), [0, 200]);
});

test('latencyMs delays every answer', async (t) => {
  const server = await start(t, { latencyMs: 100 });
  const started = performance.now();
  await (await fetch(`${server.url}/ok`)).text();
  assert.ok(performance.now() - started >= 95);
});

test('close() returns quickly while a /hang request is open', async (t) => {
  const server = await start(t);
  const client = new AbortController();
  const pending = fetch(`${server.url}/hang`, { signal: client.signal }).catch((error: unknown) => error);
  while (server.hits.length === 0) await sleep(5);

  const started = performance.now();
  await server.close();
  assert.ok(performance.now() - started < 500, 'close() waited for the hanging socket');
  assert.equal(server.hits[0]!.status, 0);

  client.abort();
  assert.ok((await pending) instanceof Error);
});
