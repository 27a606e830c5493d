// One request's worth of HTTP through the whole pipeline: body formats and decoding, size caps,
// HEAD, redirects (hops, loops, credentials across origins, 303) and the overall deadline.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneRecordPerInput, hitsTo, lineNumbers, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 20_000 };

test('#7: body formats: JSON parsed, text, base64 for octet-stream, compressed bodies decoded', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const paths = ['/items/1', '/text', '/bytes/300', '/gzip', '/deflate', '/br', '/corrupt-gzip', '/bad-json'];
  const { records, byLine } = await run(paths.map((p) => server.url + p));
  assertOneRecordPerInput(records, lineNumbers(paths.length));

  const json = byLine.get(1)!;
  assert.deepEqual([json.ok, json.bodyEncoding, json.body, json.contentType], [true, 'json', { id: '1', name: 'item 1' }, 'application/json']);
  assert.equal(json.bytes, Buffer.byteLength(JSON.stringify(json.body)));

  const text = byLine.get(2)!;
  assert.deepEqual([text.bodyEncoding, text.body, text.bytes], ['text', 'hello', 5]);

  const binary = byLine.get(3)!;
  assert.equal(binary.bodyEncoding, 'base64');
  assert.equal(binary.bytes, 300);
  assert.deepEqual(
    [...Buffer.from(String(binary.body), 'base64')],
    Array.from({ length: 300 }, (_, i) => i % 256),
  );

  for (const [line, coding] of [
    [4, 'gzip'],
    [5, 'deflate'],
    [6, 'br'],
  ] as const) {
    const record = byLine.get(line)!;
    assert.equal(record.ok, true, `${coding}: ${record.error?.message}`);
    assert.equal(record.bodyEncoding, 'json', coding);
    assert.equal((record.body as { compressed: string }).compressed, coding);
    assert.equal(record.bytes, Buffer.byteLength(JSON.stringify(record.body)), `${coding}: bytes is the decoded size`);
  }

  const corrupt = byLine.get(7)!;
  assert.equal(corrupt.ok, false);
  assert.equal(corrupt.error?.code, 'DECODE_ERROR', JSON.stringify(corrupt.error));

  const badJson = byLine.get(8)!;
  assert.deepEqual([badJson.ok, badJson.bodyEncoding, badJson.body], [true, 'text', '{not json']);
});

test("#7: bodyFormat 'none' keeps no body but still counts decoded bytes", TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run([`${server.url}/items/1`, `${server.url}/gzip`, `${server.url}/bytes/1000`], { bodyFormat: 'none' });
  assertOneRecordPerInput(records, lineNumbers(3));
  for (const record of records) {
    assert.equal(record.ok, true);
    assert.equal(record.body, null);
    assert.equal(record.bodyEncoding, 'none');
  }
  assert.equal(byLine.get(3)!.bytes, 1000);
  assert.ok(byLine.get(2)!.bytes! > 300, `gzip bytes ${byLine.get(2)!.bytes} should be the decoded size`);
});

test('#7: maxBodyBytes: a larger body is BODY_TOO_LARGE, measured after decoding', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run([`${server.url}/bytes/5000`, `${server.url}/bytes/1000`], { maxBodyBytes: 1000 });
  assertOneRecordPerInput(records, lineNumbers(2));
  const big = byLine.get(1)!;
  assert.deepEqual([big.ok, big.error?.code, big.final, big.attempts], [false, 'BODY_TOO_LARGE', true, 1]);
  assert.equal(byLine.get(2)!.ok, true, 'exactly the cap is allowed');

  // The compressed bodies are about 140 bytes on the wire and about 680 once decoded.
  const compressed = await run([`${server.url}/gzip`, `${server.url}/deflate`, `${server.url}/br`], { maxBodyBytes: 400 });
  assertOneRecordPerInput(compressed.records, lineNumbers(3));
  for (const record of compressed.records) {
    assert.equal(record.error?.code, 'BODY_TOO_LARGE', `${record.url}: ${JSON.stringify(record.error)} bytes ${record.bytes}`);
  }
});

