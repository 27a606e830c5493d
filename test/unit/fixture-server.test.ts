// The fixture server is what every pipeline and CLI test trusts to tell the truth about
// timing and statuses, so its own behaviour is pinned here. Real HTTP over loopback, global fetch.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFixtureServer, type FixtureServer, type FixtureServerOptions } from '../../fixtures/server.js';
import { parseQuotaHeaders } from '../../src/retry/quota-headers.js';
import { type QuotaHeaderShape, ToldWaits, WindowLimiter, retryAfterUntil } from '../../fixtures/window-limit.js';
import { getMode, type ModelAnswer, type ServerModel } from '../../fixtures/limiters/index.js';

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

test("/status?reason= answers with that reason phrase instead of Node's", async (t) => {
  const server = await start(t);
  const res = await fetch(`${server.url}/status/503?reason=${encodeURIComponent('Upstream Napping')}`);
  assert.deepEqual([res.status, res.statusText, await res.text()], [503, 'Upstream Napping', 'status 503']);
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
  assert.deepEqual(
    server.hits.slice(-2).map((h) => h.status),
    [0, 200],
  );
});

test('#28: /batch answers the IDs it knows, by mode: gone left out, bad 400, maxSize 500, throttle 429, numbers, twice; /tracks the same', async (t) => {
  const server = await start(t);
  const get = async (query: string, path = '/batch') => {
    const response = await fetch(`${server.url}${path}?${query}`);
    return [response.status, await response.json()] as const;
  };
  assert.deepEqual(await get('ids=a,gone-1,b'), [
    200,
    {
      items: [
        { id: 'a', name: 'item a' },
        { id: 'b', name: 'item b' },
      ],
    },
  ]);
  assert.deepEqual(await get('ids=a|b&sep=|', '/tracks'), [
    200,
    {
      tracks: [
        { id: 'a', name: 'item a' },
        { id: 'b', name: 'item b' },
      ],
    },
  ]);
  assert.deepEqual(await get('ids=a,bad-2'), [400, { error: 'malformed id bad-2' }]);
  assert.deepEqual(await get('ids=a,b,c&maxSize=2'), [500, { error: 'cannot answer 3 ids at once' }]);
  assert.deepEqual(await get('ids=a,b&maxSize=2'), [
    200,
    {
      items: [
        { id: 'a', name: 'item a' },
        { id: 'b', name: 'item b' },
      ],
    },
  ]);
  assert.deepEqual(await get('ids=7,x&numbers=1'), [
    200,
    {
      items: [
        { id: 7, name: 'item 7' },
        { id: 'x', name: 'item x' },
      ],
    },
  ]);
  assert.deepEqual(await get('ids=a&twice=1'), [
    200,
    {
      items: [
        { id: 'a', name: 'item a' },
        { id: 'a', name: 'copy of item a' },
      ],
    },
  ]);
  const throttled = await fetch(`${server.url}/batch?ids=a&throttle=1&retryAfter=2`);
  assert.deepEqual([throttled.status, throttled.headers.get('retry-after')], [429, '2']);
  await throttled.text();
  assert.deepEqual(await get('ids=a&throttle=1'), [200, { items: [{ id: 'a', name: 'item a' }] }]);
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

// ---- Fixed windows, quota headers, halving, punishment (issue #11) ------------------------

interface Answer {
  status: number;
  headers: Record<string, string>;
}

/** GET from `localAddress` (a client of its own), with the answer's headers. */
function getAs(url: string, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false }, (res) => {
      res.resume();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers[name] = value;
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers }));
    });
    req.on('error', reject);
  });
}

async function getSeveral(url: string, n: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) answers.push(await getAs(url));
  return answers;
}

const clockNow = () => performance.timeOrigin + performance.now();

test('#11: phaseMs shifts every window past the clock second: 2 per window turning over at x.5 s', () => {
  const limiter = new WindowLimiter({ limit: 2, phaseMs: 500 });
  const admit = (t: number) => limiter.admit('a', t, null);
  assert.deepEqual([admit(1_400).admitted, admit(1_450).admitted], [true, true]);
  const refused = admit(1_490);
  assert.equal(refused.admitted, false);
  assert.equal(refused.resetAtMs, 1_500, 'the window ends at the phase, not the whole second');
  // The whole second 2 s turns over nothing: 1.5 s … 2.5 s is one window.
  assert.deepEqual(
    [1_500, 1_999, 2_001].map((t) => admit(t).admitted),
    [true, true, false],
  );
  assert.equal(admit(2_500).admitted, true);
  assert.throws(() => new WindowLimiter({ limit: 2, phaseMs: 1_000 }), /phaseMs/);
  assert.throws(() => new WindowLimiter({ limit: 2, phaseMs: -1 }), /phaseMs/);
});

