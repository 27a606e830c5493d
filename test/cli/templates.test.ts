// Issue #10 from the outside: spawn the CLI with templates, every input format, generators and
// globs, header and body placeholders, --dedupe, --dry-run, --expect-status, --schema and
// --failed-output, and check what the fixture server received, what stdout carried (NDJSON
// records only, one per input), the exit code, and that no secret value leaks.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertOneRecordPerLine,
  assertUsageError,
  parseRecords,
  range,
  runCli,
  spawnCli,
  startServer,
  tempDir,
  writeLines,
  type CliRecord,
  type CliResult,
  type FixtureServer,
} from './helpers.ts';

const TEST_TIMEOUT = { timeout: 20_000 };

function get(records: readonly CliRecord[], line: number): CliRecord {
  const record = records.find((r) => r.line === line);
  assert.ok(record, `a record for line ${line}`);
  return record;
}

const paths = (server: FixtureServer): string[] => server.hits.map((h) => h.path).sort();

function context(result: CliResult): string {
  return `\nexit ${result.code}\nstderr:\n${result.stderr}`;
}

/**
 * Parses --dry-run stdout: NDJSON planned lines (not records: no `final`, no result), each with
 * `line`, `key`, `ok`, `method`, `url` and `error`. Anything else on stdout fails the test.
 */
function parsePlanned(text: string): CliRecord[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `--dry-run stdout ends with a partial line: ${JSON.stringify(text.slice(-200))}`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      const value = JSON.parse(line) as CliRecord;
      for (const key of ['line', 'key', 'ok', 'method', 'url', 'error']) {
        assert.ok(key in value, `--dry-run line ${i + 1} has no "${key}": ${line.slice(0, 300)}`);
      }
      return value;
    });
}

/** What /echo answered. */
interface Echo {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Runs the CLI with a stdin pipe that stays open (a producer that never finishes): inputs that
 * come from flags must not wait for it. Fails fast if the run does not end.
 */
async function runWithOpenStdin(args: string[]): Promise<CliResult> {
  const running = spawnCli(args, { stdin: '', holdStdin: true, timeoutMs: 8_000 });
  try {
    const result = await running.result;
    assert.equal(result.timedOut, false, `ratefetch ${args.join(' ')} waited for stdin${context(result)}`);
    return result;
  } finally {
    running.child.stdin?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Input forms

test('#10: seq-style lines on stdin fill {} (the whole line)', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const result = await runCli(['-q', '-t', `${server.url}/items/{}`], { stdin: '1\n2\n3\n4\n5\n' });
  assert.equal(result.code, 0, context(result));
  assert.equal(result.stderr, '');
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(5));
  for (const record of records) {
    assert.equal(record.url, `${server.url}/items/${record.line}`);
    assert.deepEqual(record.body, { id: String(record.line), name: `item ${record.line}` });
  }
  assert.deepEqual(paths(server), ['/items/1', '/items/2', '/items/3', '/items/4', '/items/5']);
});

test('#10: a .csv file: header names placeholders, a quoted comma survives, a malformed row is one INVALID_INPUT record', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const rows = ['id,name', '1,"Smith, J"', '2,"bad"x', '3,plain', '4,"multi', 'line"'];
  const file = writeLines(dir, 'rows.csv', rows);
  const result = await runCli(['-q', file, '-t', `${server.url}/items/{id}?name={name}`]);
  assert.equal(result.code, 1, `a malformed row makes the run not ok${context(result)}`);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [2, 3, 4, 5]);
  const bad = get(records, 3);
  assert.equal(bad.error?.code, 'INVALID_INPUT');
  assert.match(bad.error?.message ?? '', /^line 3: /);
  assert.equal(bad.attempts, 0);
  assert.deepEqual(get(records, 2).vars, { id: '1', name: 'Smith, J' });
  assert.deepEqual(get(records, 5).vars, { id: '4', name: 'multi\nline' });
  assert.deepEqual(paths(server), ['/items/1?name=Smith%2C%20J', '/items/3?name=plain', '/items/4?name=multi%0Aline']);

