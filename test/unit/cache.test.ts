// #28: the pure parts of --cache: the caching rules as http-cache-semantics reads them with our
// settings (the time passed in), --cache-max-age, the key, and what is written to disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheKey, readOrCreateSalt } from '../../src/cache/cache-key.js';
import { isStorable, judgeFreshness, refreshedHeaders, withDefaultFreshness, type StoredExchange } from '../../src/cache/freshness.js';
import { readStoredAnswer, requestView, toStoredAnswer, withStoredShapes } from '../../src/cache/stored-answer.js';
import type { ResponseOutcome } from '../../src/http/outcome.js';
import { createPlanner, type PlannedRequest } from '../../src/plan/planner.js';
import { SECRET_HEADERS } from '../../src/plan/secrets.js';
import { createRunRedactor } from '../../src/record/redact.js';
import { DEFAULTS, resolveOptions, type RunOptions } from '../../src/options.js';
import type { FetchRecord } from '../../src/record/record.js';
import { RunStats } from '../../src/report/stats.js';
import { toStatsJson } from '../../src/report/stats-json.js';
import { formatSummary } from '../../src/report/summary.js';
import { Chalk } from 'chalk';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const request = { url: 'https://api.example.com/items/1', method: 'GET', headers: { host: 'api.example.com', accept: 'application/json' } };

function exchange(headers: { [name: string]: string }, status = 200): StoredExchange {
  return { request, answer: { status, headers: { date: new Date(T0).toUTCString(), ...headers } }, receivedAt: T0 };
}

test('#28: freshness by the rules, at a time passed in', () => {
  const cases: Array<[string, { [name: string]: string }, number, string]> = [
    ['max-age 60, 59 s later', { 'cache-control': 'max-age=60' }, 59_000, 'fresh'],
    ['max-age 60, 61 s later', { 'cache-control': 'max-age=60' }, 61_000, 'stale'],
    ['Expires in an hour, 30 min later', { expires: new Date(T0 + 3_600_000).toUTCString() }, 1_800_000, 'fresh'],
    ['no-cache, at once', { 'cache-control': 'no-cache, max-age=600' }, 0, 'stale'],
    ['private is ours to keep (shared: false)', { 'cache-control': 'private, max-age=60' }, 1_000, 'fresh'],
    ['no freshness stated: no heuristic from Last-Modified', { 'last-modified': new Date(T0 - 365 * 86_400_000).toUTCString() }, 1_000, 'stale'],
  ];
  for (const [name, headers, afterMs, expected] of cases) {
    assert.equal(judgeFreshness(exchange(headers), request, undefined, T0 + afterMs).kind, expected, name);
  }
});

test('#28: a stale answer brings the validators the library asks with, and none when it has none', () => {
  const lastModified = new Date(T0 - 86_400_000).toUTCString();
  assert.deepEqual(judgeFreshness(exchange({ etag: '"v1"', 'last-modified': lastModified }), request, undefined, T0 + 1), {
    kind: 'stale',
    validators: [
      ['if-none-match', '"v1"'],
      ['if-modified-since', lastModified],
    ],
  });
  assert.deepEqual(judgeFreshness(exchange({}), request, undefined, T0 + 1), { kind: 'stale', validators: [] });
  // Vary: the stored answer was for another Accept.
  const varied = { ...exchange({ 'cache-control': 'max-age=60', vary: 'accept' }) };
  assert.equal(judgeFreshness(varied, { ...request, headers: { ...request.headers, accept: 'text/csv' } }, undefined, T0 + 1).kind, 'stale');
  assert.equal(judgeFreshness(varied, request, undefined, T0 + 1).kind, 'fresh');
});

test('#28: --cache-max-age gives freshness only to answers that state none, and never overrides a no', () => {
  const hour = 3_600_000;
  assert.equal(judgeFreshness(exchange({}), request, hour, T0 + hour - 1_000).kind, 'fresh');
  assert.equal(judgeFreshness(exchange({}), request, hour, T0 + hour + 1_000).kind, 'stale');
  assert.equal(judgeFreshness(exchange({ 'cache-control': 'max-age=10' }), request, hour, T0 + 20_000).kind, 'stale', "the server's own max-age wins");
  assert.equal(judgeFreshness(exchange({ 'cache-control': 'no-cache' }), request, hour, T0 + 1_000).kind, 'stale');
  assert.equal(judgeFreshness(exchange({ 'cache-control': 'must-revalidate' }), request, hour, T0 + 1_000).kind, 'stale');

  const view = (headers: { [name: string]: string }) => withDefaultFreshness({ status: 200, headers }, 90_000).headers['cache-control'];
  assert.equal(view({}), 'max-age=90');
  assert.equal(view({ 'cache-control': 'private' }), 'private, max-age=90');
  assert.equal(view({ 'cache-control': 'public, s-maxage=5' }), 'public, s-maxage=5');
  assert.equal(view({ 'cache-control': 'Max-Age=5' }), 'Max-Age=5');
  assert.equal(withDefaultFreshness({ status: 200, headers: { expires: '0' } }, 90_000).headers['cache-control'], undefined);
  assert.equal(withDefaultFreshness({ status: 200, headers: {} }, 999).headers['cache-control'], undefined, 'under a second adds nothing');
});