/** Sleeps past the window boundary only if fewer than `needMs` are left in this window. */
async function awayFromWindowEnd(windowMs: number, needMs: number): Promise<void> {
  const now = clockNow();
  const left = (Math.floor(now / windowMs) + 1) * windowMs - now;
  if (left < needMs) await sleep(left + 5);
}

const windowEndOf = (t: number, windowMs: number) => (Math.floor(t / windowMs) + 1) * windowMs;

/**
 * A window (a minute unless said) that began at the last whole second: the few requests a test
 * makes now all land in it, however slowly the machine answers them (a one-second window caught
 * between two requests would fail the test at random). `endMs` is its end, on a whole second.
 */
function windowFromNow(windowMs = 60_000): { windowMs: number; phaseMs: number; endMs: number } {
  const startMs = Math.floor(clockNow() / 1000) * 1000;
  return { windowMs, phaseMs: startMs % windowMs, endMs: startMs + windowMs };
}

/**
 * The whole seconds from `t` to `endMs`, as a header counting down to the window's end says
 * them: rounded up, and stamped when the answer is written, a moment after the request arrived
 * at `t`, so one second fewer when that moment crossed a whole second.
 */
function secondsLeft(endMs: number, t: number): [string, string] {
  const atArrival = Math.ceil((endMs - t) / 1000);
  return [String(atArrival), String(atArrival - 1)];
}

test('#11: X-RateLimit on every answer, with the Reset as epoch seconds, delta seconds or epoch ms', async (t) => {
  for (const reset of ['epoch-seconds', 'delta-seconds', 'epoch-ms'] as const) {
    const window = windowFromNow();
    const server = await start(t, { limit: { limit: 2, headers: 'x-ratelimit', reset, ...window } });
    const answers = await getSeveral(`${server.url}/items/1`, 3);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 429],
      reset,
    );
    assert.deepEqual(
      answers.map((a) => [a.headers['x-ratelimit-limit'], a.headers['x-ratelimit-remaining']]),
      [
        ['2', '1'],
        ['2', '0'],
        ['2', '0'],
      ],
      reset,
    );
    answers.forEach((answer, i) => {
      const stated = answer.headers['x-ratelimit-reset']!;
      if (reset === 'epoch-seconds') assert.equal(stated, String(window.endMs / 1000), reset);
      else if (reset === 'epoch-ms') assert.equal(stated, String(window.endMs), reset);
      else assert.ok(secondsLeft(window.endMs, server.hits[i]!.t).includes(stated), `${reset}: ${stated}`);
    });
    assert.ok(secondsLeft(window.endMs, server.hits[2]!.t).includes(answers[2]!.headers['retry-after']!), answers[2]!.headers['retry-after']);
    // ratefetch's own parser reads the reset back as the window's end (delta seconds: rounded up).
    const quota = parseQuotaHeaders(answers[1]!.headers, server.hits[1]!.t);
    assert.equal(quota?.source, 'x-ratelimit');
    assert.equal(quota?.remaining, 0);
    if (reset === 'delta-seconds') assert.ok(quota!.resetAtMs! >= window.endMs - 1000 && quota!.resetAtMs! <= window.endMs + 1000, reset);
    else assert.equal(quota?.resetAtMs, window.endMs, reset);
    // "Remaining 0" told the client to wait until the reset, so the third request arrived inside that wait.
    assert.deepEqual(
      server.hits.map((h) => h.toldToWait === null),
      [true, true, false],
      reset,
    );
    const told = server.hits[2]!.toldToWait!;
    assert.ok(told.since >= server.hits[1]!.t && told.since <= server.hits[2]!.t, reset);
    if (reset !== 'delta-seconds') assert.equal(told.until, window.endMs, reset);
  }
});