  // The same bytes on stdin need --input-format (there is no extension to go by).
  server.hits.length = 0;
  const piped = await runCli(['-q', '--input-format', 'csv', '-t', `${server.url}/items/{id}?name={name}`], { stdin: rows.join('\n') + '\n' });
  assert.equal(piped.code, 1, context(piped));
  const pipedRecords = parseRecords(piped.stdout);
  assertOneRecordPerLine(pipedRecords, [2, 3, 4, 5]);
  assert.equal(get(pipedRecords, 3).error?.code, 'INVALID_INPUT');
  assert.equal(server.hits.length, 3);
});

test('#10: TSV from a .tsv file and from stdin with --input-format tsv', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const rows = ['id\tq', '1\ta,b', '2\tsay "hi"'];
  const file = writeLines(dir, 'rows.tsv', rows);
  const template = `${server.url}/items/{id}?q={q}`;
  const fromFile = await runCli(['-q', file, '-t', template]);
  const fromStdin = await runCli(['-q', '--input-format', 'tsv', '-t', template], { stdin: rows.join('\n') + '\n' });
  for (const result of [fromFile, fromStdin]) {
    assert.equal(result.code, 0, context(result));
    const records = parseRecords(result.stdout);
    assertOneRecordPerLine(records, [2, 3]);
    assert.deepEqual(get(records, 3).vars, { id: '2', q: 'say "hi"' });
  }
  assert.deepEqual(paths(server), ['/items/1?q=a%2Cb', '/items/1?q=a%2Cb', '/items/2?q=say%20%22hi%22', '/items/2?q=say%20%22hi%22']);
});

test('#10: NDJSON on stdin fills placeholders; a non-object line is INVALID_INPUT, a missing field TEMPLATE_MISSING_VALUE', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const stdin = ['{"id":1,"c":"x y"}', '[1,2]', '{"id":2}', '{"id":3,"c":"z"}'].join('\n') + '\n';
  const result = await runCli(['-q', '--input-format', 'ndjson', '-t', `${server.url}/items/{id}?c={c}`], { stdin });
  assert.equal(result.code, 1, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3, 4]);
  assert.equal(get(records, 2).error?.code, 'INVALID_INPUT');
  assert.match(get(records, 2).error?.message ?? '', /^line 2: expected a JSON object/);
  assert.equal(get(records, 3).error?.code, 'TEMPLATE_MISSING_VALUE');
  assert.equal(get(records, 3).error?.message, 'line 3: no value for {c}');
  assert.deepEqual(get(records, 3).vars, { id: '2' });
  assert.deepEqual(paths(server), ['/items/1?c=x%20y', '/items/3?c=z']);
});

test('#10: NDJSON: a field missing from the first object only is a missing value for that line, not a usage error', TEST_TIMEOUT, async (t) => {
  // NDJSON has no header row, so the first object does not define which placeholders exist.
  const server = await startServer(t);
  const stdin = '{"id":1}\n{"id":2,"c":"x"}\n';
  const result = await runCli(['-q', '--input-format', 'ndjson', '-t', `${server.url}/items/{id}?c={c}`], { stdin });
  assert.equal(result.code, 1, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2]);
  assert.equal(get(records, 1).error?.code, 'TEMPLATE_MISSING_VALUE');
  assert.deepEqual(paths(server), ['/items/2?c=x']);
});

