import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import { readFileSync } from 'node:fs';
import { DEFAULTS, VERSION, resolveOptions } from '../../src/options.ts';

test('defaults: no rate cap, concurrency 8, 30 s timeout, 5 retries', () => {
  const options = resolveOptions();
  assert.equal(options.rps, Infinity);
  assert.equal(options.burst, 1);
  assert.equal(options.concurrency, 8);
  assert.equal(options.timeoutMs, 30_000);
  assert.equal(options.retries, 5);
  assert.equal(options.maxRetryAfterMs, 600_000);
  assert.match(options.userAgent, /^ratefetch\//);
});

test('#7: default burst is 1, or rps × 20 ms when larger', () => {
  assert.equal(resolveOptions({ rps: 5 }).burst, 1);
  assert.equal(resolveOptions({ rps: 0.5 }).burst, 1);
  assert.equal(resolveOptions({ rps: 2000 }).burst, 40);
  assert.equal(resolveOptions({ rps: 2000, burst: 3 }).burst, 3);
});

test('bad values are UsageErrors that name the option and the value', () => {
  const cases: Array<[Parameters<typeof resolveOptions>[0], RegExp]> = [
    [{ rps: 0 }, /`rps`.*got `0`/],
    [{ rps: Number.NaN }, /`rps`/],
    [{ concurrency: 0 }, /`concurrency`/],
    [{ concurrency: 1.5 }, /`concurrency`/],
    [{ retries: -1 }, /`retries`/],
    [{ method: 'GE T' }, /`method`/],
    [{ bodyFormat: 'xml' as never }, /`bodyFormat`.*xml/],
    [{ headers: [['bad name', 'v']] }, /header name/],
    [{ maxRetryAfterMs: 1e12 }, /24 days/],
    [{ schema: { document: {}, source: 's.json' }, bodyFormat: 'text' }, /--body-format.*schema/],
  ];
  for (const [partial, message] of cases) {
    assert.throws(
      () => resolveOptions(partial),
      (error: unknown) => error instanceof UsageError && message.test(error.message),
    );
  }
});

test('the method is upper-cased', () => {
  assert.equal(resolveOptions({ method: 'post' }).method, 'POST');
});

test('#22: DEFAULTS is frozen, its lists too, and each run gets lists of its own', () => {
  assert.ok(Object.isFrozen(DEFAULTS));
  assert.throws(() => Object.assign(DEFAULTS, { retries: 0 }), TypeError);
  assert.throws(() => (DEFAULTS.limits as string[]).push('api.example.com=1/s'), TypeError);
  const options = resolveOptions();
  options.limits.push('api.example.com=1/s');
  options.headers.push(['x-run', 'one']);
  assert.deepEqual([DEFAULTS.limits, DEFAULTS.headers, resolveOptions().limits], [[], [], []]);
});

test('#22: VERSION is the package.json version, and the default User-Agent carries it', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(VERSION, version);
  assert.equal(resolveOptions().userAgent, `ratefetch/${version}`);
});