test('#11: a delta-seconds Reset counts whole seconds to the window end, rounded up', async (t) => {
  const windowMs = 10_000;
  const server = await start(t, { limit: { limit: 5, windowMs, headers: 'x-ratelimit', reset: 'delta-seconds' } });
  await awayFromWindowEnd(windowMs, 1500);
  const [answer] = await getSeveral(`${server.url}/ok`, 1);
  const left = windowEndOf(server.hits[0]!.t, windowMs) - server.hits[0]!.t;
  const reset = Number(answer!.headers['x-ratelimit-reset']);
  // Stamped a moment after arrival, so the rounded-up value can only be one lower than at arrival.
  assert.ok(reset === Math.ceil(left / 1000) || reset === Math.ceil(left / 1000) - 1, `reset ${reset} for ${left} ms left`);
  assert.ok(reset >= 1 && reset <= 10);
});

test("#11: each IETF shape (drafts 00–06, draft 07, draft 08 on), read back by ratefetch's parser", async (t) => {
  // The headers each shape states for 0 left, `left` whole seconds before a minute window's end.
  const cases: ReadonlyArray<readonly [QuotaHeaderShape, string, (left: string) => Record<string, string>]> = [
    ['ietf-draft', 'ratelimit-draft', (left: string) => ({ 'ratelimit-limit': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': left })],
    ['ietf-combined', 'ratelimit-combined', (left: string) => ({ ratelimit: `limit=2, remaining=0, reset=${left}`, 'ratelimit-policy': '2;w=60' })],
    ['ietf-structured', 'ratelimit-structured', (left: string) => ({ ratelimit: `"default";r=0;t=${left}`, 'ratelimit-policy': '"default";q=2;w=60' })],
  ];
  for (const [shape, source, expected] of cases) {
    const window = windowFromNow();
    const server = await start(t, { limit: { limit: 2, headers: shape, ...window } });
    const answers = await getSeveral(`${server.url}/ok`, 3);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 429],
      shape,
    );
    const quotaHeaders = (a: Answer) => Object.fromEntries(Object.entries(a.headers).filter(([name]) => name.startsWith('ratelimit')));
    for (const i of [1, 2]) {
      const stated = quotaHeaders(answers[i]!);
      const either = secondsLeft(window.endMs, server.hits[i]!.t).map(expected);
      assert.ok(
        either.some((headers) => isDeepStrictEqual(stated, headers)),
        `${shape}: ${JSON.stringify(stated)} is neither of ${JSON.stringify(either)}`,
      );
    }
    assert.ok(secondsLeft(window.endMs, server.hits[2]!.t).includes(answers[2]!.headers['retry-after']!), shape);
    assert.ok(!Object.keys(answers[0]!.headers).some((name) => name.startsWith('x-ratelimit')), shape);
    const first = parseQuotaHeaders(answers[0]!.headers, server.hits[0]!.t);
    assert.equal(first?.source, source);
    assert.equal(first?.remaining, 1);
    const quota = parseQuotaHeaders(answers[1]!.headers, server.hits[1]!.t);
    assert.equal(quota?.remaining, 0, shape);
    assert.ok(quota!.resetAtMs! >= window.endMs - 1000 && quota!.resetAtMs! <= window.endMs + 1000, shape);
    if (shape !== 'ietf-draft') assert.equal(quota?.windowMs, 60_000, shape);
  }
  const long = await start(t, { limit: { limit: 7, windowMs: 10_000, headers: 'ietf-structured' } });
  const [answer] = await getSeveral(`${long.url}/ok`, 1);
  assert.equal(answer!.headers['ratelimit-policy'], '"default";q=7;w=10');
  assert.match(answer!.headers.ratelimit ?? '', /^"default";r=6;t=(10|[1-9])$/);
});

test('#11: windows turn over on the clock and each client address counts on its own', async (t) => {
  const window = windowFromNow();
  const server = await start(t, { limit: { limit: 2, ...window } });
  const answers = await getSeveral(`${server.url}/ok`, 3);
  const other = await getAs(`${server.url}/ok`, '127.0.0.2');
  assert.deepEqual(
    [...answers, other].map((a) => a.status),
    [200, 200, 429, 200],
  );
  // No quota headers in this mode; the refusal says Retry-After only.
  assert.ok(secondsLeft(window.endMs, server.hits[2]!.t).includes(answers[2]!.headers['retry-after']!));
  assert.ok(!Object.keys(answers[2]!.headers).some((name) => name.includes('ratelimit')));
  assert.equal(server.count429(), 1);
  // The turn of a one-second window on the clock, in virtual time: the count starts again at the whole second.
  const limiter = new WindowLimiter({ limit: 2 });
  const admit = (at: number) => limiter.admit('a', at, null).admitted;
  assert.deepEqual([5_000, 5_400, 5_999, 6_000, 6_001, 6_999, 7_000].map(admit), [true, true, false, true, true, false, true]);
});

test('#11: no hints at all: a bare 429, and no wait is recorded as told', async (t) => {
  const server = await start(t, { limit: { limit: 1, retryAfter: 'none', ...windowFromNow() } });
  const answers = await getSeveral(`${server.url}/ok`, 3);
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 429, 429],
  );
  for (const answer of answers) assert.ok(!Object.keys(answer.headers).some((name) => name.includes('ratelimit') || name === 'retry-after'));
  assert.deepEqual(
    server.hits.map((h) => h.toldToWait),
    [null, null, null],
  );
});