test('#10: NDJSON request specs from a .ndjson file: POST with a JSON body reaches /echo, meta copied verbatim', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const meta = { source: 'crm', row: 17, tags: ['a', null], nested: { ok: true } };
  const file = writeLines(dir, 'requests.ndjson', [
    JSON.stringify({ url: `${server.url}/echo`, method: 'post', headers: { 'X-Trace': 'abc' }, body: { isrc: 'US"1', n: 2 }, meta }),
    JSON.stringify({ url: `${server.url}/items/4`, meta: 'plain' }),
    '42',
  ]);
  const result = await runCli(['-q', file]);
  assert.equal(result.code, 1, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3]);
  const post = get(records, 1);
  assert.equal(post.ok, true, post.error?.message);
  assert.equal(post.method, 'POST');
  assert.deepEqual(post.meta, meta);
  const echoed = post.body as Echo;
  assert.equal(echoed.method, 'POST');
  assert.deepEqual(JSON.parse(echoed.body), { isrc: 'US"1', n: 2 });
  assert.equal(echoed.headers['content-type'], 'application/json');
  assert.equal(echoed.headers['x-trace'], 'abc');
  assert.equal(get(records, 2).meta, 'plain');
  assert.equal(get(records, 3).error?.code, 'INVALID_INPUT');
  assert.deepEqual(server.hits.map((h) => `${h.method} ${h.path}`).sort(), ['GET /items/4', 'POST /echo']);
});

test('#10: --values × --range: the product in flag order, line = position, stdin not read', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const result = await runWithOpenStdin(['-q', '-c', '1', '--values', 'kind=b,a', '--range', 'id=1..3', '-t', `${server.url}/items/{kind}-{id}`]);
  assert.equal(result.code, 0, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(6));
  // --values came first, so it is the outer loop; concurrency 1 keeps arrivals in start order.
  const expected = ['b-1', 'b-2', 'b-3', 'a-1', 'a-2', 'a-3'];
  assert.deepEqual(
    server.hits.map((h) => h.path),
    expected.map((e) => `/items/${e}`),
  );
  for (const [i, e] of expected.entries()) {
    const [kind, id] = e.split('-');
    assert.deepEqual(get(records, i + 1).vars, { kind, id });
  }

  server.hits.length = 0;
  const stepped = await runWithOpenStdin(['-q', '-c', '1', '--range', 'n=1..1000..400', '-t', `${server.url}/items/{n}`]);
  assert.equal(stepped.code, 0, context(stepped));
  assertOneRecordPerLine(parseRecords(stepped.stdout), [1, 2, 3]);
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/items/1', '/items/401', '/items/801'],
  );
});

test('#10: a glob-only template ([1-5], {a,b}) makes the inputs: stdin is not read and the run ends', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const result = await runWithOpenStdin(['-q', '-c', '1', '-t', `${server.url}/items/[1-5]`]);
  assert.equal(result.code, 0, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(5));
  for (const record of records) assert.equal(record.url, `${server.url}/items/${record.line}`);
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/items/1', '/items/2', '/items/3', '/items/4', '/items/5'],
  );

  server.hits.length = 0;
  const braces = await runWithOpenStdin(['-q', '-c', '1', '-t', `${server.url}/{a,b}/[01-03:2]`]);
  assert.equal(braces.code, 0, context(braces));
  assertOneRecordPerLine(parseRecords(braces.stdout), range(4));
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/a/01', '/a/03', '/b/01', '/b/03'],
  );
});

test('#10: brackets that are not globs: an IPv6 host, ?filter[name]=y, and anything under -g reach the server as written', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const filtered = await runCli(['-q', '-t', `${server.url}/items/{}?filter[name]=y`], { stdin: 'x\n' });
  assert.equal(filtered.code, 0, context(filtered));
  assert.equal(parseRecords(filtered.stdout)[0]?.url, `${server.url}/items/x?filter[name]=y`);
  const globoff = await runCli(['-q', '-g', '-t', `${server.url}/items/{}/[1-2]`], { stdin: 'x\n' });
  assert.equal(globoff.code, 0, context(globoff));
  assertOneRecordPerLine(parseRecords(globoff.stdout), [1]);
  assert.deepEqual(paths(server), ['/items/x/[1-2]', '/items/x?filter[name]=y']);

  const v6 = await startIpv6Server(t);
  if (!v6) return;
  const globbed = await runWithOpenStdin(['-q', '-t', `${v6.url}/items/[1-2]?filter[name]=z`]);
  const literal = await runCli(['-q', '--globoff', '-t', `${v6.url}/items/{}`], { stdin: '7\n' });
  for (const result of [globbed, literal]) assert.equal(result.code, 0, context(result));
  assertOneRecordPerLine(parseRecords(globbed.stdout), [1, 2]);
  assertOneRecordPerLine(parseRecords(literal.stdout), [1]);
  assert.deepEqual(paths(v6), ['/items/1?filter[name]=z', '/items/2?filter[name]=z', '/items/7']);
});