test('#28: what may be stored is the library’s call: no-store, the status, the method', () => {
  assert.equal(isStorable(request, { status: 200, headers: {} }), true);
  assert.equal(isStorable(request, { status: 404, headers: {} }), true);
  assert.equal(isStorable(request, { status: 200, headers: { 'cache-control': 'no-store' } }), false);
  assert.equal(isStorable({ ...request, headers: { ...request.headers, 'cache-control': 'no-store' } }, { status: 200, headers: {} }), false);
  assert.equal(isStorable(request, { status: 503, headers: { 'cache-control': 'max-age=60' } }), false);
  assert.equal(isStorable(request, { status: 206, headers: { 'cache-control': 'max-age=60' } }), false);
  assert.equal(isStorable({ ...request, headers: { ...request.headers, authorization: 'Bearer x' } }, { status: 200, headers: {} }), true, 'shared: false');
});

test('#28: a 304 refreshes the stored headers but not those that describe the body; a mismatched one refreshes nothing', () => {
  const stored = exchange({ etag: '"v1"', 'cache-control': 'no-cache', 'content-length': '33', 'x-old': 'kept' });
  const merged = refreshedHeaders(
    stored,
    request,
    { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60', 'content-length': '0' } },
    T0 + 5_000,
  );
  assert.equal(merged['cache-control'], 'max-age=60');
  assert.equal(merged['content-length'], '33');
  assert.equal(merged['x-old'], 'kept');
  assert.deepEqual(refreshedHeaders(stored, request, { status: 304, headers: { etag: '"v2"' } }, T0 + 5_000), stored.answer.headers);
  assert.deepEqual(withStoredShapes({ link: 'a, b', etag: '"v2"' }, { link: ['a', 'b'], etag: '"v1"' }), { link: ['a', 'b'], etag: '"v2"' });
});

function plan(text: string, headers: Array<[string, string]> = [], template?: string): PlannedRequest {
  const planned = createPlanner({ method: 'GET', body: undefined, headers, userAgent: 'test', template }).plan({ line: 1, text, fields: { token: text } });
  assert.equal(planned.kind, 'request');
  return planned as PlannedRequest;
}

test('#28: the key: salted, the run-wide token out of it, a per-input credential in it, nothing in the clear', () => {
  const salt = 'a'.repeat(64);
  const url = 'https://api.example.com/items/1?api_key=SECRET';
  const key = cacheKey(salt, plan(url, [['Authorization', 'Bearer run-wide-1']]));
  assert.match(key, /^ratefetch\/1 [0-9a-f]{64}$/);
  assert.equal(cacheKey(salt, plan(url, [['Authorization', 'Bearer run-wide-2']])), key, 'a refreshed run-wide token');
  assert.notEqual(cacheKey('b'.repeat(64), plan(url)), key, 'another directory, another salt');
  assert.notEqual(cacheKey(salt, plan('https://api.example.com/items/1?api_key=OTHER')), key, 'a secret query value is the input’s');
  const template = 'https://api.example.com/me';
  const perInput = (token: string) => cacheKey(salt, plan(token, [['Authorization', 'Bearer {token}']], template));
  assert.notEqual(perInput('alice'), perInput('bob'));
  assert.equal(perInput('alice'), perInput('alice'));
});

test('#28: the salt is made once, kept, and a damaged one replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-salt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b] = await Promise.all([readOrCreateSalt(dir), readOrCreateSalt(dir)]);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(b, a, 'two runs starting at once agree');
  assert.equal(await readOrCreateSalt(dir), a);
  writeFileSync(join(dir, 'ratefetch-salt'), 'junk');
  const replaced = await readOrCreateSalt(dir);
  assert.match(replaced, /^[0-9a-f]{64}$/);
  assert.equal(readFileSync(join(dir, 'ratefetch-salt'), 'utf8').trim(), replaced);
});

