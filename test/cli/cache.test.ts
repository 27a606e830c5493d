// #28 part 1 from the command line: --cache and --cache-max-age, their help and their mistakes,
// the summary and --stats-file counts, `ratefetch report`, and a real `grep -r` over the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, assertOneRecordPerLine, assertUsageError, parseRecords, runCli, runShell, shq, startServer, tempDir, writeLines } from './helpers.ts';

test('#28: --help shows --cache and --cache-max-age', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Cache:\n {2}--cache <dir> /);
  assert.match(help.stdout, /--cache-max-age <seconds>/);
});

test('#28: a bad --cache-max-age, or --cache with what it does not go with, is one sentence and exit 2', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/x']);
  const cache = join(dir, 'cache');
  const cases: Array<[string[], RegExp]> = [
    [['--cache', cache, '--cache-max-age', '-5'], /--cache-max-age.*0 or more/],
    [['--cache', cache, '--cache-max-age', 'soon'], /--cache-max-age.*0 or more/],
    [['--cache-max-age', '60'], /--cache-max-age goes with --cache/],
    [['--cache', cache, '--paginate'], /--cache does not go with --paginate/],
    [
      ['--cache', cache, '-t', 'http://127.0.0.1:9/t?ids={}', '--batch', '5', '--batch-split', '.items', '--batch-key', '.id'],
      /--cache does not go with --batch/,
    ],
    [['--cache', cache, '--redis', 'redis://127.0.0.1:9', '--name', 'n'], /--cache is not supported with --redis/],
  ];
  for (const [args, mentions] of cases) assertUsageError(await runCli([input, ...args]), mentions);
  writeFileSync(join(dir, 'a-file'), 'x');
  const underAFile = await runCli([input, '--cache', join(dir, 'a-file', 'cache')]);
  assertUsageError(underAFile, /--cache cannot use .* as its directory: .*ENOTDIR/);
  // Node 20's recursive mkdir never settles there (it spins): ratefetch makes one level at a time.
  if (existsSync('/proc/self'))
    assertUsageError(await runCli([input, '--cache', '/proc/ratefetch-cache/x']), /--cache cannot use \/proc\/ratefetch-cache\/x as its directory: .*ENOENT/);
  assert.equal(existsSync(cache), false, 'no directory made for a refused run');
});

test('#28: the second run says in its summary, its --stats-file and the report what the cache saved', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [
    `${server.url}/cached/1?cc=max-age=600`,
    `${server.url}/cached/2?cc=max-age=600`,
    `${server.url}/cached/3?cc=max-age=600`,
    `${server.url}/cached/4?etag=a&cc=no-cache`,
    `${server.url}/cached/5?cc=no-store`,
  ]);
  const args = [input, '--cache', join(dir, 'cache'), '-o', join(dir, 'out.ndjson'), '--stats-file', join(dir, 'stats.json'), '--no-progress'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /cache +0 hits \(0 requests saved\) · 0 revalidated \(304, body from the cache\) · 5 misses/);

  const second = await runCli(args);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(server.hits.length, 5 + 2, 'the second run asked only about 4 and 5');
  assert.match(second.stderr, /cache +3 hits \(3 requests saved\) · 1 revalidated \(304, body from the cache\) · 1 miss\n/);
  assert.match(second.stderr, /\(2 attempts\)/);
  const records = parseRecords(readFileSync(join(dir, 'out.ndjson'), 'utf8'), 'out.ndjson');
  assertOneRecordPerLine(records, [1, 2, 3, 4, 5]);
  assert.deepEqual(records.map((r) => [r.line, r.cache]).sort(), [
    [1, 'hit'],
    [2, 'hit'],
    [3, 'hit'],
    [4, 'revalidated'],
    [5, 'miss'],
  ]);
  const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')) as { cache: unknown; attempts: number };
  assert.deepEqual(stats.cache, { hits: 3, revalidated: 1, misses: 1, requestsSaved: 3 });
  assert.equal(stats.attempts, 2);

  const report = await runCli(['report', join(dir, 'out.ndjson')]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /cache +3 hits · 1 revalidated · 1 miss \(--cache\)/);
});

test('#28: grep -r finds no secret in the cache directory after a run with a token, a cookie and secret query values', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const cache = join(dir, 'cache');
  const input = writeLines(dir, 'urls.txt', [
    `${server.url}/cached/1?cc=max-age=600&token=SECRET-query&sid=SECRET-sid&cookie=1&vary=Authorization,X-Vendor-Key`,
    `${server.url}/cached/2?etag=e&cc=no-cache&api_key=SECRET-key`,
  ]);
  const headersFile = join(dir, 'headers.txt');
  writeFileSync(headersFile, 'X-Vendor-Key: SECRET-vendor\n', { mode: 0o600 });
  const command = `node ${shq(BIN)} ${shq(input)} --cache ${shq(cache)} -H 'Authorization: Bearer tok.SECRET-bearer' -H 'Cookie: s=SECRET-cookie' -H @${shq(headersFile)} --redact-param sid --include-headers -q`;
  for (const round of [1, 2]) {
    const result = await runShell(command, { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!`${result.stdout}${result.stderr}`.includes('SECRET'), `round ${round}: a secret in the output`);
    const caches = parseRecords(result.stdout).map((r) => r.cache);
    assert.deepEqual(caches.sort(), round === 1 ? ['miss', 'miss'] : ['hit', 'revalidated']);
  }
  assert.ok(server.hits.every((hit) => hit.headers.authorization === 'Bearer tok.SECRET-bearer'));
  const grep = await runShell(`grep -r SECRET ${shq(cache)}`);
  assert.equal(grep.code, 1, `grep found: ${grep.stdout}${grep.stderr}`);
  assert.equal(grep.stdout, '');
  const listed = await runShell(`find ${shq(cache)} -type f | sed 's#.*/cache/##; s#/.*##' | sort -u`);
  assert.deepEqual(listed.stdout.trim().split('\n'), ['content-v2', 'index-v5', 'ratefetch-salt'], 'grep read both the index and the bodies');
});

test('#28: --dry-run with --cache sends nothing and leaves no directory; a config file takes the keys by their long names', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const cache = join(dir, 'cache');
  const input = writeLines(dir, 'urls.txt', [`${server.url}/cached/1`]);
  const dry = await runCli([input, '--cache', cache, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(existsSync(cache), false);
  assert.equal(server.hits.length, 0);

  const config = join(dir, 'nightly.json');
  writeFileSync(config, JSON.stringify({ input, cache, 'cache-max-age': 3600, quiet: true }));
  const first = await runCli(['--config', config]);
  const second = await runCli(['--config', config]);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(
    [...parseRecords(first.stdout), ...parseRecords(second.stdout)].map((r) => r.cache),
    ['miss', 'hit'],
  );
  assert.equal(server.hits.length, 1, 'an answer with no freshness of its own is fresh for --cache-max-age');
});