test('#7: HEAD requests get the status and no body', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/bytes/100`, `${server.url}/items/1`], { method: 'HEAD' });
  assertOneRecordPerInput(records, lineNumbers(2));
  for (const record of records) {
    assert.deepEqual([record.ok, record.status, record.method, record.body, record.bodyEncoding], [true, 200, 'HEAD', null, 'none']);
  }
  assert.deepEqual(
    server.hits.map((h) => h.method),
    ['HEAD', 'HEAD'],
  );
});

test('#7: a redirect chain is followed, every hop a request, with finalUrl the last hop', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/redirect/3`]);
  assertOneRecordPerInput(records, [1]);
  const [record] = records;
  assert.equal(record!.ok, true, record!.error?.message);
  assert.equal(record!.url, `${server.url}/redirect/3`);
  assert.equal(record!.finalUrl, `${server.url}/redirect/0`);
  assert.equal(record!.attempts, 1, 'hops are not attempts');
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/redirect/3', '/redirect/2', '/redirect/1', '/redirect/0'],
  );
});

test('#7: maxRedirects and loops end in TOO_MANY_REDIRECTS; maxRedirects 0 returns the 3xx', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const limited = await run([`${server.url}/redirect/3`, `${server.url}/loop`], { maxRedirects: 1 });
  assertOneRecordPerInput(limited.records, [1, 2]);
  for (const record of limited.records) {
    assert.equal(record.error?.code, 'TOO_MANY_REDIRECTS', `line ${record.line}: ${JSON.stringify(record.error)}`);
    assert.equal(record.ok, false);
  }
  assert.equal(hitsTo(server, '/redirect/').length, 2, 'the first request and one hop');

  const loop = await run([`${server.url}/loop`]);
  assertOneRecordPerInput(loop.records, [1]);
  assert.equal(loop.records[0]!.error?.code, 'TOO_MANY_REDIRECTS');
  assert.ok(hitsTo(server, '/loop').length <= 1 + 1 + 6, 'a loop is not followed past the limit');

  const none = await run([`${server.url}/redirect/1`], { maxRedirects: 0 });
  assertOneRecordPerInput(none.records, [1]);
  assert.deepEqual([none.records[0]!.status, none.records[0]!.ok, none.records[0]!.error?.code], [302, false, 'HTTP_STATUS']);
});

test('#7: a redirect to a non-http URL is BAD_REDIRECT and not followed', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/redirect-to?url=${encodeURIComponent('ftp://example.invalid/x')}`]);
  assertOneRecordPerInput(records, [1]);
  assert.deepEqual([records[0]!.ok, records[0]!.error?.code, records[0]!.final], [false, 'BAD_REDIRECT', true]);
  assert.equal(server.hits.length, 1);
});

// record.ts documents BAD_REDIRECT as "a 3xx whose Location is missing or not http(s)", but a
// 302 without Location is recorded as a plain HTTP_STATUS failure.
test('#7: a redirect status without Location is BAD_REDIRECT, as the ErrorCode doc says', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run([`${server.url}/status/302`, `${server.url}/status/307`]);
  assertOneRecordPerInput(records, [1, 2]);
  for (const record of records) {
    assert.deepEqual([record.ok, record.error?.code], [false, 'BAD_REDIRECT'], `${record.url}: ${record.error?.message}`);
  }
});

test('#7: a cross-origin redirect drops Authorization and Cookie; same-origin keeps them', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const hostA = new URL(a.url).host;
  const toB = encodeURIComponent(`${b.url}/echo`);
  const inputs = [
    `${a.url}/redirect-to?url=${toB}`, // 1: run-wide credentials, cross-origin
    `${a.url}/redirect-to?url=${encodeURIComponent('/echo?same')}`, // 2: same origin
    `http://bob:hunter22@${hostA}/redirect-to?url=${encodeURIComponent(`${b.url}/echo?from-userinfo`)}`, // 3: URL credentials, cross-origin
  ];
  const headers: Array<[string, string]> = [
    ['Authorization', 'Bearer tok-0123456789'],
    ['Cookie', 'sid=abcdef'],
    ['X-Keep', 'yes'],
  ];
  const { records, byLine } = await run(inputs, { headers });
  assertOneRecordPerInput(records, lineNumbers(3));
  for (const record of records) assert.equal(record.ok, true, `line ${record.line}: ${record.error?.message}`);
  assert.equal(byLine.get(1)!.finalUrl, `${b.url}/echo`);

  const crossed = b.hits.find((h) => h.path === '/echo')!;
  assert.equal(crossed.headers.authorization, undefined);
  assert.equal(crossed.headers.cookie, undefined);
  assert.equal(crossed.headers['x-keep'], 'yes', 'other headers still go along');

  const same = a.hits.find((h) => h.path === '/echo?same')!;
  assert.equal(same.headers.authorization, 'Bearer tok-0123456789');
  assert.equal(same.headers.cookie, 'sid=abcdef');

  const fromUserinfo = b.hits.find((h) => h.path === '/echo?from-userinfo')!;
  assert.equal(fromUserinfo.headers.authorization, undefined, 'Basic auth from URL credentials stays with its origin');
});

