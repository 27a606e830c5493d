// #24: a response body from the bytes on the wire to what a record carries (src/http/body.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { BodyTooLarge, decodeBody, formatBody } from '../../src/http/body.ts';

test('#24: Content-Encoding is undone in reverse order of the codings listed', async () => {
  const text = 'hello, body';
  assert.equal((await decodeBody(gzipSync(text), 'gzip', 1_000)).toString(), text);
  assert.equal((await decodeBody(gzipSync(text), 'X-GZIP', 1_000)).toString(), text);
  assert.equal((await decodeBody(deflateSync(text), 'deflate', 1_000)).toString(), text);
  assert.equal((await decodeBody(brotliCompressSync(text), 'br', 1_000)).toString(), text);
  assert.equal((await decodeBody(brotliCompressSync(gzipSync(text)), 'gzip, br', 1_000)).toString(), text);
  assert.equal((await decodeBody(Buffer.from(text), 'identity', 1_000)).toString(), text);
});

test('#24: an unknown coding keeps the bytes as sent, whatever its name', async () => {
  for (const coding of ['zstd', 'toString', 'constructor', '__proto__', 'gzip, weird']) {
    const bytes = Buffer.from('as sent');
    assert.equal(await decodeBody(bytes, coding, 1_000), bytes, coding);
  }
});

test('#24: a body that decodes past the cap stops there (a gzip bomb costs no more than the cap)', async () => {
  await assert.rejects(decodeBody(gzipSync(Buffer.alloc(1_000_000)), 'gzip', 1_000), BodyTooLarge);
  assert.equal((await decodeBody(gzipSync(Buffer.alloc(1_000)), 'gzip', 1_000)).length, 1_000, 'exactly the cap is fine');
});

test('#24: formatBody parses JSON by type, decodes text by charset, keeps the rest as base64', () => {
  assert.deepEqual(formatBody(Buffer.from('{"a":1}'), 'application/json', 'auto'), { bodyEncoding: 'json', body: { a: 1 } });
  assert.deepEqual(formatBody(Buffer.from('not json'), 'application/json', 'auto'), { bodyEncoding: 'text', body: 'not json' });
  assert.deepEqual(formatBody(Buffer.from([0xe9]), 'text/plain; charset=latin1', 'auto'), { bodyEncoding: 'text', body: 'é' });
  assert.deepEqual(formatBody(Buffer.from([1, 2]), 'application/octet-stream', 'auto'), { bodyEncoding: 'base64', body: 'AQI=' });
  assert.deepEqual(formatBody(Buffer.from('x'), 'text/plain', 'none'), { bodyEncoding: 'none', body: null });
});
