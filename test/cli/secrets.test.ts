// Issue 12, secrets: tokens need not sit in argv (-H @file, --env-headers), credentials stay
// with their origin unless --location-trusted says otherwise, and no byte a run writes (stdout,
// stderr with progress and --verbose, -o, --stats-file, --failed-output, usage errors) holds a
// token, a URL password or a secret query parameter, on success and on every failure path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOneRecordPerLine, assertUsageError, parseRecords, range, runCli, startServer, tempDir, writeLines, type CliResult } from './helpers.ts';
import { closedPort } from '../helpers.ts';

const FILE_TOKEN = 'FILE-TOKEN-6f1e2d';
const ENV_TOKEN = 'ENV-TOKEN-9a8b7c';
const PASSWORD = 'URL-PASS-4d5e6f';
const API_KEY = 'QUERY-KEY-3c2b1a';
// The URL password travels as a Basic header, so its base64 form is the same secret.
const BASIC = Buffer.from(`user:${PASSWORD}`).toString('base64').replace(/=+$/, '');
const FORBIDDEN = [FILE_TOKEN, ENV_TOKEN, PASSWORD, API_KEY, BASIC];

function assertNoSecret(text: string, where: string): void {
  for (const secret of FORBIDDEN) {
    const at = text.indexOf(secret);
    assert.equal(at, -1, `${where} leaks ${secret}: …${text.slice(Math.max(0, at - 120), at + 60)}…`);
  }
}

/** Every byte the run wrote: both streams and each file it was told to write. */
function assertRunLeaksNothing(result: CliResult, files: string[]): void {
  assertNoSecret(result.stdout, 'stdout');
  assertNoSecret(result.stderr, 'stderr');
  for (const file of files) assertNoSecret(readFileSync(file, 'utf8'), file);
}

test('#12: -H @file sends each Name: value line; blank lines, # lines and CRLF are fine', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const headers = join(dir, 'headers.txt');
  writeFileSync(headers, `# credentials for the API\r\nAuthorization: Bearer ${FILE_TOKEN}\r\n\r\n  X-Tenant:  acme  \r\n`);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`]);
  const result = await runCli([input, '-H', `@${headers}`, '-H', 'X-Argv: yes']);
  assert.equal(result.code, 0, result.stderr);
  const sent = server.hits[0]!.headers;
  assert.equal(sent.authorization, `Bearer ${FILE_TOKEN}`);
  assert.equal(sent['x-tenant'], 'acme');
  assert.equal(sent['x-argv'], 'yes');
  assertRunLeaksNothing(result, []);
});

test('#12: -H @file mistakes are usage errors that name the file, never a line of it', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/never']);
  assertUsageError(await runCli([input, '-H', `@${join(dir, 'missing.txt')}`]), /-H cannot read .*missing\.txt: no such file/);
  assertUsageError(await runCli([input, '-H', `@${dir}`]), /-H cannot read .*directory/);
  assertUsageError(await runCli([input, '-H', '@']), /-H @ needs a file name/);
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, `X-Ok: 1\nBearer ${FILE_TOKEN}\n`);
  const result = await runCli([input, '-H', `@${bad}`]);
  assertUsageError(result, /-H @.*bad\.txt line 2 expects 'Name: value'/);
  assertNoSecret(result.stderr, 'the usage error');
});

test('#12: --env-headers fills $NAME and ${NAME} from the environment; $$ is a $; without the flag nothing is expanded', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${server.url}/items/1`]);
  const headers = join(dir, 'headers.txt');
  writeFileSync(headers, 'X-From-File: ${TENANT}-$$x\n');
  const env = { API_TOKEN: ENV_TOKEN, TENANT: 'acme' };
  const result = await runCli([input, '--env-headers', '-H', 'Authorization: Bearer $API_TOKEN', '-H', `@${headers}`], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(server.hits[0]!.headers.authorization, `Bearer ${ENV_TOKEN}`);
  assert.equal(server.hits[0]!.headers['x-from-file'], 'acme-$x');
  assertRunLeaksNothing(result, []);

  const literal = await runCli([input, '-H', 'X-Price: $5'], { env });
  assert.equal(literal.code, 0, literal.stderr);
  assert.equal(server.hits[1]!.headers['x-price'], '$5');
});