test('#11: Retry-After as an HTTP-date names the window end exactly', async (t) => {
  const window = windowFromNow();
  const server = await start(t, { limit: { limit: 1, retryAfter: 'http-date', ...window } });
  const answers = await getSeveral(`${server.url}/ok`, 2);
  assert.equal(answers[1]!.status, 429);
  assert.equal(answers[1]!.headers['retry-after'], new Date(window.endMs).toUTCString());
});

test('#11: a Retry-After wait is recorded on the requests that arrive inside it, token bucket included', async (t) => {
  // A token a minute: the second and third requests come long before the next one, on any machine.
  const bucket = await start(t, { rps: 1 / 60 });
  await getSeveral(`${bucket.url}/ok`, 3);
  assert.deepEqual(
    bucket.hits.map((h) => [h.status, h.toldToWait === null]),
    [
      [200, true],
      [429, true],
      [429, false],
    ],
  );
  const told = bucket.hits[2]!.toldToWait!;
  assert.ok(told.since >= bucket.hits[1]!.t && told.since <= bucket.hits[2]!.t);
  assert.ok(Math.abs(told.until - told.since - 60_000) < 1, `told ${told.until - told.since} ms`);

  // Windows of 3 s from now: the first two requests share one, and the third waits out the Retry-After.
  const windows = await start(t, { limit: { limit: 1, ...windowFromNow(3000) } });
  const [, refused] = await getSeveral(`${windows.url}/ok`, 2);
  await sleep(Number(refused!.headers['retry-after']) * 1000 + 20);
  await getSeveral(`${windows.url}/ok`, 1);
  assert.deepEqual(
    windows.hits.map((h) => [h.status, h.toldToWait === null]),
    [
      [200, true],
      [429, true],
      [200, true],
    ],
  );
});

test('#11: halveAfterMs halves the limit once, counted from the first request', () => {
  // In virtual time: the halving is counted from the first request, whenever the machine sends it.
  const limiter = new WindowLimiter({ limit: 4, headers: 'x-ratelimit', halveAfterMs: 200 });
  const arrive = (at: number) => {
    const verdict = limiter.admit('a', at, null);
    const { headers } = limiter.answer(verdict, at);
    return [verdict.admitted ? 200 : 429, headers['x-ratelimit-limit'], headers['x-ratelimit-remaining']];
  };
  const before = [1_050, 1_060, 1_100, 1_150, 1_240].map(arrive);
  const after = [2_000, 2_100, 2_200].map(arrive);
  assert.deepEqual(before, [
    [200, '4', '3'],
    [200, '4', '2'],
    [200, '4', '1'],
    [200, '4', '0'],
    [429, '4', '0'],
  ]);
  assert.deepEqual(after, [
    [200, '2', '1'],
    [200, '2', '0'],
    [429, '2', '0'],
  ]);
  // Once halved it stays halved.
  assert.equal(limiter.limitAt(60_000), 2);
});

/**
 * The fixture server's limit as it runs, in virtual time: admit at arrival with the waits told
 * so far, answer, and note the wait the answer tells (as fixtures/server.ts does).
 */
