// Exit codes and usage errors, as a cron job or a shell script sees them from outside.
// 0 all ok, 1 some record not ok, 2 usage error, 74 output error. Signals: signals.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  NO_SCRIPT,
  ROOT,
  STACK_LINE,
  assertOneRecordPerLine,
  assertUsageError,
  cliCommand,
  hasScript,
  parseRecords,
  runCli,
  runInPty,
  startServer,
  tempDir,
  writeLines,
} from './helpers.ts';

test('exit 0 when every record is ok', async (t) => {
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`, `${server.url}/text`]);
  const result = await runCli([input]);
  assert.equal(result.code, 0, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3]);
  assert.ok(records.every((r) => r.ok));
});

test('exit 1 when some record is not ok (a 404 in the list), and every input still gets its record', async (t) => {
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/status/404`, `${server.url}/items/2`]);
  const result = await runCli([input]);
  assert.equal(result.code, 1, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3]);
  const notFound = records.find((r) => r.line === 2)!;
  assert.equal(notFound.ok, false);
  assert.equal(notFound.status, 404);
  assert.equal(notFound.error?.code, 'HTTP_STATUS');
  assert.doesNotMatch(result.stderr, STACK_LINE);
});

test('exit 1 for an input line that is not a URL', async (t) => {
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, 'not a url']);
  const result = await runCli([input]);
  assert.equal(result.code, 1, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2]);
  assert.equal(records.find((r) => r.line === 2)?.error?.code, 'INVALID_URL');
});

describe('usage errors exit 2 with one sentence, the help hint, no stack, nothing on stdout', { concurrency: true }, () => {
  // The input file exists and its server is never contacted: a usage error stops before any request.
  const cases: Array<{ name: string; args: (input: string, dir: string) => string[]; mentions?: RegExp }> = [
    { name: '--rps abc', args: (i) => [i, '--rps', 'abc'], mentions: /--rps/ },
    { name: '--rps 0', args: (i) => [i, '--rps', '0'], mentions: /--rps/ },
    { name: '--rps -1', args: (i) => [i, '--rps', '-1'], mentions: /--rps/ },
    { name: '-c 0', args: (i) => [i, '-c', '0'], mentions: /concurrency/ },
    { name: '--body-format xml', args: (i) => [i, '--body-format', 'xml'], mentions: /--body-format/ },
    { name: 'an unknown flag', args: (i) => [i, '--bogus'], mentions: /--bogus/ },
    { name: 'a missing input file', args: (_i, dir) => [`${dir}/no-such-file.txt`], mentions: /no-such-file\.txt/ },
    { name: 'an input path that is a directory', args: (_i, dir) => [dir], mentions: /directory/ },
    { name: '--append without -o', args: (i) => [i, '--append'], mentions: /--append/ },
    { name: "-H 'novalue'", args: (i) => [i, '-H', 'novalue'], mentions: /-H/ },
    { name: 'two input arguments', args: (i) => [i, i] },
    { name: '--rps with no value', args: () => ['--rps'], mentions: /--rps/ },
    { name: '--rps 5/fortnight', args: (i) => [i, '--rps', '5/fortnight'], mentions: /--rps.*30\/min/ },
    { name: '--rps-max without --rps auto', args: (i) => [i, '--rps', '5', '--rps-max', '10'], mentions: /--rps-max goes with --rps auto/ },
    { name: '--host-rps 0', args: (i) => [i, '--host-rps', '0'], mentions: /--host-rps/ },
    { name: '--host-concurrency 0', args: (i) => [i, '--host-concurrency', '0'], mentions: /--host-concurrency/ },
    { name: '--limit without a rate unit', args: (i) => [i, '--limit', 'api.example.com=5'], mentions: /--limit.*api\.example\.com=5/ },
    { name: '--limit without =', args: (i) => [i, '--limit', 'api.example.com'], mentions: /PATTERN=RATE/ },
    { name: '--limit with a bad concurrency', args: (i) => [i, '--limit', 'a.com/x/*=5/s,0'], mentions: /concurrency/ },
    { name: '#27: --paginate with --next', args: (i) => [i, '--paginate', '--next', '.next'], mentions: /--paginate and --next/ },
    { name: '#27: --next that is not a path', args: (i) => [i, '--next', 'paging.next'], mentions: /--next/ },
    { name: '#27: --cursor without =', args: (i) => [i, '--cursor', '.meta.cursor'], mentions: /--cursor/ },
    { name: '#27: --max-pages without a way to page', args: (i) => [i, '--max-pages', '3'], mentions: /--max-pages goes with/ },
    { name: '#27: --max-pages 0', args: (i) => [i, '--paginate', '--max-pages', '0'], mentions: /--max-pages/ },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const server = await startServer(t);
      const dir = tempDir(t);
      const input = writeLines(dir, 'urls.txt', [`${server.url}/ok`]);
      const result = await runCli(c.args(input, dir));
      assertUsageError(result, c.mentions);
      assert.equal(server.countRequests(), 0, 'no request is sent after a usage error');
    });
  }

  // commander adds "(Did you mean --rps?)" on a line of its own after the message.
  test('a misspelled flag (--rsp) still gives one sentence, suggestion included', async (t) => {
    const dir = tempDir(t);
    const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/never']);
    const result = await runCli([input, '--rsp', '5']);
    assertUsageError(result, /--rsp/);
  });
});