test('#12: a token from the environment or a -H @file is sent as it is, braces and all, never read as a {placeholder}', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  // With a template, {col} in a header is filled from the input; in a token it must not be.
  const input = writeLines(dir, 'ids.txt', ['1']);
  const braced = `${ENV_TOKEN}{cd}x`;
  const headers = join(dir, 'headers.txt');
  writeFileSync(headers, `X-File-Key: ${FILE_TOKEN}{ab}\n`);
  const result = await runCli([input, '-t', `${server.url}/items/{}`, '--env-headers', '-H', 'Authorization: Bearer $API_TOKEN', '-H', `@${headers}`], {
    env: { API_TOKEN: braced },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(server.hits[0]!.headers.authorization, `Bearer ${braced}`);
  assert.equal(server.hits[0]!.headers['x-file-key'], `${FILE_TOKEN}{ab}`);
  assertRunLeaksNothing(result, []);
  assert.doesNotMatch(result.stderr, /\{cd\}|\{ab\}/);
});

test('#12: --env-headers with an unset or empty variable is a usage error naming it, printing no value', async (t) => {
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/never']);
  const env = { API_TOKEN: ENV_TOKEN, EMPTY: '', MISSING_TOKEN: undefined };
  const unset = await runCli([input, '--env-headers', '-H', 'X-Other: $API_TOKEN', '-H', 'Authorization: Bearer ${MISSING_TOKEN}'], { env });
  assertUsageError(unset, /\$MISSING_TOKEN \(in the Authorization header\) is not set/);
  assertNoSecret(unset.stderr, 'the usage error');
  const empty = await runCli([input, '--env-headers', '-H', 'Authorization: Bearer $EMPTY'], { env });
  assertUsageError(empty, /\$EMPTY .* is empty/);
  // A value with a newline would be refused by undici on every request: refused once, unshown.
  const newline = await runCli([input, '--env-headers', '-H', 'Authorization: Bearer $API_TOKEN'], { env: { API_TOKEN: `${ENV_TOKEN}\nX-Injected: 1` } });
  assertUsageError(newline, /Authorization header value has a control character/);
  assertNoSecret(newline.stderr, 'the usage error');
});

test('#12: --location-trusted sends the token on to another host; without it the token stays behind', async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [`${a.url}/redirect-to?url=${encodeURIComponent(`${b.url}/items/1`)}`]);
  const args = [input, '--env-headers', '-H', 'Authorization: Bearer $API_TOKEN'];
  const env = { API_TOKEN: ENV_TOKEN };
  const plain = await runCli(args, { env });
  const trusted = await runCli([...args, '--location-trusted'], { env });
  for (const result of [plain, trusted]) {
    assert.equal(result.code, 0, result.stderr);
    assertRunLeaksNothing(result, []);
  }
  assert.deepEqual(
    a.hits.map((h) => h.headers.authorization),
    [`Bearer ${ENV_TOKEN}`, `Bearer ${ENV_TOKEN}`],
  );
  assert.deepEqual(
    b.hits.map((h) => h.headers.authorization),
    [undefined, `Bearer ${ENV_TOKEN}`],
  );
});