// ---------------------------------------------------------------------------------------------
// Header and body placeholders

test('#10: -H and -d placeholders reach /echo; a " in a value is JSON-escaped; a literal {} stays', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const file = writeLines(dir, 'rows.csv', ['id,name', '1,"say ""hi"""', '2,plain']);
  const result = await runCli([
    '-q',
    file,
    '-t',
    `${server.url}/echo?id={id}`,
    '-X',
    'POST',
    '-H',
    'X-Name: {name}',
    '-H',
    'Content-Type: application/json',
    '-d',
    '{"name":"{name}","literal":"{}","id":{id:raw}}',
  ]);
  assert.equal(result.code, 0, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [2, 3]);
  const first = get(records, 2).body as Echo;
  assert.equal(first.method, 'POST');
  assert.equal(first.path, '/echo?id=1');
  assert.equal(first.headers['x-name'], 'say "hi"');
  assert.equal(first.body, '{"name":"say \\"hi\\"","literal":"{}","id":1}');
  assert.deepEqual(JSON.parse(first.body), { name: 'say "hi"', literal: '{}', id: 1 });
  assert.deepEqual(JSON.parse((get(records, 3).body as Echo).body), { name: 'plain', literal: '{}', id: 2 });
  assert.equal(server.hits.length, 2);
});

// ---------------------------------------------------------------------------------------------
// Usage errors: exit 2, nothing sent

test('#10: an unknown placeholder is a usage error (exit 2) and nothing is sent', TEST_TIMEOUT, async (t) => {
  // Unknown means no column of the CSV/TSV header and no generator gives it. NDJSON has no
  // header, so a field an object lacks is a missing value for that line (tested above).
  const server = await startServer(t);
  const dir = tempDir(t);
  const csv = writeLines(dir, 'rows.csv', ['id,name', '1,a', '2,b']);
  const cases: Array<[string[], string | undefined, RegExp]> = [
    [['-t', `${server.url}/items/{id}`], '1\n2\n', /\{id\}/], // line input fills only {}
    [[csv, '-t', `${server.url}/items/{nope}`], undefined, /\{nope\}/],
    [[csv, '-t', `${server.url}/items/{id}`, '-H', 'X-A: {nope}'], undefined, /\{nope\}/],
    [[csv, '-t', `${server.url}/items/{id}`, '-X', 'POST', '-d', '{"a":"{nope}"}'], undefined, /\{nope\}/],
    [['--range', 'id=1..3', '-t', `${server.url}/items/{id}/{nope}`], undefined, /\{nope\}/],
  ];
  for (const [args, stdin, mentions] of cases) {
    const result = await runCli(args, stdin === undefined ? {} : { stdin });
    assertUsageError(result, mentions);
  }
  assert.equal(server.hits.length, 0);
});

test('#10: an unknown placeholder is a usage error even when the first CSV row is malformed (no record printed first)', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const csv = writeLines(dir, 'rows.csv', ['id,name', '1,"a"x', '2,b']);
  const result = await runCli([csv, '-t', `${server.url}/items/{nope}`]);
  assertUsageError(result, /\{nope\}/);
  assert.equal(server.hits.length, 0);
});

