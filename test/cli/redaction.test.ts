// No credential leaves the process: not in records, not in stderr (verbose, retries, summary),
// not in the stats file. Secrets arrive every way a user can pass them: -H headers, URL
// userinfo, secret query parameters (also on redirect targets) and --redact-param.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertUsageError, parseRecords, runCli, startServer, tempDir, writeLines } from './helpers.ts';
import { closedPort } from '../helpers.ts';

const SECRETS = {
  bearer: 'SECRET-TOKEN-123',
  cookie: 'COOKIE-SECRET-456',
  password: 'URL-PASS-789',
  token: 'QUERY-SECRET-000',
  apiKey: 'QUERY-SECRET-111',
  xApiKey: 'APIKEY-SECRET-222',
  custom: 'CUSTOM-SECRET-333',
};
// The URL password travels as a Basic header: its base64 form is the same secret.
const BASIC = Buffer.from(`user:${SECRETS.password}`).toString('base64');
const FORBIDDEN = [...Object.values(SECRETS), BASIC.replace(/=+$/, '')];

function assertNoSecret(text: string, where: string): void {
  for (const secret of FORBIDDEN) {
    const at = text.indexOf(secret);
    assert.equal(at, -1, `${where} leaks ${secret}: …${text.slice(Math.max(0, at - 120), at + 60)}…`);
  }
}

test('redaction: no secret in stdout, stderr (--verbose, retries, summary) or the stats file', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const base = server.url;
  const hostPort = new URL(base).host;
  const withUser = `http://user:${SECRETS.password}@${hostPort}`;
  const enc = encodeURIComponent;
  const refused = await closedPort();
  // Response bodies are data and are not redacted by design, so most routes here answer with
  // fixed text (/items, /status, /redirect-to). Two do echo the request into the body
  // (/redirect/0 its path and query, /echo its headers): their `.body` is left out below.
  const lines = [
    `${withUser}/items/1?token=${SECRETS.token}&x=1&session_id=${SECRETS.custom}`,
    `${base}/status/503?api_key=${SECRETS.apiKey}`,
    `${base}/status/429?retryAfter=1&token=${SECRETS.token}`,
    // Redirect hops carry the secrets on: /redirect/N keeps the query in each Location.
    `${base}/redirect/2?token=${SECRETS.token}&api_key=${SECRETS.apiKey}`,
    `${base}/redirect-to?url=${enc('ftp://example.invalid/f')}&token=${SECRETS.token}`,
    `http://user:${SECRETS.password}@127.0.0.1:${refused}/x?token=${SECRETS.token}`,
    `${withUser}/bad path?token=${SECRETS.token}`, // not a URL: the record quotes the line
    `${withUser}/echo?token=${SECRETS.token}&x=1`,
  ];
  const ECHOING_LINES = new Set([4, 8]);
  const input = writeLines(dir, 'urls.txt', lines);
  const stats = join(dir, 'stats.json');
  const result = await runCli(
    [
      input,
      '-H',
      `Authorization: Bearer ${SECRETS.bearer}`,
      '-H',
      `Cookie: session=${SECRETS.cookie}`,
      '-H',
      `X-Api-Key: ${SECRETS.xApiKey}`,
      '--redact-param',
      'session_id',
      '--verbose',
      '--include-headers',
      '--retries',
      '1',
      '--max-backoff',
      '0.1',
      '--stats-file',
      stats,
    ],
    { timeoutMs: 30_000 },
  );
  assert.equal(result.code, 1, result.stderr);

  // The secrets really were in play: the server received them.
  const received = JSON.stringify(server.hits.map((h) => [h.path, h.headers]));
  // (-H Authorization wins over the URL's user:password, so no Basic header is sent here.)
  for (const secret of [SECRETS.bearer, SECRETS.cookie, SECRETS.xApiKey, SECRETS.token, SECRETS.apiKey, SECRETS.custom]) {
    assert.ok(received.includes(secret), `the server saw ${secret}`);
  }
  // And the paths that mention them were taken: retries with --verbose, redirects, failures.
  assert.match(result.stderr, /^retry line 2 /m, 'a --verbose retry line for the 503');
  assert.match(result.stderr, /^pause /m, 'a --verbose pause line for the 429');

  const records = parseRecords(result.stdout);
  assert.equal(records.length, lines.length);
  const byLine = new Map(records.map((r) => [r.line, r]));
  assert.equal(byLine.get(2)?.attempts, 2, 'the 503 was retried');
  assert.equal(byLine.get(4)?.ok, true, 'the redirect chain was followed');
  assert.match(String(byLine.get(4)?.finalUrl), /\/redirect\/0\?/);
  assert.equal(byLine.get(5)?.error?.code, 'BAD_REDIRECT');
  assert.equal(byLine.get(6)?.error?.code, 'CONNECTION_REFUSED');
  assert.equal(byLine.get(7)?.error?.code, 'INVALID_URL');
  assert.ok(byLine.get(4)?.headers, '--include-headers puts headers in the record');

  // Every byte of stdout, line by line; the echoing lines are checked without their `.body`.
  for (const raw of result.stdout.split('\n')) {
    const record = raw === '' ? undefined : (JSON.parse(raw) as { line: number });
    const shown = record && ECHOING_LINES.has(record.line) ? JSON.stringify({ ...record, body: '(left out: echoes the request)' }) : raw;
    assertNoSecret(shown, `stdout line for input line ${record?.line}`);
  }
  assertNoSecret(result.stderr, 'stderr');
  assertNoSecret(readFileSync(stats, 'utf8'), 'the stats file');
});