test('#12: no byte of any run holds a token (-H @file or env), a URL password or a secret query parameter', { timeout: 60_000 }, async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { host: '127.0.0.2' });
  const dir = tempDir(t);
  const hostA = new URL(a.url).host;
  const refused = await closedPort();
  const enc = encodeURIComponent;
  // Routes whose bodies echo nothing of the request: response bodies are data, not redacted.
  const lines = [
    `http://user:${PASSWORD}@${hostA}/items/1?api_key=${API_KEY}`,
    `${a.url}/status/500?api_key=${API_KEY}`, // retried, then HTTP_STATUS
    `${a.url}/status/429?retryAfter=1&api_key=${API_KEY}`, // a host pause, --verbose says so
    `http://user:${PASSWORD}@127.0.0.1:${refused}/x?api_key=${API_KEY}`, // CONNECTION_REFUSED
    `http://user:${PASSWORD}@${hostA}/bad path?api_key=${API_KEY}`, // INVALID_URL: the record quotes the line
    // Across origins (the credentials go along: --location-trusted), the target's query secret.
    `${a.url}/redirect-to?url=${enc(`${b.url}/items/2?api_key=${API_KEY}`)}`,
    // The same origin, to a URL that carries the tokens as plain values: they are known literals.
    `${a.url}/redirect-to?url=${enc(`/items/3?note=${FILE_TOKEN}&other=${ENV_TOKEN}`)}`,
    `${a.url}/redirect-to?url=${enc(`ftp://user:${PASSWORD}@example.invalid/f?api_key=${API_KEY}`)}`, // BAD_REDIRECT
  ];
  const input = writeLines(dir, 'urls.txt', lines);
  const headersFile = join(dir, 'headers.txt');
  // Each run holds both tokens: one in Authorization, one in a header whose name says nothing of
  // secrets (X-Vendor-Key), redacted because its value came from the file or the environment.
  writeFileSync(headersFile, `Authorization: Bearer ${FILE_TOKEN}\nX-Vendor-Key: ${ENV_TOKEN}\n`);
  const common = ['--verbose', '--progress', '--include-headers', '--retries', '1', '--max-backoff', '0.1', '--location-trusted'];

  const runs: Array<{ what: string; args: string[]; env?: Record<string, string> }> = [
    { what: '-H @file', args: ['-H', `@${headersFile}`] },
    {
      what: '--env-headers',
      args: ['--env-headers', '-H', 'Authorization: Bearer ${API_TOKEN}', '-H', 'X-Vendor-Key: $KEY'],
      env: { API_TOKEN: ENV_TOKEN, KEY: FILE_TOKEN },
    },
  ];
  for (const { what, args, env } of runs) {
    const out = join(dir, `out-${runs.findIndex((r) => r.what === what)}`);
    const files = [`${out}.ndjson`, `${out}.stats.json`, `${out}.failed.ndjson`];
    const hitsBefore = a.hits.length;
    const toFile = await runCli([input, ...args, ...common, '-o', files[0]!, '--stats-file', files[1]!, '--failed-output', files[2]!], {
      env,
      timeoutMs: 30_000,
    });
    const toStdout = await runCli([input, ...args, ...common], { env, timeoutMs: 30_000 });
    const dryRun = await runCli([input, ...args, '--dry-run'], { env });

    for (const result of [toFile, toStdout]) assert.equal(result.code, 1, `${what}: ${result.stderr}`);
    const records = parseRecords(toStdout.stdout);
    assertOneRecordPerLine(records, range(lines.length));
    assertOneRecordPerLine(parseRecords(readFileSync(files[0]!, 'utf8'), files[0]), range(lines.length));
    const byLine = new Map(records.map((r) => [r.line, r]));
    assert.deepEqual(
      range(lines.length).map((line) => byLine.get(line)!.error?.code ?? null),
      [null, 'HTTP_STATUS', 'HTTP_STATUS', 'CONNECTION_REFUSED', 'INVALID_URL', null, null, 'BAD_REDIRECT'],
      what,
    );
    assert.equal(byLine.get(2)!.attempts, 2, `${what}: the 500 was retried`);
    assert.match(String(byLine.get(7)!.finalUrl), /\/items\/3\?note=\[REDACTED\]&other=\[REDACTED\]$/, what);
    assert.equal(
      dryRun.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown).length,
      lines.length,
      `${what}: --dry-run plans every line`,
    );
    // The secrets were really in play: the servers got the token, on both origins.
    const token = what === '-H @file' ? FILE_TOKEN : ENV_TOKEN;
    assert.ok(
      a.hits.slice(hitsBefore).every((h) => h.headers.authorization === `Bearer ${token}`),
      `${what}: every request to a had the token`,
    );
    assert.ok(
      b.hits.some((h) => h.headers.authorization === `Bearer ${token}`),
      `${what}: --location-trusted took it to b`,
    );
    assert.match(toStdout.stderr, /^retry line 2 /m, `${what}: a --verbose retry line`);
    assert.match(toStdout.stderr, /^pause /m, `${what}: a --verbose pause line`);

    assertRunLeaksNothing(toFile, files);
    assertRunLeaksNothing(toStdout, []);
    assertRunLeaksNothing(dryRun, []);
  }
});