test('#7: 303 turns a POST into a GET without the body; 307 keeps method and body', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = [
    `${server.url}/redirect-to?status=303&url=${encodeURIComponent('/echo?after303')}`,
    `${server.url}/redirect-to?status=307&url=${encodeURIComponent('/echo?after307')}`,
  ];
  const { records, byLine } = await run(inputs, { method: 'POST', body: 'payload=1', headers: [['Content-Type', 'text/plain']] });
  assertOneRecordPerInput(records, lineNumbers(2));
  for (const record of records) {
    assert.equal(record.ok, true, record.error?.message);
    assert.equal(record.method, 'POST', 'the record names the method the input asked for');
  }
  const after303 = byLine.get(1)!.body as { method: string; body: string; headers: Record<string, string> };
  assert.equal(after303.method, 'GET');
  assert.equal(after303.body, '');
  assert.equal(after303.headers['content-type'], undefined);
  const after307 = byLine.get(2)!.body as { method: string; body: string };
  assert.deepEqual([after307.method, after307.body], ['POST', 'payload=1']);
  assert.deepEqual(server.hits.map((h) => `${h.method} ${h.path.split('?')[0]}`).sort(), ['GET /echo', 'POST /echo', 'POST /redirect-to', 'POST /redirect-to']);
});

test('#7: the deadline is for the whole attempt: a slow drip and a hang are TIMEOUT', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const startedAt = performance.now();
  // Each chunk arrives well within 500 ms of the last; only a whole-attempt deadline stops it.
  const { records, byLine } = await run([`${server.url}/drip?chunks=20&intervalMs=100`, `${server.url}/hang`], { timeoutMs: 500, retries: 0 });
  const elapsedMs = performance.now() - startedAt;
  assertOneRecordPerInput(records, lineNumbers(2));
  for (const record of records) {
    assert.equal(record.error?.code, 'TIMEOUT', `line ${record.line}: ${JSON.stringify(record.error)}`);
    assert.equal(record.ok, false);
    assert.equal(record.final, false);
    assert.equal(record.attempts, 1);
    assert.ok(record.latencyMs! >= 400 && record.latencyMs! < 1_900, `line ${record.line}: latency ${record.latencyMs} ms`);
  }
  assert.match(byLine.get(1)!.error!.message, /timed out after 500ms/);
  assert.ok(elapsedMs < 1_900, `the drip was not cut at the deadline: ${Math.round(elapsedMs)} ms`);
});

test('#12: locationTrusted keeps Authorization, Cookie and Proxy-Authorization across origins; the default drops them', TEST_TIMEOUT, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const hostA = new URL(a.url).host;
  const credentials: Array<[string, string]> = [
    ['Authorization', 'Bearer tok-0123456789'],
    ['Cookie', 'sid=abcdef'],
    ['Proxy-Authorization', 'Basic cHJveHk6cHc='],
  ];
  const basic = `Basic ${Buffer.from('bob:hunter22').toString('base64')}`;
  const toB = (query: string) => encodeURIComponent(`${b.url}/echo?${query}`);
  const sent = (query: string) => b.hits.find((h) => h.path === `/echo?${query}`)!.headers;
  for (const locationTrusted of [false, true]) {
    const given = await run([`${a.url}/redirect-to?url=${toB(`given-${locationTrusted}`)}`], { locationTrusted, headers: [...credentials, ['X-Keep', 'yes']] });
    // URL credentials travel as a Basic Authorization header (when no -H sets one): same rule.
    const userinfo = await run([`http://bob:hunter22@${hostA}/redirect-to?url=${toB(`userinfo-${locationTrusted}`)}`], { locationTrusted });
    for (const { records } of [given, userinfo]) {
      assertOneRecordPerInput(records, [1]);
      assert.equal(records[0]!.ok, true, records[0]!.error?.message);
    }
    const received = sent(`given-${locationTrusted}`);
    assert.equal(received['x-keep'], 'yes');
    for (const [name, value] of credentials) {
      assert.equal(received[name.toLowerCase()], locationTrusted ? value : undefined, `${name}, locationTrusted ${locationTrusted}`);
    }
    assert.equal(sent(`userinfo-${locationTrusted}`).authorization, locationTrusted ? basic : undefined, `URL credentials, locationTrusted ${locationTrusted}`);
  }
});

