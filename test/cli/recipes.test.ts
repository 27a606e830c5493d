// The README's recipes (issue #26), run as written there but against a local server: each one
// must do what the README says it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTokenApi } from '../../fixtures/token-api.ts';
import { BIN, assertOneRecordPerLine, parseRecords, range, runCli, runShell, shq, startServer, tempDir, writeLines } from './helpers.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const HAS_JQ = spawnSync('jq', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAS_JQ && process.env.CI === 'true') throw new Error('jq is not installed, and under CI=true the recipes test must run: .ci/run installs it');

/** The README's recipe command that starts with `prefix`, with its host replaced by the server's. */
function recipe(prefix: string, baseUrl?: string): string {
  const line = README.split('\n').find((each) => each.startsWith(prefix));
  assert.ok(line !== undefined, `the README has a recipe starting ${prefix}`);
  return baseUrl === undefined ? line : line.replaceAll('https://api.example.com', baseUrl);
}

test('#26 recipe: a bearer token from the environment reaches the server and nowhere else', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeLines(
    dir,
    'urls.txt',
    range(3).map((i) => `${server.url}/items/${i}`),
  );
  const command = recipe("ratefetch urls.txt --rps 5 -H 'Authorization: Bearer $API_TOKEN'");
  const result = await runShell(command.replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir, env: { API_TOKEN: 'tok-recipe-77' } });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(server.hits.every((hit) => hit.headers.authorization === 'Bearer tok-recipe-77'));
  const out = readFileSync(join(dir, 'out.ndjson'), 'utf8');
  assert.ok(!`${out}${result.stderr}`.includes('tok-recipe-77'));
});

test('#26 recipe: a CSV of IDs fills the template', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'ids.csv'), 'id,country\n1,de\n2,fr\n');
  const command = recipe("ratefetch ids.csv -t 'https://api.example.com", server.url);
  const result = await runShell(command.replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(readFileSync(join(dir, 'items.ndjson'), 'utf8')), [2, 3]);
  assert.deepEqual(server.hits.map((hit) => `${hit.path}`).sort(), ['/items/1?country=de', '/items/2?country=fr']);
});

test('#26 recipe: jq picks the bodies of the successes, and counts the failures by code', {
  skip: HAS_JQ ? false : 'jq is not installed: apt-get install jq to run the jq recipes',
}, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeLines(dir, 'urls.txt', [`${server.url}/items/1`, `${server.url}/status/404`, 'not a url']);
  const bodies = await runShell(recipe('ratefetch urls.txt --rps 5 | jq').replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(bodies.stdout, '{"id":"1","name":"item 1"}\n', bodies.stderr);
  await runCli([join(dir, 'urls.txt'), '-o', join(dir, 'out.ndjson'), '-q']);
  const codes = await runShell(recipe("jq -r 'select(.ok | not) | .error.code'"), { cwd: dir });
  assert.deepEqual(
    codes.stdout
      .trim()
      .split('\n')
      .map((line) => line.trim()),
    ['1 HTTP_STATUS', '1 INVALID_URL'],
  );
});

test('#26 recipe: a cron job from a config resumes, and a rerun with nothing left exits 0; then the report reads it', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'isrcs.txt',
    range(6).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const stats = join(dir, 'stats.json');
  const config = join(dir, 'isrc-sync.json');
  writeFileSync(config, JSON.stringify({ input, rps: 20, output: out, resume: true, quiet: true, 'stats-file': stats }));
  const first = await runCli(['--config', config]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, '');
  const again = await runCli(['--config', config]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(server.hits.length, 6, 'the rerun fetched nothing');
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8')), range(6));
  const report = await runShell(`${recipe('ratefetch report out.ndjson').replace(/^ratefetch/, `node ${shq(BIN)}`)}`, { cwd: dir });
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /6 records, 6 inputs/);
  assert.match(report.stdout, /Nothing worth fetching again/);
});

test('#26 recipe: an API with quota headers is paced to its quota: no 429', async (t) => {
  const server = await startServer(t, { limit: { limit: 10, windowMs: 1000, headers: 'x-ratelimit', reset: 'delta-seconds' } });
  const dir = tempDir(t);
  writeLines(
    dir,
    'urls.txt',
    range(25).map((i) => `${server.url}/items/${i}`),
  );
  const result = await runShell(recipe('ratefetch urls.txt --rps auto -o out.ndjson').replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(readFileSync(join(dir, 'out.ndjson'), 'utf8')), range(25));
  assert.equal(server.hits.filter((hit) => hit.status === 429).length, 0);
});

test('#27 recipe: a token from a command goes on every request', async (t) => {
  const server = await startTokenApi({ lifetimeMs: 60_000 });
  t.after(() => server.close());
  const dir = tempDir(t);
  writeLines(dir, 'ids.txt', ['1', '2']);
  const token = await (await fetch(`${server.url}/issue`, { method: 'POST' })).text();
  writeFileSync(join(dir, 'api-token'), token);
  const command = recipe("ratefetch ids.txt -t 'https://api.example.com/items/{}' --rps 2 --auth-command 'cat", server.url).replace(
    '/run/secrets/api-token',
    join(dir, 'api-token'),
  );
  const result = await runShell(command.replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(result.stdout), [1, 2]);
  assert.ok(!`${result.stdout}${result.stderr}`.includes(token.trim()));
});

