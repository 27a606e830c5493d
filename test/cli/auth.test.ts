// Credentials from the command line (issue #27): a source that fails before the first request is
// a usage error (exit 2); one that fails mid-run stops the run (exit 3) with a record for every
// input read; the client secret comes from the environment or a file, never argv, and no token
// is ever printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTokenApi } from '../../fixtures/token-api.ts';
import { assertOneRecordPerLine, assertUsageError, parseRecords, range, runCli, tempDir, writeLines } from './helpers.ts';

test('#27: an --auth-command that fails before the first request: exit 2, one sentence, nothing sent', async (t) => {
  const server = await startTokenApi({ lifetimeMs: 60_000 });
  t.after(() => server.close());
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`]);
  assertUsageError(await runCli([input, '--auth-command', 'exit 3']), /no credential to start with: --auth-command exited with 3/);
  assertUsageError(await runCli([input, '--auth-command', 'true']), /--auth-command printed nothing/);
  assertUsageError(await runCli([input, '--auth-ttl', '60']), /--auth-ttl goes with --auth-command or --oauth2-token-url/);
  assert.equal(server.hits.length, 0);
});

test('#27: a source that fails mid-run stops the run: exit 3, a record for every input read, AUTH_FAILED for the unfinished', async (t) => {
  const server = await startTokenApi({ lifetimeMs: 800 });
  t.after(() => server.close());
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(40).map((i) => `${server.url}/items/${i}`),
  );
  // Gives a token the first time, then fails: the vault went away in the night.
  const marker = join(dir, 'asked-once');
  const command = `if [ -e ${marker} ]; then echo 'vault sealed' >&2; exit 1; fi; touch ${marker}; ${JSON.stringify(process.execPath)} -e "fetch('${server.url}/issue',{method:'POST'}).then(r=>r.text()).then(t=>process.stdout.write(t))"`;
  const out = join(dir, 'out.ndjson');
  const result = await runCli([input, '--rps', '20', '--auth-command', command, '-o', out]);
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /stopping early: no fresh credential: --auth-command exited with 1/);
  assert.match(result.stderr, /vault sealed/, "the command's own stderr is shown");
  const records = parseRecords(readFileSync(out, 'utf8'));
  assertOneRecordPerLine(records, range(40));
  assert.ok(records.some((record) => record.ok));
  assert.ok(records.some((record) => record.error?.code === 'AUTH_FAILED' && !record.final));
  assert.ok(!`${readFileSync(out, 'utf8')}${result.stderr}`.includes(server.issued[0]!));
});

test('#27: --oauth2-token-url takes the secret from the environment or a file; a refused client is one sentence, without the secret', async (t) => {
  const server = await startTokenApi({ lifetimeMs: 60_000, clientId: 'job', clientSecret: 'right-secret' });
  t.after(() => server.close());
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(3).map((i) => `${server.url}/items/${i}`),
  );
  const fromEnv = await runCli([input, '--oauth2-token-url', server.tokenUrl, '--oauth2-client-id', 'job'], { env: { OAUTH2_CLIENT_SECRET: 'right-secret' } });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assertOneRecordPerLine(parseRecords(fromEnv.stdout), range(3));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'right-secret\n');
  const fromFile = await runCli([input, '--oauth2-token-url', server.tokenUrl, '--oauth2-client-secret-file', secretFile], {
    env: { OAUTH2_CLIENT_ID: 'job' },
  });
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const refused = await runCli([input, '--oauth2-token-url', server.tokenUrl, '--oauth2-client-id', 'job'], { env: { OAUTH2_CLIENT_SECRET: 'wrong-secret' } });
  assertUsageError(refused, /no credential to start with: the token endpoint \(--oauth2-token-url\) answered 401 \(invalid_client\)/);
  assert.ok(!refused.stderr.includes('wrong-secret'));
  assertUsageError(
    await runCli([input, '--oauth2-token-url', server.tokenUrl, '--oauth2-client-id', 'job'], { env: { OAUTH2_CLIENT_SECRET: undefined } }),
    /client secret/,
  );
  for (const token of server.issued) assert.ok(!`${fromEnv.stdout}${fromEnv.stderr}${fromFile.stdout}${fromFile.stderr}`.includes(token));
});