test('no argument and stdin on a terminal: usage error instead of waiting for typing', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const dir = tempDir(t);
  // stdout and stderr go to files so the checks see exactly the CLI's streams; stdin is the pty.
  const result = await runInPty(`${cliCommand([])} >${dir}/out 2>${dir}/err`, { timeoutMs: 20_000 });
  assertUsageError({ ...result, stdout: readFileSync(`${dir}/out`, 'utf8'), stderr: readFileSync(`${dir}/err`, 'utf8') }, /input|stdin/);
});

test('-o /dev/full: exit 74 with one clear sentence, no stack', async (t) => {
  if (!existsSync('/dev/full')) return t.skip('/dev/full does not exist here');
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`]);
  const result = await runCli([input, '-o', '/dev/full']);
  assert.equal(result.code, 74, result.stderr);
  assert.equal(result.stdout, '');
  assert.doesNotMatch(result.stderr, STACK_LINE);
  assert.doesNotMatch(result.stderr, /internal error/);
  const about = result.stderr.split('\n').filter((l) => l.includes('/dev/full'));
  assert.equal(about.length, 1, `one sentence about the output:\n${result.stderr}`);
  assert.match(about[0]!, /^ratefetch: .*\/dev\/full.*(no space|ENOSPC)/);
});

test('-o /dev/full --quiet: the one sentence is all there is on stderr', async (t) => {
  if (!existsSync('/dev/full')) return t.skip('/dev/full does not exist here');
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`]);
  const result = await runCli([input, '-o', '/dev/full', '--quiet']);
  assert.equal(result.code, 74, result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^ratefetch: [^\n]*\/dev\/full[^\n]*\n$/);
});