function virtualWindowServer(options: ConstructorParameters<typeof WindowLimiter>[0]) {
  const limiter = new WindowLimiter(options);
  const told = new ToldWaits();
  return (client: string, t: number) => {
    const verdict = limiter.admit(client, t, told.inForce(client, t));
    const { headers } = limiter.answer(verdict, t);
    const retryAfter = headers['retry-after'] === undefined ? undefined : String(headers['retry-after']);
    const until = verdict.admitted ? undefined : retryAfterUntil(retryAfter, t);
    if (until !== undefined) told.note(client, t, until);
    return { status: verdict.admitted ? 200 : 429, retryAfter, punished: verdict.punished };
  };
}

test('#11: punish: a request sent while told to wait is refused and the wait grows; an obedient client is not punished', () => {
  const arrive = virtualWindowServer({ limit: 1, punish: { factor: 2, graceMs: 0 } });
  const at = (ms: number) => 1_000_000 + ms;
  const obedient = [arrive('b', at(5)), arrive('b', at(10))];
  const offender = [15, 20, 25, 30].map((ms) => arrive('a', at(ms)));
  assert.deepEqual(
    obedient.map((a) => [a.status, a.retryAfter, a.punished]),
    [
      [200, undefined, false],
      [429, '1', false],
    ],
  );
  // Told at 20 ms to wait 1 s; at 25 ms it is blocked for twice that (2 s); at 30 ms for twice
  // the whole wait it had been told by then (20 ms … 2.025 s), rounded up to whole seconds.
  assert.deepEqual(
    offender.map((a) => [a.status, a.retryAfter, a.punished]),
    [
      [200, undefined, false],
      [429, '1', false],
      [429, '2', true],
      [429, '5', true],
    ],
  );
  // The obedient client waits out its Retry-After: 1 and is served in the next window; the
  // offender, sending then too, is still blocked although the window turned over.
  assert.deepEqual(arrive('b', at(1_010)), { status: 200, retryAfter: undefined, punished: false });
  assert.equal(arrive('a', at(1_020)).status, 429);
});

test('#11: punish over HTTP: the server records each offence as punished and each obedient request as not', async (t) => {
  // One minute-long window that begins now: every request below lands in it, however slow the machine.
  const server = await start(t, {
    limit: { limit: 1, windowMs: 60_000, phaseMs: Math.floor(clockNow()) % 60_000, punish: { factor: 2, graceMs: 0, maxWaitMs: 600_000 } },
  });
  const obedient = [await getAs(`${server.url}/ok`, '127.0.0.2'), await getAs(`${server.url}/ok`, '127.0.0.2')];
  const offender = await getSeveral(`${server.url}/ok`, 3);
  assert.deepEqual(
    [...obedient, ...offender].map((a) => a.status),
    [200, 429, 200, 429, 429],
  );
  // Blocked for twice the wait it was told: the window's end, about a minute away.
  assert.ok(Number(offender[2]!.headers['retry-after']) > Number(offender[1]!.headers['retry-after']), JSON.stringify(offender[2]!.headers));
  assert.deepEqual(
    server.hits.map((h) => [h.client, h.punished]),
    [
      ['127.0.0.2', false],
      ['127.0.0.2', false],
      ['127.0.0.1', false],
      ['127.0.0.1', false],
      ['127.0.0.1', true],
    ],
  );
  assert.ok(server.hits[4]!.toldToWait !== null);
});

test('#11: punish spares requests that arrive within the grace', async (t) => {
  // A minute-long window that begins now, so the three requests share it on any machine.
  const server = await start(t, { limit: { limit: 1, windowMs: 60_000, phaseMs: Math.floor(clockNow()) % 60_000, punish: { graceMs: 60_000 } } });
  const answers = await getSeveral(`${server.url}/ok`, 3);
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 429, 429],
  );
  // A punishment would block for twice the wait told: the third wait would be the longer.
  assert.ok(Number(answers[2]!.headers['retry-after']) <= Number(answers[1]!.headers['retry-after']), "no block added to the window's end");
  assert.deepEqual(
    server.hits.map((h) => h.punished),
    [false, false, false],
  );
});

test('#11: limit options are checked', async () => {
  await assert.rejects(startFixtureServer({ rps: 1, limit: { limit: 1 } }), RangeError);
  await assert.rejects(startFixtureServer({ limit: { limit: 0 } }), RangeError);
  await assert.rejects(startFixtureServer({ limit: { limit: 1, windowMs: 0 } }), RangeError);
  await assert.rejects(startFixtureServer({ limit: { limit: 1, punish: { factor: 0.5 } } }), RangeError);
});

