// fetchAll end to end: one record per input with the right line, invalid lines as values,
// request headers and credentials, and the record's fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Agent } from 'undici';
import { readLines } from '../../src/index.js';
import { assertOneRecordPerInput, lineNumbers, retriesIn, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 20_000 };

test('#7: one record per input, line numbers from readLines with blank and # lines skipped', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // Split across chunks in odd places so line numbers must survive chunk boundaries.
  const text = ['# header comment', `${server.url}/items/1`, '', '   ', `${server.url}/items/2`, '#skip', `${server.url}/items/3`, ''].join('\n');
  const chunks = [text.slice(0, 7), text.slice(7, 40), text.slice(40)];
  const { records } = await run(readLines(Readable.from(chunks.map((c) => Buffer.from(c)))));

  assertOneRecordPerInput(records, [2, 5, 7]);
  const byLine = new Map(records.map((r) => [r.line, r]));
  assert.equal(byLine.get(2)!.url, `${server.url}/items/1`);
  assert.equal(byLine.get(5)!.url, `${server.url}/items/2`);
  assert.equal(byLine.get(7)!.url, `${server.url}/items/3`);
  assert.ok(
    records.every((r) => r.ok && r.status === 200),
    JSON.stringify(records.map((r) => r.error)),
  );
  assert.deepEqual(server.hits.map((h) => h.path).sort(), ['/items/1', '/items/2', '/items/3']);
});

test('#7: CRLF input gives the same records and line numbers', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = `${server.url}/items/a\r\n\r\n# note\r\n${server.url}/items/b\r\n${server.url}/items/c`;
  const { records } = await run(readLines(Readable.from([Buffer.from(text)])));

  assertOneRecordPerInput(records, [1, 4, 5]);
  for (const record of records) {
    assert.equal(record.ok, true, `line ${record.line}: ${record.error?.message}`);
    assert.ok(!record.url.includes('\r'), `line ${record.line} url keeps a CR: ${JSON.stringify(record.url)}`);
  }
  assert.deepEqual(server.hits.map((h) => h.path).sort(), ['/items/a', '/items/b', '/items/c']);
});

test('#7: an array of strings counts blank and comment entries as lines', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(['', `${server.url}/ok`, '# c', `  ${server.url}/items/9  `]);
  assertOneRecordPerInput(records, [2, 4]);
  assert.ok(records.every((r) => r.ok));
  assert.equal(records.find((r) => r.line === 4)!.url, `${server.url}/items/9`);
});

test('#7: invalid lines become INVALID_URL records with their line, and nothing is sent for them', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const twoMegabytes = `${server.url}/${'a'.repeat(2 * 1024 * 1024)}`;
  const junk = Buffer.from([0xff, 0xfe, 0x80, 0x81, 0xc3, 0x28, 0x9f, 0x20, 0x01, 0x7f]);
  const chunks = [
    Buffer.from(`${server.url}/items/first\n`), // 1
    Buffer.from('not a url\n'), // 2
    Buffer.from('ftp://x/\n'), // 3
    Buffer.from('file:///etc/passwd\n'), // 4
    Buffer.from('javascript:alert(1)\n'), // 5
    Buffer.from(`${server.url}/ok\u0000evil\n`), // 6: a NUL inside
    Buffer.concat([junk, Buffer.from('\n')]), // 7: bytes that are not UTF-8
    Buffer.from(`${twoMegabytes}\n`), // 8: longer than any URL anyone means
    Buffer.from(`${server.url}/items/last\n`), // 9
  ];
  const { records, byLine } = await run(readLines(Readable.from(chunks)));

  assertOneRecordPerInput(records, lineNumbers(9));
  for (const line of [2, 3, 4, 5, 6, 7, 8]) {
    const record = byLine.get(line)!;
    assert.equal(record.error?.code, 'INVALID_URL', `line ${line}: ${JSON.stringify(record.error)}`);
    assert.equal(record.ok, false);
    assert.equal(record.final, true);
    assert.equal(record.attempts, 0);
    assert.equal(record.finalUrl, null);
    assert.equal(record.status, null);
    assert.match(record.error!.message, new RegExp(`^line ${line}: `));
    assert.ok(record.url.length <= 1_000, `line ${line}: the record keeps ${record.url.length} chars of the input`);
  }
  assert.ok(byLine.get(1)!.ok && byLine.get(9)!.ok);
  assert.deepEqual(server.hits.map((h) => h.path).sort(), ['/items/first', '/items/last'], 'only the two valid lines were requested');
});

