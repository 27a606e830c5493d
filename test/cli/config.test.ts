// --config job.json (issue #26): options under their long names, flags on the command line win,
// a token from the environment, and one clear sentence naming the key and the file for each
// mistake. Real runs against the fixture server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOneRecordPerLine, assertUsageError, parseRecords, range, runCli, startServer, tempDir, writeLines } from './helpers.ts';

function writeConfig(dir: string, name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

test('#26: a config file runs the job: input, output, headers, switches and numbers under their long names', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(5).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const config = writeConfig(dir, 'job.json', {
    input,
    output: out,
    header: ['X-Job: nightly', 'X-Team: data'],
    quiet: true,
    progress: false,
    'max-retry-after': 30,
    concurrency: 2,
  });
  const result = await runCli(['--config', config]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '', '"quiet": true');
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8')), range(5));
  assert.ok(server.hits.every((hit) => hit.headers['x-job'] === 'nightly' && hit.headers['x-team'] === 'data'));
});

test("#26: flags on the command line win over the file; a list given there replaces the file's list", async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const fromFile = writeLines(dir, 'file-urls.txt', [`${server.url}/items/file`]);
  const fromFlags = writeLines(dir, 'flag-urls.txt', [`${server.url}/items/flag`]);
  const config = writeConfig(dir, 'job.json', { input: fromFile, output: join(dir, 'file.ndjson'), header: ['X-From: file'], quiet: true });
  const out = join(dir, 'flag.ndjson');
  const result = await runCli(['--config', config, fromFlags, '-o', out, '-H', 'X-Other: flag']);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(existsSync(out) && !existsSync(join(dir, 'file.ndjson')), 'the -o given wins');
  assert.deepEqual(
    server.hits.map((hit) => hit.path),
    ['/items/flag'],
    'the input given wins',
  );
  assert.equal(server.hits[0]!.headers['x-other'], 'flag');
  assert.equal(server.hits[0]!.headers['x-from'], undefined, "-H on the command line replaces the file's headers");
  // `--config=FILE` works too, and the file's switch holds when the command line says nothing.
  const again = await runCli([`--config=${config}`, fromFlags, '-o', out]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, '');
});

test('#26: a token in the config comes from the environment, with "env-headers", and is never printed', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/status/500`]);
  const config = writeConfig(dir, 'job.json', { input, header: ['Authorization: Bearer $API_TOKEN'], 'env-headers': true, retries: 0, verbose: true });
  const result = await runCli(['--config', config], { env: { API_TOKEN: 'tok-from-env-42' } });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(server.hits[0]!.headers.authorization, 'Bearer tok-from-env-42');
  assert.ok(!`${result.stdout}${result.stderr}${readFileSync(config, 'utf8')}`.includes('tok-from-env-42'));
  const unset = await runCli(['--config', config], { env: { API_TOKEN: undefined } });
  assertUsageError(unset, /\$API_TOKEN.*not set/);
});

test('#26: each mistake in a config file is one sentence naming the file and the key; nothing is sent', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`]);
  const cases: Array<[unknown, RegExp]> = [
    [{ rpss: 3 }, /bad\.json: "rpss" is not an option/],
    [{ rps: 'fast' }, /bad\.json: "rps": .*fast/],
    [{ rps: -1 }, /bad\.json: "rps"/],
    [{ quiet: 'yes' }, /bad\.json: "quiet" is a switch: true or false/],
    [{ output: ['a', 'b'] }, /bad\.json: "output" takes one value, not a list/],
    [{ header: [{ name: 'X' }] }, /bad\.json: "header" must be a string or a list of strings/],
    [{ concurrency: 0 }, /bad\.json: "concurrency": .*1 or more/],
    [{ input: 3 }, /bad\.json: "input" must be a file name/],
    [{ config: 'other.json' }, /bad\.json: "config" is not an option/],
    [[1, 2], /bad\.json must hold one JSON object/],
    ['{"rps": 2,}', /bad\.json is not JSON/],
  ];
  for (const [config, message] of cases) {
    const path = writeConfig(dir, 'bad.json', config);
    assertUsageError(await runCli(['--config', path, input]), message);
  }
  assertUsageError(await runCli(['--config', join(dir, 'missing.json'), input]), /--config cannot read .*missing\.json: no such file/);
  assertUsageError(await runCli([input, '--config']), /--config needs a file/);
  assert.equal(server.hits.length, 0);
});