test('#10: generator and glob mistakes are usage errors before anything is sent', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const file = writeLines(dir, 'urls.txt', [`${server.url}/items/1`]);
  const cases: Array<[string[], RegExp]> = [
    [['--range', 'id=5..1', '-t', `${server.url}/items/{id}`], /5\.\.1/],
    [['--range', 'id=a..z', '-t', `${server.url}/items/{id}`], /a\.\.z/],
    [['--range', 'id=1..3', '-t', `${server.url}/items/{id}`, file], /input file/],
    [['-t', `${server.url}/items/[1-3]`, file], /input file/],
    [['-t', `${server.url}/items/[1-3]/{id}`, '--range', 'id=1..2'], /glob/],
    [['-t', `${server.url}/items/[5-1]`], /\[5-1\]/],
  ];
  for (const [args, mentions] of cases) assertUsageError(await runWithOpenStdin(args), mentions);
  assert.equal(server.hits.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Secret vars

const TOKEN_A = 'SECRET-TOKEN-AAAA';
const TOKEN_B = 'SECRET-TOKEN-BBBB';

function assertNoSecret(text: string, where: string): void {
  for (const secret of [TOKEN_A, TOKEN_B]) {
    const at = text.indexOf(secret);
    assert.equal(at, -1, `${where} leaks ${secret}: …${text.slice(Math.max(0, at - 120), at + 40)}…`);
  }
}

test('#10: values filling a secret header or query parameter are redacted in vars, in records and in --dry-run', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const file = writeLines(dir, 'rows.csv', ['id,token,key', `1,${TOKEN_A},${TOKEN_B}`, `2,${TOKEN_B},${TOKEN_A}`]);
  const args = [file, '-t', `${server.url}/items/{id}?api_key={key}`, '-H', 'Authorization: Bearer {token}'];

  const dry = await runCli([...args, '--dry-run']);
  assert.equal(dry.code, 0, context(dry));
  assert.equal(server.hits.length, 0, '--dry-run sends nothing');
  const planned = parsePlanned(dry.stdout);
  assertOneRecordPerLine(planned, [2, 3]);
  assert.equal(get(planned, 2).headers?.['Authorization'], '[REDACTED]');

  const real = await runCli(args);
  assert.equal(real.code, 0, context(real));
  const records = parseRecords(real.stdout);
  assertOneRecordPerLine(records, [2, 3]);
  for (const record of [...planned, ...records]) {
    assert.deepEqual(record.vars, { id: String(record.line - 1), token: '[REDACTED]', key: '[REDACTED]' });
    assert.equal(record.url, `${server.url}/items/${record.line - 1}?api_key=[REDACTED]`);
  }
  assertNoSecret(dry.stdout + dry.stderr, '--dry-run');
  assertNoSecret(real.stdout + real.stderr, 'the run');
  assert.deepEqual(server.hits.map((h) => h.headers.authorization).sort(), [`Bearer ${TOKEN_A}`, `Bearer ${TOKEN_B}`]);
});

test('#10: a secret value does not leak through a failed record, on stdout, in --failed-output or in --dry-run', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const failed = join(dir, 'failed.ndjson');
  // Line 2 has no {c}: its TEMPLATE_MISSING_VALUE record must not show the token from the line.
  const stdin = [`{"id":1,"token":"${TOKEN_A}","c":"x"}`, `{"id":2,"token":"${TOKEN_B}"}`].join('\n') + '\n';
  const args = ['-q', '--input-format', 'ndjson', '-t', `${server.url}/items/{id}?c={c}`, '-H', 'Authorization: Bearer {token}'];
  const result = await runCli([...args, '--failed-output', failed], { stdin });
  assert.equal(result.code, 1, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2]);
  assert.equal(get(records, 2).error?.code, 'TEMPLATE_MISSING_VALUE');
  const failedText = readFileSync(failed, 'utf8');
  assertOneRecordPerLine(parseRecords(failedText, 'failed-output'), [2]);
  const dry = await runCli([...args, '--dry-run'], { stdin });
  assert.equal(dry.code, 1, context(dry));
  // Every place is checked before failing, so the report names them all.
  const leaks = [
    ['stdout', result.stdout],
    ['--failed-output', failedText],
    ['--dry-run', dry.stdout],
  ]
    .filter(([, text]) => text!.includes(TOKEN_B))
    .map(([where]) => where);
  assert.deepEqual(leaks, [], `${TOKEN_B} leaks through the TEMPLATE_MISSING_VALUE line in: ${leaks.join(', ')}\n${result.stdout}`);
  assertNoSecret(result.stdout + failedText + dry.stdout, 'the outputs');
});