test('#7: invalid entries given as strings are INVALID_URL too', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = ['not a url', 'ftp://x/', 'file:///etc/passwd', 'javascript:alert(1)', `${server.url}/ok\u0000x`, '\u00ff\u0001\ufffd', `${server.url}/ok`];
  const { records, byLine } = await run(inputs);
  assertOneRecordPerInput(records, lineNumbers(7));
  for (const line of lineNumbers(6)) assert.equal(byLine.get(line)!.error?.code, 'INVALID_URL', `line ${line}`);
  assert.equal(byLine.get(7)!.ok, true);
  assert.equal(server.hits.length, 1);
});

// readLines caps a line at 1 MiB and marks it invalid; a string handed to fetchAll directly
// skips that cap, so the same 2 MB line is sent (the server answers 431) and the record's url
// and message carry all 2 MB.
test('#7: a 2 MB line given as a string is INVALID_URL and not sent, as with readLines', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records, byLine } = await run([`${server.url}/${'a'.repeat(2 * 1024 * 1024)}`, `${server.url}/ok`], { retries: 0 });
  assertOneRecordPerInput(records, [1, 2]);
  const long = byLine.get(1)!;
  assert.equal(long.attempts, 0, `the 2 MB line was sent: status ${long.status}, ${long.error?.code}`);
  assert.equal(long.error?.code, 'INVALID_URL');
  assert.ok(long.url.length <= 1_000, `the record keeps ${long.url.length} chars of the input`);
  assert.ok(byLine.get(2)!.ok);
});

test('#7: URL credentials are sent as Basic auth, and the record holds no password', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const base = new URL(server.url);
  const inputs = [
    `http://alice:s3cret-pw@${base.host}/echo`,
    `http://al%40ice:p%3Aw%2Fd@${base.host}/echo?x=1`, // percent-encoded userinfo is decoded first
    `${server.url}/echo?token=tok-supersecret`, // a secret query parameter is sent, not recorded
  ];
  const { records, byLine } = await run(inputs);
  assertOneRecordPerInput(records, [1, 2, 3]);

  const byPath = new Map(server.hits.map((h) => [h.path, h]));
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
  assert.equal(byPath.get('/echo')!.headers.authorization, basic('alice:s3cret-pw'));
  assert.equal(byPath.get('/echo?x=1')!.headers.authorization, basic('al@ice:p:w/d'));
  for (const record of records) {
    assert.equal(record.ok, true, record.error?.message);
    for (const field of [record.url, record.finalUrl ?? '']) {
      assert.ok(!/s3cret|p%3Aw|alice|al%40ice/.test(field), `credentials in ${field}`);
    }
  }
  assert.equal(byLine.get(1)!.finalUrl, `${server.url}/echo`);
  assert.ok(!JSON.stringify(records).includes('s3cret-pw'));
  assert.ok(byPath.has('/echo?token=tok-supersecret'), 'the real token is sent');
  for (const field of [byLine.get(3)!.url, byLine.get(3)!.finalUrl ?? '']) assert.ok(!field.includes('tok-supersecret'), field);
});

test('#7: a failing DNS lookup is DNS_FAILURE, final, and not retried', TEST_TIMEOUT, async (t) => {
  let lookups = 0;
  const dispatcher = new Agent({
    connect: {
      lookup: ((_host: string, _opts: unknown, cb: (error: Error) => void) => {
        lookups += 1;
        cb(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
      }) as never,
    },
  });
  t.after(() => dispatcher.close());
  const { records } = await run(['http://no-such-host.invalid/'], { retries: 3 }, { dispatcher });

  assertOneRecordPerInput(records, [1]);
  const [record] = records;
  assert.equal(record!.error?.code, 'DNS_FAILURE', JSON.stringify(record!.error));
  assert.equal(record!.ok, false);
  assert.equal(record!.final, true);
  assert.equal(record!.attempts, 1);
  assert.equal(lookups, 1, 'looked up once: no retry');
});

test('#7: user headers are sent, with User-Agent and Accept-Encoding defaults', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const first = await run([`${server.url}/echo`], {
    headers: [
      ['X-Trace', 'abc-123'],
      ['Accept', 'application/json'],
    ],
  });
  assertOneRecordPerInput(first.records, [1]);
  const sent = server.hits[0]!.headers;
  assert.equal(sent['x-trace'], 'abc-123');
  assert.equal(sent.accept, 'application/json');
  assert.match(String(sent['user-agent']), /^ratefetch\/\d+\.\d+\.\d+/);
  const encodings = String(sent['accept-encoding'])
    .split(',')
    .map((s) => s.trim());
  for (const coding of ['gzip', 'deflate', 'br']) assert.ok(encodings.includes(coding), `accept-encoding: ${sent['accept-encoding']}`);

  // Given ones replace the defaults instead of being sent twice.
  const second = await run([`${server.url}/echo?2`], { userAgent: 'custom-agent/9', headers: [['accept-encoding', 'identity']] });
  assertOneRecordPerInput(second.records, [1]);
  const again = server.hits[1]!.headers;
  assert.equal(again['user-agent'], 'custom-agent/9');
  assert.equal(again['accept-encoding'], 'identity');
});