/** attempt() on its own, through an Agent whose connects take `connectMs`, as a far host's would. */
async function attemptsWithSlowConnect(t: TestContext, serverUrl: string, connectMs: number) {
  const { Agent, buildConnector } = await import('undici');
  const { attempt } = await import('../../src/http/attempt.ts');
  const connect = buildConnector({});
  const dispatcher = new Agent({ connect: (options, callback) => void setTimeout(() => connect(options, callback), connectMs) });
  t.after(() => dispatcher.close());
  const settings = { dispatcher, timeoutMs: 5_000, maxBodyBytes: 1_000_000, bodyFormat: 'auto' as const, followRedirects: false };
  const request = (path: string) => ({ method: 'GET', url: new URL(serverUrl + path), headers: [], body: undefined });
  return { Agent, attempt, settings, request };
}

test('#11: an attempt says when its request went on the wire (after the connect) and how long its answer took', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // A connect that takes 600 ms: the request goes on the wire after it.
  const { Agent, attempt, settings, request } = await attemptsWithSlowConnect(t, server.url, 600);

  const first = await attempt(request('/items/1'), settings);
  assert.equal(first.kind, 'response');
  assert.ok(first.kind === 'response' && first.sentMs !== undefined && first.roundTripMs !== undefined, JSON.stringify(first));
  assert.ok(first.sentMs >= 590, `sent ${first.sentMs} ms after the start, after the connect`);
  assert.ok(first.sentMs + first.roundTripMs <= first.latencyMs + 1, JSON.stringify(first));

  // A quick connect and a slow answer: on the wire at once (well before a slow connect would
  // have let it go, with room for a loaded machine), the wait is the round trip.
  const quick = new Agent();
  t.after(() => quick.close());
  const slow = await attempt(request('/delay/200'), { ...settings, dispatcher: quick });
  assert.ok(slow.kind === 'response' && slow.sentMs !== undefined && slow.roundTripMs !== undefined, JSON.stringify(slow));
  assert.ok(slow.sentMs < 400, `sent ${slow.sentMs} ms after the start`);
  assert.ok(slow.roundTripMs >= 190, `round trip ${slow.roundTripMs} ms`);
});

test('#11: an attempt asked, as its request is about to go on the wire, whether it may go, is held back unsent when not', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { attempt, settings, request } = await attemptsWithSlowConnect(t, server.url, 100);

  // Told to wait while the connect took its 100 ms: asked after it, and held.
  let waiting = false;
  setTimeout(() => (waiting = true), 30);
  const asked: number[] = [];
  const startedAt = performance.now();
  const mayGoOnTheWire = (): boolean => {
    asked.push(performance.now() - startedAt);
    return !waiting;
  };
  const held = await attempt(request('/items/held'), settings, { mayGoOnTheWire });
  assert.deepEqual(held, { kind: 'held' });
  assert.equal(asked.length, 1);
  assert.ok(asked[0]! >= 90, `asked ${asked[0]} ms after the start, once connected`);
  assert.equal(hitsTo(server, '/items/held').length, 0, 'nothing reached the server');

  const sent = await attempt(request('/items/sent'), settings, { mayGoOnTheWire: () => true });
  assert.equal(sent.kind, 'response');
  assert.equal(hitsTo(server, '/items/sent').length, 1);
});