test('#10: a value filling a --redact-param query parameter is redacted in vars', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const result = await runCli(['-q', '--values', `sid=${TOKEN_A}`, '--redact-param', 'session', '-t', `${server.url}/items/1?session={sid}`]);
  assert.equal(result.code, 0, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1]);
  assert.equal(get(records, 1).url, `${server.url}/items/1?session=[REDACTED]`);
  assertNoSecret(result.stdout, 'stdout');
});

// ---------------------------------------------------------------------------------------------
// --dedupe, --dry-run, --expect-status, --schema, --failed-output

test('#10: --dedupe fetches each request once; each duplicate has its own record with duplicateOf and the same result', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const result = await runCli(['-q', '--dedupe', '-t', `${server.url}/items/{}`], { stdin: '1\n2\n1\n1\n3\n2\n' });
  assert.equal(result.code, 0, context(result));
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(6));
  assert.deepEqual(paths(server), ['/items/1', '/items/2', '/items/3'], 'one hit per distinct request');
  const firstOf: Record<number, number> = { 3: 1, 4: 1, 6: 2 };
  for (const record of records) {
    const first = firstOf[record.line];
    assert.equal(record.duplicateOf, first, `line ${record.line}`);
    if (first === undefined) continue;
    const original = get(records, first);
    assert.equal(record.status, original.status);
    assert.equal(record.ok, original.ok);
    assert.equal(record.key, original.key);
    assert.deepEqual(record.body, original.body);
  }
});

test('#10: --dry-run prints one planned line per input and sends nothing', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const result = await runCli(['--dry-run', '-X', 'PUT', '-t', `${server.url}/items/{}`, '-d', '{"v":"{}"}'], { stdin: '1\na b\n\n# comment\n3\n' });
  assert.equal(result.code, 0, context(result));
  const planned = parsePlanned(result.stdout);
  assertOneRecordPerLine(planned, [1, 2, 5]);
  assert.equal(get(planned, 2).url, `${server.url}/items/a%20b`);
  assert.equal(get(planned, 2).method, 'PUT');
  assert.equal(get(planned, 2).body, '{"v":"{}"}');
  assert.equal(server.hits.length, 0);

  // An input that cannot be planned is a not-ok line, and the exit code says so.
  const invalid = await runCli(['--dry-run', '--input-format', 'ndjson', '-t', `${server.url}/items/{id}`], { stdin: '{"id":1}\n[2]\n' });
  assert.equal(invalid.code, 1, context(invalid));
  const lines = parsePlanned(invalid.stdout);
  assertOneRecordPerLine(lines, [1, 2]);
  assert.equal(get(lines, 2).error?.code, 'INVALID_INPUT');
  assert.equal(server.hits.length, 0);
});