test('#7: record fields: stable key, numeric timings, final for ok, 404 and invalid', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = [`${server.url}/items/1`, `${server.url}/items/2`, `${server.url}/status/404`, 'not a url'];
  const first = await run(inputs);
  const second = await run(inputs);
  assertOneRecordPerInput(first.records, lineNumbers(4));
  assertOneRecordPerInput(second.records, lineNumbers(4));

  for (const line of lineNumbers(4)) assert.equal(first.byLine.get(line)!.key, second.byLine.get(line)!.key, `key of line ${line} changed between runs`);
  const keys = new Set(first.records.map((r) => r.key));
  assert.equal(keys.size, 4, 'different inputs have different keys');
  for (const record of first.records) {
    assert.match(record.key, /^[0-9a-f]{16,}$/);
    assert.equal(typeof record.queuedMs, 'number');
    assert.equal(typeof record.ms, 'number');
    assert.ok(record.ms >= 0 && record.queuedMs >= 0);
    assert.equal(record.final, true, `line ${record.line} final`);
  }
  const ok = first.byLine.get(1)!;
  assert.equal(typeof ok.latencyMs, 'number');
  assert.deepEqual([ok.ok, ok.status, ok.attempts, ok.method, ok.error], [true, 200, 1, 'GET', null]);
  assert.deepEqual(ok.body, { id: '1', name: 'item 1' });
  const missing = first.byLine.get(3)!;
  assert.deepEqual([missing.ok, missing.status, missing.error?.code, missing.attempts], [false, 404, 'HTTP_STATUS', 1]);
  assert.match(missing.error!.message, /^GET http:\/\/127\.0\.0\.1:\d+\/status\/404: 404 Not Found$/);
  assert.equal(typeof missing.latencyMs, 'number');
  assert.equal(first.byLine.get(4)!.error?.code, 'INVALID_URL');
});

test("#22: a server's own reason phrase is what the record's message and the retry's reason say", TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const inputs = [`${server.url}/status/404?reason=Gone%20Fishing`, `${server.url}/status/503?reason=Upstream%20Napping`];
  const { records, byLine, events } = await run(inputs, { retries: 1 });
  assertOneRecordPerInput(records, lineNumbers(2));
  assert.match(byLine.get(1)!.error!.message, /^GET http:\/\/127\.0\.0\.1:\d+\/status\/404\?reason=Gone%20Fishing: 404 Gone Fishing$/);
  assert.match(byLine.get(2)!.error!.message, /: 503 Upstream Napping after 2 attempts$/);
  assert.deepEqual(
    retriesIn(events).map((e) => e.reason),
    ['503 Upstream Napping'],
  );
});

test("#26: records carry when: startedAt is the first attempt's start, endedAt the last attempt's end, both wall-clock epoch ms", TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const before = Date.now();
  const { records } = await run([`${server.url}/delay/120`, `${server.url}/flaky/when?fail=1&status=503`, 'not a url'], {
    backoffBaseMs: 200,
    maxBackoffMs: 200,
  });
  const after = Date.now();
  assertOneRecordPerInput(records, [1, 2, 3]);
  const byLine = (line: number) => records.find((record) => record.line === line)!;
  const [slow, retried, invalid] = [byLine(1), byLine(2), byLine(3)];
  for (const record of [slow, retried]) {
    assert.ok(record.startedAt !== null && record.endedAt !== null, `line ${record.line} has both times`);
    assert.ok(before - 5 <= record.startedAt && record.startedAt <= record.endedAt && record.endedAt <= after + 5, JSON.stringify(record));
  }
  // The answer took 120 ms at least: the span covers it.
  assert.ok(slow.endedAt! - slow.startedAt! >= 110, `${slow.endedAt! - slow.startedAt!} ms for a 120 ms answer`);
  // Two attempts: the span runs from the first start to the second answer, the retry's wait included.
  assert.equal(retried.attempts, 2);
  assert.ok(retried.endedAt! - retried.startedAt! >= retried.latencyMs!, JSON.stringify(retried));
  assert.deepEqual([invalid.startedAt, invalid.endedAt], [null, null], 'nothing was sent for an invalid line');
});