test('#27 recipe: pages of an API that pages its results, flattened with jq', {
  skip: HAS_JQ ? false : 'jq is not installed: apt-get install jq to run the jq recipes',
}, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeLines(dir, 'queries.txt', [`${server.url}/pages/a?n=3`, `${server.url}/pages/b?n=12`]);
  const result = await runShell(recipe('ratefetch queries.txt --paginate').replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const records = parseRecords(readFileSync(join(dir, 'pages.ndjson'), 'utf8'));
  assert.deepEqual(
    records
      .filter((r) => r.last === true)
      .map((r) => [r.line, r.page])
      .sort(),
    [
      [1, 3],
      [2, 10],
    ],
    'one last record per input; --max-pages 10 ends the second',
  );
  const flat = await runShell(recipe("jq -c 'select(.ok) | .body.items[]' pages.ndjson"), { cwd: dir });
  assert.equal(flat.code, 0, flat.stderr);
  assert.equal(readFileSync(join(dir, 'items.ndjson'), 'utf8').trim().split('\n').length, 2 * 3 + 2 * 10);
});

test('#28 recipe: a nightly job with --cache fetches only what changed, and the stats say what it saved', {
  skip: HAS_JQ ? false : 'jq is not installed: apt-get install jq to run the jq recipes',
}, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeLines(dir, 'urls.txt', [
    ...range(3).map((i) => `${server.url}/cached/${i}?cc=max-age=3600`),
    `${server.url}/cached/e?etag=v1&cc=no-cache`,
    `${server.url}/cached/lm?lm=1000000000`,
  ]);
  const command = recipe('ratefetch urls.txt --rps 5 --cache').replace('/var/cache/ratefetch/items', join(dir, 'cache'));
  for (const night of [1, 2]) {
    const result = await runShell(command.replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
    assert.equal(result.code, 0, `night ${night}: ${result.stderr}`);
  }
  assert.equal(server.hits.length, 5 + 2, 'the second night asked only about the two that can be revalidated');
  assert.deepEqual(
    server.hits.slice(5).map((hit) => hit.status),
    [304, 304],
  );
  assertOneRecordPerLine(parseRecords(readFileSync(join(dir, 'items.ndjson'), 'utf8')), range(5));
  const stats = await runShell(recipe("jq -c '.cache' stats.json"), { cwd: dir });
  assert.equal(stats.stdout, '{"hits":3,"revalidated":2,"misses":0,"requestsSaved":3}\n', stats.stderr);
});

test('#28 recipe: a batch endpoint takes fifty IDs a request, one record per ID, and jq lists the lines of the IDs it does not know', {
  skip: HAS_JQ ? false : 'jq is not installed: apt-get install jq to run the jq recipes',
}, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeLines(
    dir,
    'track-ids.txt',
    range(120).map((i) => (i === 77 ? 'gone-77' : `t${i}`)),
  );
  const command = recipe("ratefetch track-ids.txt -t 'https://api.example.com/tracks?ids={}' --batch 50", server.url);
  const result = await runShell(command.replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(result.code, 1, `one ID is not known: ${result.stderr}`);
  const records = parseRecords(readFileSync(join(dir, 'tracks.ndjson'), 'utf8'));
  assertOneRecordPerLine(records, range(120));
  assert.equal(server.hits.length, 3, '120 IDs in requests of 50');
  assert.deepEqual(records.find((r) => r.line === 5)?.body, { id: 't5', name: 'item t5' });
  const missing = await runShell(recipe(`jq -r 'select(.error.code == "BATCH_MISSING") | .line'`), { cwd: dir });
  assert.equal(missing.stdout, '77\n', missing.stderr);
});

test('#28 recipe: cover art to files, each checked against the SHA-256 its record gives', {
  skip: HAS_JQ ? false : 'jq is not installed: apt-get install jq to run the jq recipes',
}, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  writeLines(dir, 'ids.txt', ['1', '2', '3']);
  // The fixture serves binary files at /file/:id.
  const command = recipe("ratefetch ids.txt -t 'https://api.example.com/covers/{}' --save", server.url).replace('/covers/{}', '/file/{}?size=100000');
  const result = await runShell(command.replace(/^ratefetch/, `node ${shq(BIN)}`), { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(readFileSync(join(dir, 'covers.ndjson'), 'utf8')), [1, 2, 3]);
  const check = await runShell(recipe('jq -r \'select(.ok) | "\\(.saved.sha256)'), { cwd: dir });
  assert.equal(check.code, 0, check.stderr);
  writeFileSync(join(dir, 'covers', '2.jpg'), 'not what was fetched');
  const tampered = await runShell(recipe('jq -r \'select(.ok) | "\\(.saved.sha256)'), { cwd: dir });
  assert.notEqual(tampered.code, 0, 'sha256sum -c finds a file that changed');
  assert.match(tampered.stdout + tampered.stderr, /covers\/2\.jpg: FAILED/);
});