test('--help exits 0 and shows every option with its default, the help groups and examples', async () => {
  const result = await runCli(['--help']);
  assert.equal(result.code, 0);
  // Human text: the design sends it to stderr; accept either stream, but never both.
  const help = result.stdout + result.stderr;
  assert.ok(result.stdout === '' || result.stderr === '', 'help is printed once');
  assert.doesNotMatch(help, /^(ratefetch: )?error:/im);

  for (const group of ['Input:', 'Rate:', 'Retries:', 'Request:', 'Pages:', 'Output:', 'Display:', 'Examples:']) {
    assert.match(help, new RegExp(`^${group}`, 'm'), `help group ${group}`);
  }
  assert.match(help, /^\s+\$ ratefetch /m, 'at least one example command');

  // One entry per option, continuation lines joined (commander wraps descriptions).
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of help.split('\n')) {
    const start = /^ {2}((?:-\w, )?--[\w-]+)/.exec(line);
    if (start) {
      current = start[1]!.replace(/^-\w, /, '');
      entries.set(current, line);
    } else if (current !== undefined && /^ {6,}\S/.test(line)) {
      entries.set(current, `${entries.get(current)} ${line.trim()}`);
    } else {
      current = undefined;
    }
  }
  // Every option, and the default each one must state (null: an action, an off-by-default switch or an optional path).
  const expected: Record<string, RegExp | null> = {
    '--version': null,
    '--help': null,
    '--rps': /default: no cap/,
    '--rps-max': null,
    '--host-rps': null,
    '--host-concurrency': null,
    '--limit': null,
    '--burst': /default: 1/,
    '--concurrency': /default: 8\b/,
    '--retries': /default: 5\b/,
    '--max-backoff': /default: 60\b/,
    '--max-retry-after': /default: 600\b/,
    '--timeout': /default: 30\b/,
    '--method': /default: "GET"/,
    '--header': null,
    '--env-headers': null,
    '--data': null,
    '--user-agent': /default: "ratefetch\/\d+\.\d+\.\d+"/,
    '--max-redirects': /default: 5\b/,
    '--location-trusted': null,
    '--http2': null,
    '--cacert': null,
    '--output': /stdout/,
    '--append': null,
    '--resume': null,
    '--retry-failed': null,
    '--body-format': /default: "auto"/,
    '--max-body': /default: 10485760\b/,
    '--include-headers': null,
    '--stats-file': null,
    '--redact-param': null,
    '--quiet': null,
    '--verbose': null,
    '--progress': null,
    '--no-progress': null,
    '--template': null,
    '--input-format': /default: from the file extension, else lines/,
    '--range': null,
    '--values': null,
    '--globoff': null,
    '--dedupe': null,
    '--dry-run': null,
    '--expect-status': /default: 2xx/,
    '--schema': null,
    '--failed-output': null,
    '--max-requests': null,
    '--max-error-rate': null,
    '--max-connection-failures': /default: 20\b/,
    '--auth-command': null,
    '--auth-ttl': null,
    '--oauth2-token-url': null,
    '--oauth2-client-id': null,
    '--oauth2-client-secret-file': null,
    '--oauth2-scope': null,
    '--paginate': null,
    '--next': null,
    '--cursor': null,
    '--max-pages': null,
    '--cache': null,
    '--cache-max-age': null,
    '--config': null,
    '--redis': null,
    '--name': null,
    '--local-workers': /default: 1\b/,
    '--stalled-after': /default: 30\b/,
    '--batch': null,
    '--batch-join': /default: ,\)/,
    '--batch-split': null,
    '--batch-key': null,
    '--save': null,
    '--max-filesize': null,
  };
  for (const [flag, defaultText] of Object.entries(expected)) {
    const entry = entries.get(flag);
    assert.ok(entry !== undefined, `--help lists ${flag}`);
    if (defaultText) assert.match(entry, defaultText, `${flag} shows its default: ${entry}`);
  }
  assert.deepEqual(
    [...entries.keys()].filter((f) => !(f in expected)),
    [],
    'every listed option is checked here',
  );
  // The exit codes a script needs are documented.
  for (const code of ['0', '1', '2', '74', '130']) assert.match(help, new RegExp(`\\b${code}\\b`), `exit code ${code} in --help`);
});

test('-h is --help', async () => {
  const result = await runCli(['-h']);
  assert.equal(result.code, 0);
  assert.match(result.stdout + result.stderr, /^Usage: ratefetch/m);
});

test('--version prints the version and exits 0', async () => {
  const version = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string }).version;
  const result = await runCli(['--version']);
  assert.equal(result.code, 0);
  assert.equal((result.stdout + result.stderr).trim(), version);
});