test('#10: --expect-status 200,404: 404 is ok, other statuses are not', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const okOnly = await runCli(['-q', '--expect-status', '200,404', '-t', `${server.url}/status/{}`], { stdin: '200\n404\n' });
  assert.equal(okOnly.code, 0, context(okOnly));
  assert.ok(parseRecords(okOnly.stdout).every((r) => r.ok));
  const mixed = await runCli(['-q', '--retries', '0', '--expect-status', '200,404', '-t', `${server.url}/status/{}`], { stdin: '200\n404\n500\n201\n' });
  assert.equal(mixed.code, 1, context(mixed));
  const records = parseRecords(mixed.stdout);
  assertOneRecordPerLine(records, [1, 2, 3, 4]);
  assert.deepEqual(
    records
      .filter((r) => !r.ok)
      .map((r) => [r.line, r.status, r.error?.code])
      .sort(),
    [
      [3, 500, 'HTTP_STATUS'],
      [4, 201, 'HTTP_STATUS'],
    ],
  );
});

test(
  '#10: --schema mismatches are SCHEMA_MISMATCH with schemaErrors, counted by path on stderr and in --stats-file; --failed-output gets every not-ok record',
  TEST_TIMEOUT,
  async (t) => {
    const server = await startServer(t);
    const dir = tempDir(t);
    const schema = join(dir, 'item.json');
    writeFileSync(
      schema,
      JSON.stringify({
        type: 'object',
        required: ['id', 'name'],
        properties: { id: { type: 'string', pattern: '^[0-9]+$' }, name: { type: 'string', maxLength: 6 } },
      }),
    );
    const stats = join(dir, 'stats.json');
    const failed = join(dir, 'failed.ndjson');
    const result = await runCli(
      ['--no-progress', '--retries', '0', '--schema', schema, '--stats-file', stats, '--failed-output', failed, '-t', `${server.url}/{:raw}`],
      { stdin: 'items/1\nitems/x\nitems/12\nitems/abc\nstatus/404\ntext\n' },
    );
    assert.equal(result.code, 1, context(result));
    const records = parseRecords(result.stdout);
    assertOneRecordPerLine(records, range(6));
    assert.equal(get(records, 1).ok, true);
    const expected: Record<number, string[]> = { 2: ['/id'], 3: ['/name'], 4: ['/id', '/name'], 6: ['/'] };
    for (const [line, errorPaths] of Object.entries(expected)) {
      const record = get(records, Number(line));
      assert.equal(record.error?.code, 'SCHEMA_MISMATCH', `line ${line}`);
      const schemaErrors = record.schemaErrors as Array<{ path: string; message: string }>;
      assert.deepEqual(schemaErrors.map((e) => e.path).sort(), errorPaths, `line ${line}`);
      assert.ok(schemaErrors.every((e) => typeof e.message === 'string' && e.message !== ''));
    }
    assert.equal(get(records, 5).error?.code, 'HTTP_STATUS');

    assert.match(result.stderr, /^\s*schema\s+mismatches by path: .*$/m);
    const schemaLine = result.stderr.split('\n').find((l) => /^\s*schema\s/.test(l)) ?? '';
    assert.match(schemaLine, /\/id ×2/);
    assert.match(schemaLine, /\/name ×2/);
    const statsJson = JSON.parse(readFileSync(stats, 'utf8')) as { schemaMismatchesByPath: Record<string, number>; failedByCode: Record<string, number> };
    assert.deepEqual(statsJson.schemaMismatchesByPath, { '/id': 2, '/name': 2, '/': 1 });
    assert.deepEqual(statsJson.failedByCode, { SCHEMA_MISMATCH: 4, HTTP_STATUS: 1 });

    // --failed-output: the not-ok records, exactly as on stdout.
    const failedRecords = parseRecords(readFileSync(failed, 'utf8'), 'failed-output');
    assertOneRecordPerLine(failedRecords, [2, 3, 4, 5, 6]);
    for (const record of failedRecords) assert.deepEqual(record, get(records, record.line));
  },
);

/** A fixture server on ::1, or undefined (that part skipped) where IPv6 loopback is missing. */
async function startIpv6Server(t: TestContext): Promise<FixtureServer | undefined> {
  try {
    return await startServer(t, { host: '::1' });
  } catch {
    t.diagnostic('no IPv6 loopback here: the [::1] part is skipped');
    return undefined;
  }
}