// ---- Model mode: every request answered by a server model (issue #23) --------------------

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body bytes received before the message ended or the connection closed. */
  received: number;
  /** The whole message arrived. */
  complete: boolean;
}

/** GET on a fresh connection: the answer however it ended, or the socket error that ended it first. */
function getRaw(url: string): Promise<RawAnswer | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      res.on('error', () => {}); // a cut body ends in 'close' with complete false
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, received, complete: res.complete }));
    });
    req.on('error', resolve);
  });
}

test('#23: model mode: a 429 from the model carries its headers, and the wait it told is recorded', async (t) => {
  // count 10 sizes the window's quota at 2, so the third request is refused for the rest of the minute.
  const server = await start(t, { model: getMode('client-window-60s').create({ count: 10, headers: 'x-ratelimit', reset: 'delta-seconds' }) });
  const answers = await getSeveral(`${server.url}/items/1`, 4);
  assert.deepEqual(
    answers.map((a) => [a.status, a.headers['x-ratelimit-limit'], a.headers['x-ratelimit-remaining']]),
    [
      [200, '2', '1'],
      [200, '2', '0'],
      [429, '2', '0'],
      [429, '2', '0'],
    ],
  );
  const retryAfterS = Number(answers[2]!.headers['retry-after']);
  assert.ok(retryAfterS >= 50 && retryAfterS <= 60, `Retry-After ${retryAfterS}`);
  assert.equal(answers[2]!.headers['x-ratelimit-reset'], String(retryAfterS));
  assert.deepEqual(
    server.hits.map((h) => [h.path, h.status, h.toldToWait !== null]),
    [
      ['/items/1', 200, false],
      ['/items/1', 200, false],
      ['/items/1', 429, false],
      ['/items/1', 429, true],
    ],
  );
  assert.equal(server.count429(), 2);
});

test('#23: model mode: a reset is a reset, a truncated body is short, latency delays, a hang waits for close()', async (t) => {
  const model: ServerModel = {
    answer({ path }): ModelAnswer {
      if (path === '/reset') return { kind: 'reset', latencyMs: 0 };
      if (path === '/truncated') return { kind: 'truncated', status: 200, headers: { 'x-model': 'cut' }, latencyMs: 0 };
      if (path === '/hang') return { kind: 'hang' };
      return { kind: 'response', status: 503, headers: { 'retry-after': '1' }, latencyMs: 100 };
    },
  };
  const server = await start(t, { model });

  const reset = await getRaw(`${server.url}/reset`);
  assert.ok(reset instanceof Error && reset.code === 'ECONNRESET', `not a reset: ${String(reset)}`);

  const truncated = await getRaw(`${server.url}/truncated`);
  assert.ok(!(truncated instanceof Error), String(truncated));
  const declared = Number(truncated.headers['content-length']);
  assert.deepEqual([truncated.status, truncated.headers['x-model'], truncated.complete], [200, 'cut', false]);
  assert.ok(truncated.received > 0 && truncated.received < declared, `${truncated.received} of ${declared} bytes`);

  const started = performance.now();
  const slow = await getRaw(`${server.url}/anything`);
  assert.ok(!(slow instanceof Error) && slow.status === 503 && slow.headers['retry-after'] === '1');
  assert.ok(performance.now() - started >= 95);

  const pending = getRaw(`${server.url}/hang`);
  while (server.hits.length < 4) await sleep(5);
  const closing = performance.now();
  await server.close();
  assert.ok(performance.now() - closing < 500, 'close() waited for the hanging socket');
  assert.ok((await pending) instanceof Error);
  assert.deepEqual(
    server.hits.map((h) => [h.path, h.status]),
    [
      ['/reset', 0],
      ['/truncated', 200],
      ['/anything', 503],
      ['/hang', 0],
    ],
  );
});

test('#23: model mode answers every request itself: rps and limit cannot be set with it', async () => {
  const model = getMode('tb1').create();
  await assert.rejects(startFixtureServer({ model, rps: 1 }), RangeError);
  await assert.rejects(startFixtureServer({ model, limit: { limit: 1 } }), RangeError);
});