test('#28: what goes to disk has no secret header, no secret query value and no registered token', () => {
  const redactor = createRunRedactor([['X-Vendor-Key', 'vendor-SECRET']], ['sessionid'], ['X-Vendor-Key']);
  const secret = new Set([...SECRET_HEADERS, 'x-vendor-key']);
  const scrubber = { isSecretHeader: (name: string) => secret.has(name), redactor };
  const planned = plan('https://api.example.com/x?token=SECRET-1&sessionid=SECRET-2&page=2#frag', [
    ['Authorization', 'Bearer SECRET-3'],
    ['Cookie', 'a=SECRET-4'],
    ['X-Vendor-Key', 'vendor-SECRET'],
    ['Accept', 'application/json'],
  ]);
  const view = requestView(planned, scrubber);
  assert.equal(view.url, 'https://api.example.com/x?token=[REDACTED]&sessionid=[REDACTED]&page=2');
  assert.deepEqual(Object.keys(view.headers).sort(), ['accept', 'accept-encoding', 'host', 'user-agent']);
  const outcome: ResponseOutcome = {
    kind: 'response',
    status: 200,
    statusText: 'OK',
    headers: { 'set-cookie': ['s=SECRET-5'], vary: 'Accept, Authorization', location: '/next?access_token=SECRET-6', etag: '"e"' },
    contentType: null,
    bytes: 0,
    bodyEncoding: 'none',
    body: null,
    latencyMs: 1,
  };
  const stored = toStoredAnswer(view, outcome, T0, scrubber);
  assert.ok(!JSON.stringify(stored).includes('SECRET'), JSON.stringify(stored));
  assert.deepEqual(stored.varied, { accept: 'application/json' });
  assert.equal(stored.headers['set-cookie'], undefined);
  assert.deepEqual(readStoredAnswer(JSON.parse(JSON.stringify(stored))), stored);
});

test('#28: metadata that is not what we write reads as nothing', () => {
  const good = { v: 1, url: 'https://a.example/x', method: 'GET', status: 200, statusText: 'OK', headers: { a: ['1', '2'] }, varied: {}, receivedAt: T0 };
  assert.deepEqual(readStoredAnswer(good), good);
  for (const bad of [
    null,
    'text',
    [],
    { ...good, v: 2 },
    { ...good, url: 'not a url' },
    { ...good, headers: { a: 1 } },
    { ...good, varied: { a: ['x'] } },
    { ...good, receivedAt: 'x' },
  ]) {
    assert.equal(readStoredAnswer(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(DEFAULTS.cacheDir, undefined);
});

test('#28: resolveOptions checks --cache and --cache-max-age once, naming the flag', () => {
  assert.equal(resolveOptions({ cacheDir: '/tmp/c', cacheMaxAgeMs: 0 }).cacheMaxAgeMs, 0);
  const refused: Array<[Partial<RunOptions>, RegExp]> = [
    [{ cacheMaxAgeMs: 1_000 }, /--cache-max-age goes with --cache/],
    [{ cacheDir: '/tmp/c', cacheMaxAgeMs: -1 }, /cacheMaxAgeMs.*0 or more/],
    [{ cacheDir: '/tmp/c', cacheMaxAgeMs: Infinity }, /cacheMaxAgeMs.*finite/],
    [{ cacheDir: ' ' }, /`cacheDir` \(--cache\)/],
    [{ cacheDir: '/tmp/c', paginate: true }, /--cache does not go with --paginate/],
    [{ cacheDir: '/tmp/c', nextPath: '.next' }, /--cache does not go with/],
  ];
  for (const [options, message] of refused) assert.throws(() => resolveOptions(options), message, JSON.stringify(options));
});

test('#28: the stats count records by where their answer came from; a --dedupe copy is its first’s, not counted again', () => {
  const stats = new RunStats(() => T0);
  const record = (line: number, cache: FetchRecord['cache'], duplicateOf?: number) =>
    ({ line, ok: true, final: true, status: 200, latencyMs: null, error: null, cache, ...(duplicateOf !== undefined && { duplicateOf }) }) as FetchRecord;
  assert.equal(stats.snapshot().cache, undefined, 'nothing to say without --cache');
  for (const r of [record(1, 'hit'), record(2, 'hit', 1), record(3, 'revalidated'), record(4, 'miss'), record(5, 'hit')])
    stats.onEvent({ type: 'record', record: r });
  const snapshot = stats.snapshot();
  assert.deepEqual(snapshot.cache, { hit: 2, revalidated: 1, miss: 1 });
  assert.deepEqual(toStatsJson(snapshot).cache, { hits: 2, revalidated: 1, misses: 1, requestsSaved: 2 });
  assert.match(
    formatSummary(snapshot, new Chalk({ level: 0 })),
    /\n {2}cache {8}2 hits \(2 requests saved\) · 1 revalidated \(304, body from the cache\) · 1 miss\n/,
  );
  assert.equal(toStatsJson(new RunStats(() => T0).snapshot()).cache, undefined);
});
