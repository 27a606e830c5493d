// Credentials that expire (issue #27): OAuth 2.0 client credentials bought again before they
// expire, an --auth-command asked again after a 401 (once, whatever the concurrency) or every
// --auth-ttl, a header line from the command, and a credential that never follows a redirect to
// another origin. Real HTTP against a local API whose tokens live a second or two.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTokenApi, type TokenApi, type TokenApiOptions } from '../../fixtures/token-api.js';
import { assertOneRecordPerInput, lineNumbers, run } from '../helpers.js';
import type { FetchRecord } from '../../src/index.js';

async function api(t: TestContext, options: TokenApiOptions): Promise<TokenApi> {
  const started = await startTokenApi(options);
  t.after(() => started.close());
  return started;
}

/** A command that fetches a fresh token from the API's /issue, as a user's script would from a vault. */
const issueCommand = (server: TokenApi) =>
  `${JSON.stringify(process.execPath)} -e "fetch('${server.url}/issue',{method:'POST'}).then(r=>r.text()).then(t=>process.stdout.write(t))"`;

function assertNoTokenIn(records: FetchRecord[], server: TokenApi): void {
  const written = JSON.stringify(records);
  for (const token of server.issued) assert.ok(!written.includes(token), 'no token in any record');
}

test('#27: OAuth 2.0 client credentials are bought again before they expire: a run over three lifetimes, no 401, no token written', {
  timeout: 30_000,
}, async (t) => {
  const server = await api(t, { lifetimeMs: 2_000, clientId: 'sync-job', clientSecret: 's3cr3t-client' });
  const urls = lineNumbers(60).map((i) => `${server.url}/items/${i}`);
  const { records, events } = await run(urls, { rps: 9, oauth2: { tokenUrl: server.tokenUrl, clientId: 'sync-job', clientSecret: 's3cr3t-client' } });
  assertOneRecordPerInput(records, lineNumbers(60));
  assert.ok(
    records.every((record) => record.ok && record.attempts === 1),
    JSON.stringify(records.filter((r) => !r.ok)),
  );
  const items = server.hits.filter((hit) => hit.path.startsWith('/items/'));
  assert.equal(items.filter((hit) => hit.status === 401).length, 0, 'refreshed ahead of expiry');
  assert.ok(server.issued.length >= 4, `${server.issued.length} tokens for a run of more than three lifetimes`);
  assertNoTokenIn(records, server);
  assert.ok(!JSON.stringify(events).includes('s3cr3t-client'));
});

test('#27: --auth-command is asked again after a 401, once however many requests got one; the request goes again, not counted as failed', {
  timeout: 30_000,
}, async (t) => {
  // Tokens live 3 s over a run of 4 s or more: they expire mid-run, and a busy machine's pauses
  // (a second or more at a load of 10 on 2 cores) do not outlast a fresh one.
  const server = await api(t, { lifetimeMs: 3_000 });
  const urls = lineNumbers(50).map((i) => `${server.url}/items/${i}`);
  const started = Date.now();
  const { records } = await run(urls, { rps: 12, concurrency: 6, authCommand: issueCommand(server) });
  const seconds = (Date.now() - started) / 1000;
  assertOneRecordPerInput(records, lineNumbers(50));
  assert.ok(
    records.every((record) => record.ok && record.attempts === 1),
    JSON.stringify(records.filter((r) => !r.ok || r.attempts !== 1)),
  );
  const refused = server.hits.filter((hit) => hit.path.startsWith('/items/') && hit.status === 401);
  assert.ok(refused.length > 0, 'tokens did expire mid-run');
  // One refresh per expiry at most, not one per refused request.
  assert.ok(server.issued.length <= Math.ceil(seconds / 3) + 2, `${server.issued.length} tokens in ${seconds.toFixed(1)} s`);
  assertNoTokenIn(records, server);
});

test('#27: --auth-ttl refreshes by time: tokens never expire on the way, no 401', { timeout: 30_000 }, async (t) => {
  const server = await api(t, { lifetimeMs: 1_500 });
  const urls = lineNumbers(40).map((i) => `${server.url}/items/${i}`);
  const { records } = await run(urls, { rps: 12, authCommand: issueCommand(server), authTtlMs: 700 });
  assertOneRecordPerInput(records, lineNumbers(40));
  assert.ok(records.every((record) => record.ok));
  assert.equal(server.hits.filter((hit) => hit.path.startsWith('/items/') && hit.status === 401).length, 0);
});

test('#27: a command that prints a header line sends that header; the credential does not follow a redirect to another origin', async (t) => {
  const away = await api(t, { lifetimeMs: 60_000, host: '127.0.0.2' });
  const server = await api(t, { lifetimeMs: 60_000, awayUrl: `${away.url}/items/1` });
  const keyCommand = `${JSON.stringify(process.execPath)} -e "fetch('${server.url}/issue',{method:'POST'}).then(r=>r.text()).then(t=>process.stdout.write('X-Api-Key: '+t))"`;
  const { records } = await run([`${server.url}/items/1`, `${server.url}/redirect-away`], { authCommand: keyCommand, retries: 0 });
  const byLine = new Map(records.map((record) => [record.line, record]));
  assert.equal(byLine.get(1)?.ok, true);
  assert.equal(server.hits[1]?.headers['x-api-key'], server.issued[0]);
  // The other origin saw no credential, and refused: a 401 there is the input's answer.
  assert.equal(away.hits.length, 1);
  assert.equal(away.hits[0]!.headers['x-api-key'], undefined);
  assert.equal(byLine.get(2)?.status, 401);
});