test('redaction: URL user:password is sent as Basic auth and never shown, in either form', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const withUser = `http://user:${SECRETS.password}@${new URL(server.url).host}`;
  const input = writeLines(dir, 'urls.txt', [`${withUser}/items/1`, `${withUser}/status/503`, `${withUser}/status/404`]);
  const stats = join(dir, 'stats.json');
  const result = await runCli([input, '--verbose', '--include-headers', '--retries', '1', '--max-backoff', '0.1', '--stats-file', stats]);
  assert.equal(result.code, 1, result.stderr);
  assert.ok(
    server.hits.some((h) => h.headers.authorization === `Basic ${BASIC}`),
    'the server got the Basic header',
  );
  assert.equal(parseRecords(result.stdout).length, 3);
  assertNoSecret(result.stdout, 'stdout');
  assertNoSecret(result.stderr, 'stderr');
  assertNoSecret(readFileSync(stats, 'utf8'), 'the stats file');
});

test('redaction: a redirect that is the final answer (--max-redirects 0) keeps its Location header secret-free', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/redirect/1?token=${SECRETS.token}&api_key=${SECRETS.apiKey}`]);
  const result = await runCli([input, '--max-redirects', '0', '--include-headers', '--verbose']);
  const [record] = parseRecords(result.stdout);
  assert.equal(record?.status, 302);
  assert.match(String(record.headers?.location), /^\/redirect\/0\?/, 'the Location header is in the record');
  assertNoSecret(result.stdout, 'stdout');
  assertNoSecret(result.stderr, 'stderr');
});

// The secrets sit in a URL that is itself the (percent-encoded) value of a query parameter,
// as in /redirect-to?url=…, ?next=…, ?redirect_uri=…: each field of the record is checked.
test('redaction: a URL carried, encoded, in a query parameter (/redirect-to?url=…) has its secrets removed too', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const hostPort = new URL(server.url).host;
  const target = `http://user:${SECRETS.password}@${hostPort}/items/1?token=${SECRETS.token}&api_key=${SECRETS.apiKey}`;
  const input = writeLines(dir, 'urls.txt', [
    `${server.url}/redirect-to?url=${encodeURIComponent(target)}`,
    `${server.url}/redirect-to?status=307&url=${encodeURIComponent(`/status/503?api_key=${SECRETS.apiKey}`)}`,
  ]);
  const result = await runCli([input, '--include-headers', '--verbose', '--retries', '1', '--max-backoff', '0.1']);
  const records = parseRecords(result.stdout);
  assert.equal(records.length, 2);
  assert.ok(
    server.hits.some((h) => h.path.startsWith(`/items/1?token=${SECRETS.token}`)),
    'the redirect was followed',
  );
  for (const record of records) {
    for (const field of ['url', 'finalUrl', 'headers', 'error'] as const) {
      assertNoSecret(JSON.stringify(record[field] ?? null), `line ${record.line} field "${field}"`);
    }
  }
  assertNoSecret(result.stderr, 'stderr');
});

test('redaction: a malformed -H with a secret in it is refused without echoing the secret', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/never']);
  // The colon is missing, so the whole text looks like the header "name".
  const result = await runCli([input, '-H', `Authorization Bearer ${SECRETS.bearer}`]);
  assertUsageError(result, /-H/);
  assertNoSecret(result.stderr, 'the usage error');
});
