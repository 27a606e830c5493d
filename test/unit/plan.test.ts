import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRequest } from '../../src/plan/planner.ts';

const options = { method: 'GET', body: undefined, headers: [], userAgent: 'ratefetch/test' };
const DEFAULT_HEADERS = [
  ['user-agent', 'ratefetch/test'],
  ['accept-encoding', 'gzip, deflate, br'],
];

test('#7: lines that are not absolute http(s) URLs are INVALID_URL values, not exceptions', () => {
  const cases = [
    'not a url',
    '/relative/path',
    'ftp://example.com/file',
    'file:///etc/passwd',
    'data:text/plain,hi',
    'javascript:alert(1)',
    'http://exa mple.com/',
    'http://a/\u0000b',
    'http://a/\ufffd',
    'http://',
    'mailto:a@b.c',
  ];
  for (const text of cases) {
    const result = planRequest({ line: 7, text }, options);
    assert.equal(result.kind, 'invalid', text);
    if (result.kind === 'invalid') {
      assert.equal(result.code, 'INVALID_URL');
      assert.equal(result.line, 7);
      assert.match(result.message, /^line 7: /);
    }
  }
});

test('a too-long line is invalid and its key hashes the raw text', () => {
  const result = planRequest({ line: 2, text: 'http://a/aaaa', tooLong: true }, options);
  assert.equal(result.kind, 'invalid');
  assert.equal(result.key.length, 32);
});

test('valid URLs become requests with the run method and body', () => {
  const result = planRequest({ line: 1, text: 'https://api.example.com/items/1?x=1' }, { ...options, method: 'POST', body: '{"a":1}' });
  assert.equal(result.kind, 'request');
  if (result.kind !== 'request') return;
  assert.equal(result.method, 'POST');
  assert.equal(result.url.href, 'https://api.example.com/items/1?x=1');
  assert.equal(result.body, '{"a":1}');
  assert.deepEqual(result.headers, DEFAULT_HEADERS);
});

test('#7: URL credentials move into a Basic header and leave the URL', () => {
  const result = planRequest({ line: 1, text: 'https://user:p%40ss@api.example.com/x' }, options);
  assert.equal(result.kind, 'request');
  if (result.kind !== 'request') return;
  assert.equal(result.url.href, 'https://api.example.com/x');
  assert.deepEqual(result.headers, [...DEFAULT_HEADERS, ['authorization', `Basic ${Buffer.from('user:p@ss').toString('base64')}`]]);
});

test('the key is stable, and differs by method, URL and body', () => {
  const key = (text: string, method = 'GET', body?: string) => planRequest({ line: 1, text }, { ...options, method, body }).key;
  assert.equal(key('http://a/1'), key('http://a/1'));
  assert.notEqual(key('http://a/1'), key('http://a/2'));
  assert.notEqual(key('http://a/1'), key('http://a/1', 'POST'));
  assert.notEqual(key('http://a/1', 'POST', 'x'), key('http://a/1', 'POST', 'y'));
  // The line number is not part of the identity: the same URL on another line is the same request.
  assert.equal(planRequest({ line: 1, text: 'http://a/1' }, options).key, planRequest({ line: 9, text: 'http://a/1' }, options).key);
});

test('user headers follow the defaults, and replace them when named alike', () => {
  const result = planRequest(
    { line: 1, text: 'http://a/' },
    {
      ...options,
      headers: [
        ['User-Agent', 'mine'],
        ['x-k', 'v'],
      ],
    },
  );
  assert.ok(result.kind === 'request');
  assert.deepEqual(result.headers, [
    ['accept-encoding', 'gzip, deflate, br'],
    ['User-Agent', 'mine'],
    ['x-k', 'v'],
  ]);
});

test('a user-set Authorization wins over URL credentials', () => {
  const result = planRequest({ line: 1, text: 'http://u:p@a/' }, { ...options, headers: [['Authorization', 'Bearer t']] });
  assert.ok(result.kind === 'request');
  assert.equal(result.headers.filter(([name]) => name.toLowerCase() === 'authorization').length, 1);
});

test('run-wide headers are not part of the key (a token may change between runs)', () => {
  const key = (token: string) => planRequest({ line: 1, text: 'http://a/' }, { ...options, headers: [['Authorization', token]] }).key;
  assert.equal(key('Bearer one'), key('Bearer two'));
});

test('#12: literalHeaders are sent as given: braces in a token are not placeholders', () => {
  const headers: Array<[string, string]> = [
    ['Authorization', 'Bearer t{ok}en'],
    ['X-Tenant', '{tenant}'],
  ];
  const item = { line: 1, text: 'https://api.example.com/a', fields: { tenant: 'acme' } };
  const result = planRequest(item, { ...options, headers, literalHeaders: ['authorization'] });
  assert.equal(result.kind, 'request');
  if (result.kind !== 'request') return;
  const sent = Object.fromEntries(result.headers);
  assert.equal(sent.Authorization, 'Bearer t{ok}en', 'literal');
  assert.equal(sent['X-Tenant'], 'acme', 'other headers are still filled');
});
