import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextHop } from '../../src/http/redirect.ts';
import type { AttemptRequest } from '../../src/http/attempt.ts';

const base = (method = 'GET', body?: string): AttemptRequest => ({
  method,
  url: new URL('https://api.example.com/a/b'),
  headers: [
    ['authorization', 'Bearer t'],
    ['cookie', 'c=1'],
    ['content-type', 'application/json'],
    ['x-other', '1'],
  ],
  body,
});

test('a relative Location resolves against the current URL', () => {
  const step = nextHop(base(), 302, '../c?d=1', 0, 5, new Set());
  assert.equal(step.kind, 'follow');
  if (step.kind === 'follow') assert.equal(step.request.url.href, 'https://api.example.com/c?d=1');
});

test('#7: a hop to another origin drops Authorization, Cookie and Proxy-Authorization', () => {
  const step = nextHop(base(), 302, 'https://cdn.example.net/x', 0, 5, new Set());
  assert.equal(step.kind, 'follow');
  if (step.kind !== 'follow') return;
  const names = step.request.headers.map(([name]) => name);
  assert.deepEqual(names, ['content-type', 'x-other']);
  const same = nextHop(base(), 302, '/y', 0, 5, new Set());
  assert.equal(same.kind === 'follow' && same.request.headers.length, 4);
});

test('303 turns any method but HEAD into GET without a body; 307/308 keep both', () => {
  const see = nextHop(base('POST', '{}'), 303, '/r', 0, 5, new Set());
  assert.ok(see.kind === 'follow' && see.request.method === 'GET' && see.request.body === undefined);
  assert.ok(see.kind === 'follow' && !see.request.headers.some(([n]) => n === 'content-type'));
  const head = nextHop(base('HEAD'), 303, '/r', 0, 5, new Set());
  assert.ok(head.kind === 'follow' && head.request.method === 'HEAD');
  for (const status of [307, 308]) {
    const keep = nextHop(base('POST', '{}'), status, '/r', 0, 5, new Set());
    assert.ok(keep.kind === 'follow' && keep.request.method === 'POST' && keep.request.body === '{}');
  }
  const moved = nextHop(base('POST', '{}'), 301, '/r', 0, 5, new Set());
  assert.ok(moved.kind === 'follow' && moved.request.method === 'GET');
});

test('too many hops, loops and non-http targets stop the chain', () => {
  assert.deepEqual(nextHop(base(), 302, '/x', 5, 5, new Set()).kind, 'stop');
  const loop = nextHop(base(), 302, '/a/b', 0, 5, new Set(['GET https://api.example.com/a/b']));
  assert.ok(loop.kind === 'stop' && loop.code === 'TOO_MANY_REDIRECTS' && /loop/.test(loop.message));
  const ftp = nextHop(base(), 302, 'ftp://x/', 0, 5, new Set());
  assert.ok(ftp.kind === 'stop' && ftp.code === 'BAD_REDIRECT');
  const bad = nextHop(base(), 302, 'http://[bad', 0, 5, new Set());
  assert.ok(bad.kind === 'stop' && bad.code === 'BAD_REDIRECT');
});

test('credentials in a Location never travel in the URL', () => {
  const step = nextHop(base(), 302, 'https://u:p@other.example/x', 0, 5, new Set());
  assert.ok(step.kind === 'follow' && step.request.url.username === '' && step.request.url.password === '');
});

test('#12: with locationTrusted a hop to another origin keeps every header, as curl --location-trusted', () => {
  const step = nextHop(base(), 302, 'https://cdn.example.net/x', 0, 5, new Set(), true);
  assert.ok(step.kind === 'follow');
  assert.deepEqual(step.request.headers, base().headers);
});
