// Issue #10 over real HTTP, through the library: templates ({}, {name}, {name:raw}), every
// input format (lines, CSV, TSV, NDJSON fields and specs), generators, curl globs, header and
// body placeholders, redaction of secret vars, --dedupe, dry run (planOnly), --expect-status
// and --schema. What the fixture server received is the evidence; the pure modules have
// their own unit tests.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { fetchAll, planOnly, readLines, UsageError, type FetchRecord, type InputItem, type RunOptions } from '../../src/index.js';
import { readCsv } from '../../src/input/csv.js';
import { readNdjson } from '../../src/input/ndjson.js';
import { generateItems, parseRange, parseValues } from '../../src/input/generators.js';
import { compileUrlGlob } from '../../src/input/glob.js';
import { RunStats } from '../../src/report/stats.js';
import type { FixtureServer } from '../../fixtures/server.js';
import { FAST, assertOneRecordPerInput, collect, lineNumbers, run, startServer } from '../helpers.js';

const TEST_TIMEOUT = { timeout: 15_000 };

const bytes = (text: string): Readable => Readable.from([Buffer.from(text)]);
const csv = (text: string): AsyncGenerator<InputItem> => readCsv(bytes(text), { delimiter: ',' });
const tsv = (text: string): AsyncGenerator<InputItem> => readCsv(bytes(text), { delimiter: '\t' });
const ndjson = (lines: unknown[], hasTemplate: boolean): AsyncGenerator<InputItem> =>
  readNdjson(bytes(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n'), { hasTemplate });

/** Hit paths, sorted (completion order is not input order unless concurrency is 1). */
const paths = (server: FixtureServer): string[] => server.hits.map((h) => h.path).sort();

function byLine(records: readonly FetchRecord[]): Map<number, FetchRecord> {
  return new Map(records.map((r) => [r.line, r]));
}

function get(records: readonly FetchRecord[], line: number): FetchRecord {
  const record = records.find((r) => r.line === line);
  assert.ok(record, `a record for line ${line}`);
  return record;
}

/** What /echo answered for a record. */
interface Echo {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}
const echoOf = (record: FetchRecord): Echo => record.body as Echo;

// ---------------------------------------------------------------------------------------------
// Template forms and input formats

test('#10: {} is the whole line, percent-encoded for the path and the query', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const lines = ['1', 'a b', 'x/y?z#w', 'ü&=+', "it's(*)!"];
  const { records } = await run(readLines(bytes(lines.join('\n'))), { template: `${server.url}/p/{}?q={}` });

  assertOneRecordPerInput(records, lineNumbers(lines.length));
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.map((r) => r.error)),
  );
  const encoded = ['1', 'a%20b', 'x%2Fy%3Fz%23w', '%C3%BC%26%3D%2B', 'it%27s%28%2A%29%21'];
  assert.deepEqual(paths(server), encoded.map((e) => `/p/${e}?q=${e}`).sort());
  // Each record names the URL that was sent for its own line.
  for (const [i, e] of encoded.entries()) assert.equal(get(records, i + 1).url, `${server.url}/p/${e}?q=${e}`);
});

test('#10: CSV: the header names placeholders, quoted commas and newlines survive, a malformed row is one INVALID_INPUT record', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = [
    'id,name', // 1
    '1,"Smith, J"', // 2
    '2,"two', // 3: a quoted field over two lines
    'lines"', // 4
    '3,"bad"x', // 5: text after a closing quote
    '4,plain', // 6
    '5', // 7: too few fields
    '6,"say ""hi"""', // 8
  ].join('\r\n');
  const { records } = await run(csv(text), { template: `${server.url}/items/{id}?name={name}` });

  assertOneRecordPerInput(records, [2, 3, 5, 6, 7, 8]);
  const bad = get(records, 5);
  assert.equal(bad.ok, false);
  assert.equal(bad.error?.code, 'INVALID_INPUT');
  assert.match(bad.error?.message ?? '', /^line 5: /);
  assert.equal(bad.attempts, 0);
  assert.equal(get(records, 7).error?.code, 'INVALID_INPUT');
  assert.match(get(records, 7).error?.message ?? '', /^line 7: expected 2 fields/);

  assert.deepEqual(get(records, 2).vars, { id: '1', name: 'Smith, J' });
  assert.deepEqual(get(records, 3).vars, { id: '2', name: 'two\r\nlines' });
  assert.deepEqual(get(records, 8).vars, { id: '6', name: 'say "hi"' });
  for (const line of [2, 3, 6, 8]) assert.equal(get(records, line).ok, true, `line ${line}: ${get(records, line).error?.message}`);
  assert.deepEqual(paths(server), ['/items/1?name=Smith%2C%20J', '/items/2?name=two%0D%0Alines', '/items/4?name=plain', '/items/6?name=say%20%22hi%22']);
});

test('#10: TSV rows fill placeholders; {name:raw} goes in unencoded', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = 'path\tq\n' + 'a/b\tx,y "z"\n' + 'c\t\n';
  const { records } = await run(tsv(text), { template: `${server.url}/p/{path:raw}/end?q={q}` });

  assertOneRecordPerInput(records, [2, 3]);
  assert.ok(
    records.every((r) => r.ok),
    JSON.stringify(records.map((r) => r.error)),
  );
  assert.deepEqual(get(records, 2).vars, { path: 'a/b', q: 'x,y "z"' });
  assert.deepEqual(paths(server), ['/p/a/b/end?q=x%2Cy%20%22z%22', '/p/c/end?q=']);
});

test('#10: NDJSON objects fill placeholders; a non-object line is an INVALID_INPUT record', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const input = ndjson(
    [
      { id: 1, tags: ['a', 'b'], on: true, c: 'x y' }, // 1
      '[1,2]', // 2
      '"just a string"', // 3
      '{not json', // 4
      { id: 'two', tags: {}, on: false, c: '' }, // 5
    ],
    true,
  );
  const { records } = await run(input, { template: `${server.url}/items/{id}?tags={tags}&on={on}&c={c}` });

  assertOneRecordPerInput(records, [1, 2, 3, 4, 5]);
  for (const line of [2, 3, 4]) {
    const record = get(records, line);
    assert.equal(record.error?.code, 'INVALID_INPUT', `line ${line}`);
    assert.match(record.error?.message ?? '', new RegExp(`^line ${line}: `));
  }
  assert.deepEqual(get(records, 1).vars, { id: '1', tags: '["a","b"]', on: 'true', c: 'x y' });
  assert.deepEqual(paths(server), ['/items/1?tags=%5B%22a%22%2C%22b%22%5D&on=true&c=x%20y', '/items/two?tags=%7B%7D&on=false&c=']);
});

test('#10: NDJSON request specs: own method, headers and JSON body reach the server; meta is copied verbatim', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const meta = { row: 7, tags: [1, null, 'é'], nested: { deep: { ok: false } } };
  const input = ndjson(
    [
      { url: `${server.url}/echo`, method: 'post', headers: { 'X-Trace': 't-1' }, body: { isrc: 'US"RC1', n: [1, 2] }, meta }, // 1
      { url: `${server.url}/echo`, method: 'PUT', headers: { 'Content-Type': 'text/plain' }, body: 'plain {} text', meta: 'a string' }, // 2
      { url: `${server.url}/items/9`, meta: null }, // 3
      { url: `${server.url}/items/9`, header: { a: 'b' } }, // 4: misspelt "headers"
      '42', // 5
      { method: 'GET' }, // 6: no url
    ],
    false,
  );
  const { records } = await run(input);

  assertOneRecordPerInput(records, [1, 2, 3, 4, 5, 6]);
  const post = get(records, 1);
  assert.equal(post.ok, true, post.error?.message);
  assert.equal(post.method, 'POST');
  assert.deepEqual(post.meta, meta);
  const echoed = echoOf(post);
  assert.equal(echoed.method, 'POST');
  assert.deepEqual(JSON.parse(echoed.body), { isrc: 'US"RC1', n: [1, 2] });
  assert.equal(echoed.headers['content-type'], 'application/json');
  assert.equal(echoed.headers['x-trace'], 't-1');

  const put = get(records, 2);
  assert.equal(echoOf(put).method, 'PUT');
  assert.equal(echoOf(put).body, 'plain {} text', 'a string body is sent as is');
  assert.equal(echoOf(put).headers['content-type'], 'text/plain');
  assert.equal(put.meta, 'a string');

  assert.equal(get(records, 3).ok, true);
  assert.ok('meta' in get(records, 3) && get(records, 3).meta === null, 'meta: null is copied too');
  for (const line of [4, 5, 6]) assert.equal(get(records, line).error?.code, 'INVALID_INPUT', `line ${line}`);
  assert.deepEqual(server.hits.map((h) => `${h.method} ${h.path}`).sort(), ['GET /items/9', 'POST /echo', 'PUT /echo']);
});

test('#10: --range × --values: the cartesian product in a stable order, line = position', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  // The first generator is the outer loop; concurrency 1 makes arrival order the start order.
  const { items, total } = generateItems([parseRange('id=1..3'), parseValues('kind=b,a')]);
  assert.equal(total, 6);
  const { records } = await run(items, { template: `${server.url}/items/{kind}-{id}`, concurrency: 1 });

  assertOneRecordPerInput(records, lineNumbers(6));
  const expected = ['b-1', 'a-1', 'b-2', 'a-2', 'b-3', 'a-3'];
  assert.deepEqual(
    server.hits.map((h) => h.path),
    expected.map((e) => `/items/${e}`),
  );
  for (const [i, e] of expected.entries()) {
    const record = get(records, i + 1);
    const [kind, id] = e.split('-');
    assert.deepEqual(record.vars, { id, kind });
    assert.equal(record.url, `${server.url}/items/${e}`);
  }
});

test('#10: --range with a step and zero padding', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { items } = generateItems([parseRange('n=00..20..10')]);
  const { records } = await run(items, { template: `${server.url}/items/{n}`, concurrency: 1 });
  assertOneRecordPerInput(records, [1, 2, 3]);
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/items/00', '/items/10', '/items/20'],
  );
});

test('#10: a glob-only template expands [1-5], [001-003], [a-e:2] and {a,b} in curl order', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const expand = (template: string): string[] => [...compileUrlGlob(template, { globoff: false })!.expand()];

  const five = await run(expand(`${server.url}/items/[1-5]`), { concurrency: 1 });
  assertOneRecordPerInput(five.records, lineNumbers(5));
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/items/1', '/items/2', '/items/3', '/items/4', '/items/5'],
  );

  server.hits.length = 0;
  const mixed = await run(expand(`${server.url}/{a,b}/[001-003:2]/[a-e:2]`), { concurrency: 1 });
  // 2 × 2 × 3, the first glob outermost and the last varying fastest.
  const expected = ['a', 'b'].flatMap((x) => ['001', '003'].flatMap((n) => ['a', 'c', 'e'].map((c) => `/${x}/${n}/${c}`)));
  assertOneRecordPerInput(mixed.records, lineNumbers(12));
  assert.deepEqual(
    server.hits.map((h) => h.path),
    expected,
  );
  for (const [i, path] of expected.entries()) assert.equal(get(mixed.records, i + 1).url, `${server.url}${path}`);
});

test('#10: an IPv6 host is never globbed, and ?filter[name]=x goes to the server as written', TEST_TIMEOUT, async (t) => {
  const server = await startIpv6Server(t);
  if (!server) return;
  const urls = [...compileUrlGlob(`${server.url}/items/[1-2]?filter[name]=x`, { globoff: false })!.expand()];
  assert.deepEqual(urls, [`${server.url}/items/1?filter[name]=x`, `${server.url}/items/2?filter[name]=x`]);
  // Without a range the template is a plain template: the brackets stay as they are.
  assert.equal(compileUrlGlob(`${server.url}/items/{}?filter[name]=y`, { globoff: false }), undefined);

  const globbed = await run(urls);
  const templated = await run(['7'], { template: `${server.url}/items/{}?filter[name]=y` });
  assertOneRecordPerInput(globbed.records, [1, 2]);
  assertOneRecordPerInput(templated.records, [1]);
  assert.ok(
    [...globbed.records, ...templated.records].every((r) => r.ok),
    JSON.stringify(globbed.records.map((r) => r.error)),
  );
  assert.deepEqual(paths(server), ['/items/1?filter[name]=x', '/items/2?filter[name]=x', '/items/7?filter[name]=y']);
  assert.equal(get(templated.records, 1).url, `${server.url}/items/7?filter[name]=y`);
});

// ---------------------------------------------------------------------------------------------
// Header and body placeholders

test('#10: placeholders in -H values and -d bodies: JSON-escaped in a JSON body, a literal {} stays', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = 'id,name,note\n' + '1,"say ""hi"" \\ bye","two\nlines\tand a tab"\n' + '2,plain,x\n';
  const { records } = await run(csv(text), {
    template: `${server.url}/echo?id={id}`,
    method: 'POST',
    headers: [
      ['X-Name', 'n={name}'],
      ['X-Fixed', '{} stays'],
    ],
    body: '{"name":"{name}","note":"{note}","literal":"{}","id":{id:raw}}',
  });

  assertOneRecordPerInput(records, [2, 4]);
  const first = echoOf(get(records, 2));
  assert.equal(first.method, 'POST');
  assert.equal(first.path, '/echo?id=1');
  // A quote, a backslash, a newline and a tab in values: the body stays one valid JSON document.
  assert.deepEqual(JSON.parse(first.body), { name: 'say "hi" \\ bye', note: 'two\nlines\tand a tab', literal: '{}', id: 1 });
  assert.equal(first.headers['x-name'], 'n=say "hi" \\ bye');
  assert.equal(first.headers['x-fixed'], '{} stays');
  assert.deepEqual(JSON.parse(echoOf(get(records, 4)).body), { name: 'plain', note: 'x', literal: '{}', id: 2 });
  assert.equal(server.hits.length, 2);
});

test('#10: a CR/LF in a value filling a header never injects a header', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(csv('id,name\n1,"a\r\nX-Injected: yes"\n2,fine\n'), {
    template: `${server.url}/echo?id={id}`,
    headers: [['X-Name', '{name}']],
  });
  assertOneRecordPerInput(records, [2, 4]);
  assert.equal(get(records, 2).ok, false, 'the request with a line break in a header value is not sent');
  assert.equal(get(records, 4).ok, true);
  assert.ok(
    server.hits.every((h) => h.headers['x-injected'] === undefined),
    'no injected header reached the server',
  );
  assert.deepEqual(paths(server), ['/echo?id=2']);
});

test('#10: a body that is not JSON gets the value as is', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(csv('q\n"a ""b"" & c"\n'), {
    template: `${server.url}/echo`,
    method: 'POST',
    headers: [['Content-Type', 'text/plain']],
    body: 'q={q}',
  });
  assertOneRecordPerInput(records, [2]);
  assert.equal(echoOf(get(records, 2)).body, 'q=a "b" & c');
});

// ---------------------------------------------------------------------------------------------
// Missing and unknown placeholders

test('#10: a placeholder with no value is a TEMPLATE_MISSING_VALUE record for that line, nothing sent for it', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const input = ndjson([{ id: 1, c: 'a' }, { id: 2 }, { id: 3, c: 'b' }, { c: 'z' }], true);
  const { records } = await run(input, { template: `${server.url}/items/{id}?c={c}`, headers: [['X-C', '{c}']] });

  assertOneRecordPerInput(records, [1, 2, 3, 4]);
  for (const [line, name] of [
    [2, 'c'],
    [4, 'id'],
  ] as const) {
    const record = get(records, line);
    assert.equal(record.ok, false);
    assert.equal(record.final, true);
    assert.equal(record.error?.code, 'TEMPLATE_MISSING_VALUE');
    assert.equal(record.error?.message, `line ${line}: no value for {${name}}`);
    assert.equal(record.attempts, 0);
  }
  assert.deepEqual(get(records, 2).vars, { id: '2' });
  assert.deepEqual(paths(server), ['/items/1?c=a', '/items/3?c=b']);
});

test('#10: NDJSON: a field missing from the first object only is a missing value for that line, not an unknown placeholder', TEST_TIMEOUT, async (t) => {
  // NDJSON has no header row: whether {c} is "unknown" cannot be told from the first object.
  const server = await startServer(t);
  const input = ndjson([{ id: 1 }, { id: 2, c: 'x' }], true);
  const { records } = await run(input, { template: `${server.url}/items/{id}?c={c}` });
  assertOneRecordPerInput(records, [1, 2]);
  assert.equal(get(records, 1).error?.code, 'TEMPLATE_MISSING_VALUE');
  assert.equal(get(records, 2).ok, true);
  assert.deepEqual(paths(server), ['/items/2?c=x']);
});

test('#10: an unknown placeholder is a UsageError before anything is sent', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = 'id,name\n1,a\n2,b\n';
  await assert.rejects(collect(fetchAll(csv(text), { ...FAST, template: `${server.url}/items/{nope}` })), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, /\{nope\}/);
    return true;
  });
  // The same for a placeholder only in a header or the body.
  await assert.rejects(collect(fetchAll(csv(text), { ...FAST, template: `${server.url}/items/{id}`, headers: [['X-A', '{nope}']] })), UsageError);
  await assert.rejects(collect(fetchAll(csv(text), { ...FAST, template: `${server.url}/items/{id}`, method: 'POST', body: '{"a":"{nope2}"}' })), /nope2/);
  assert.equal(server.hits.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Secret vars

const TOKEN_A = 'SECRET-TOKEN-AAAA';
const TOKEN_B = 'SECRET-TOKEN-BBBB';

function assertNoSecret(value: unknown, secrets: readonly string[], where: string): void {
  const text = JSON.stringify(value);
  for (const secret of secrets) {
    const at = text.indexOf(secret);
    assert.equal(at, -1, `${where} leaks ${secret}: …${text.slice(Math.max(0, at - 100), at + 40)}…`);
  }
}

test('#10: a value filling a secret header or query parameter is redacted in vars (records and planOnly)', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = `id,token,key\n1,${TOKEN_A},${TOKEN_B}\n2,${TOKEN_B},${TOKEN_A}\n`;
  const options: Partial<RunOptions> = {
    template: `${server.url}/items/{id}?api_key={key}`,
    headers: [['Authorization', 'Bearer {token}']],
  };
  const { records } = await run(csv(text), options);
  const planned = await collect(planOnly(csv(text), options));

  assertOneRecordPerInput(records, [2, 3]);
  assert.deepEqual(
    planned.map((p) => p.line),
    [2, 3],
  );
  for (const record of [...records, ...planned]) {
    assert.deepEqual(record.vars, { id: String(record.line - 1), token: '[REDACTED]', key: '[REDACTED]' });
  }
  assertNoSecret(records, [TOKEN_A, TOKEN_B], 'records');
  assertNoSecret(planned, [TOKEN_A, TOKEN_B], 'planOnly');
  // The server still got the real values.
  const auth = server.hits.map((h) => h.headers.authorization).sort();
  assert.deepEqual(auth, [`Bearer ${TOKEN_A}`, `Bearer ${TOKEN_B}`]);
  assert.deepEqual(paths(server), [`/items/1?api_key=${TOKEN_B}`, `/items/2?api_key=${TOKEN_A}`]);
});

test('#10: a secret value does not leak through the raw text of a TEMPLATE_MISSING_VALUE record', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const options: Partial<RunOptions> = { template: `${server.url}/items/{id}?c={c}`, headers: [['Authorization', 'Bearer {token}']] };
  const lines = [
    { id: 1, token: TOKEN_A, c: 'x' },
    { id: 2, token: TOKEN_B },
  ];
  const { records } = await run(ndjson(lines, true), options);
  const planned = await collect(planOnly(ndjson(lines, true), options));
  assertOneRecordPerInput(records, [1, 2]);
  assert.equal(get(records, 2).error?.code, 'TEMPLATE_MISSING_VALUE');
  assertNoSecret(get(records, 2), [TOKEN_B], 'the TEMPLATE_MISSING_VALUE record');
  assertNoSecret(planned, [TOKEN_A, TOKEN_B], 'planOnly');
});

test('#10: a secret value does not leak through the raw text of a malformed CSV row', TEST_TIMEOUT, async (t) => {
  // The row cannot be split into fields, but the run knows its template has secret columns.
  const server = await startServer(t);
  const malformed = await run(csv(`id,token\n1,${TOKEN_A}\n2,"${TOKEN_B}"x\n`), {
    template: `${server.url}/items/{id}`,
    headers: [['Authorization', 'Bearer {token}']],
  });
  assertOneRecordPerInput(malformed.records, [2, 3]);
  assert.equal(get(malformed.records, 3).error?.code, 'INVALID_INPUT');
  assertNoSecret(get(malformed.records, 3), [TOKEN_B], 'the INVALID_INPUT record');
});

test('#10: a value filling a --redact-param query parameter is redacted in vars', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { items } = generateItems([parseValues(`sid=${TOKEN_A}`)]);
  const { records } = await run(items, { template: `${server.url}/items/1?session={sid}`, redactParams: ['session'] });
  assertOneRecordPerInput(records, [1]);
  assert.equal(get(records, 1).url, `${server.url}/items/1?session=[REDACTED]`);
  assert.deepEqual(get(records, 1).vars, { sid: '[REDACTED]' });
});

// ---------------------------------------------------------------------------------------------
// --dedupe

test('#10: --dedupe fetches each request once; every duplicate gets its own record with duplicateOf and the same result', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const u = server.url;
  const lines = [
    `${u}/delay/150?d`, // 1: still in flight when its duplicates are read
    `${u}/items/1`, // 2
    `${u}/delay/150?d`, // 3 → 1
    `${u}/status/404`, // 4
    `${u}/items/1`, // 5 → 2
    `${u}/status/404`, // 6 → 4
    `${u}/delay/150?d`, // 7 → 1
    `${u}/items/2`, // 8
  ];
  const { records } = await run(lines, { dedupe: true, retries: 0 });

  assertOneRecordPerInput(records, lineNumbers(8));
  assert.deepEqual(paths(server), ['/delay/150?d', '/items/1', '/items/2', '/status/404']);
  const firstOf: Record<number, number> = { 3: 1, 5: 2, 6: 4, 7: 1 };
  for (const record of records) {
    const first = firstOf[record.line];
    if (first === undefined) {
      assert.equal(record.duplicateOf, undefined, `line ${record.line} was fetched`);
      continue;
    }
    const original = get(records, first);
    assert.equal(record.duplicateOf, first, `line ${record.line}`);
    for (const field of ['ok', 'status', 'key', 'url', 'attempts', 'final'] as const) {
      assert.deepEqual(record[field], original[field], `line ${record.line} ${field}`);
    }
    assert.deepEqual(record.body, original.body);
    assert.deepEqual(record.error, original.error);
  }
  assert.equal(get(records, 6).error?.code, 'HTTP_STATUS');
});

test(
  '#10: --dedupe keys on the filled request: each duplicate keeps its own vars; a header value that differs is a different request',
  TEST_TIMEOUT,
  async (t) => {
    const server = await startServer(t);
    const text = 'id,note,token\n' + '1,first,tok-a\n' + '1,second,tok-a\n' + '1,third,tok-b\n' + '2,x,tok-a\n';
    const { records } = await run(csv(text), {
      template: `${server.url}/items/{id}`,
      headers: [['X-Token', '{token}']],
      dedupe: true,
    });

    assertOneRecordPerInput(records, [2, 3, 4, 5]);
    assert.equal(server.hits.length, 3, JSON.stringify(server.hits.map((h) => [h.path, h.headers['x-token']])));
    assert.equal(get(records, 3).duplicateOf, 2);
    assert.deepEqual(get(records, 3).vars, { id: '1', note: 'second', token: 'tok-a' });
    assert.equal(get(records, 4).duplicateOf, undefined, 'another X-Token value is another request');
    assert.deepEqual(get(records, 2).vars, { id: '1', note: 'first', token: 'tok-a' });
  },
);

test('#10: --dedupe copies each duplicate its own meta from an NDJSON spec', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const url = `${server.url}/items/5`;
  const { records } = await run(ndjson([{ url, meta: { row: 'a' } }, { url, meta: { row: 'b' } }, { url }], false), { dedupe: true });
  assertOneRecordPerInput(records, [1, 2, 3]);
  assert.equal(server.hits.length, 1);
  assert.deepEqual(get(records, 2).meta, { row: 'b' });
  assert.equal(get(records, 2).duplicateOf, 1);
  assert.ok(!('meta' in get(records, 3)), 'no meta in the spec, none in its record');
});

// ---------------------------------------------------------------------------------------------
// Dry run

test('#10: planOnly plans every input with the keys a real run uses, redacted, and sends nothing', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const text = `id,token\n1,${TOKEN_A}\n2,"broken"x\n3,${TOKEN_B}\n`;
  const options: Partial<RunOptions> = {
    template: `${server.url}/echo?id={id}`,
    method: 'POST',
    headers: [
      ['Authorization', 'Bearer {token}'],
      ['X-Id', '{id}'],
    ],
    body: '{"id":"{id}"}',
  };
  const planned = await collect(planOnly(csv(text), options));
  assert.equal(server.hits.length, 0, 'nothing is sent');
  assert.deepEqual(
    planned.map((p) => p.line),
    [2, 3, 4],
  );

  const first = planned[0]!;
  assert.equal(first.ok, true);
  assert.equal(first.method, 'POST');
  assert.equal(first.url, `${server.url}/echo?id=1`);
  assert.equal(first.body, '{"id":"1"}');
  assert.equal(first.headers?.['Authorization'], '[REDACTED]');
  assert.equal(first.headers?.['X-Id'], '1');
  assert.equal(first.error, null);
  assert.equal(planned[1]!.ok, false);
  assert.equal(planned[1]!.error?.code, 'INVALID_INPUT');

  // A real run gives the same keys for the same lines.
  const { records } = await run(csv(text), options);
  assertOneRecordPerInput(records, [2, 3, 4]);
  for (const plan of planned) assert.equal(get(records, plan.line).key, plan.key, `line ${plan.line}`);
});

// ---------------------------------------------------------------------------------------------
// Response checks

test('#10: --expect-status 200,404: those are ok, any other status is not', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const { records } = await run(readLines(bytes('200\n404\n500\n201\n')), { template: `${server.url}/status/{}`, expectStatus: '200,404', retries: 0 });
  assertOneRecordPerInput(records, [1, 2, 3, 4]);
  const seen = byLine(records);
  assert.equal(seen.get(1)!.ok, true);
  assert.equal(seen.get(2)!.ok, true);
  assert.equal(seen.get(2)!.error, null);
  for (const line of [3, 4]) {
    assert.equal(seen.get(line)!.ok, false);
    assert.equal(seen.get(line)!.error?.code, 'HTTP_STATUS');
    assert.match(seen.get(line)!.error?.message ?? '', /not in --expect-status/);
  }
  assert.equal(server.hits.length, 4, 'a status outside the list is not retried when retries is 0');
});

test('#10: --schema: a mismatch is a final SCHEMA_MISMATCH with schemaErrors, and stats count mismatches by path', TEST_TIMEOUT, async (t) => {
  const server = await startServer(t);
  const document = {
    type: 'object',
    required: ['id', 'name'],
    properties: { id: { type: 'string', pattern: '^[0-9]+$' }, name: { type: 'string', maxLength: 6 } },
  };
  const stats = new RunStats();
  const { records } = await run(
    [`${server.url}/items/1`, `${server.url}/items/x`, `${server.url}/items/12`, `${server.url}/items/abc`, `${server.url}/text`, `${server.url}/status/404`],
    { schema: { document, source: 'item.json' }, retries: 0 },
    { onEvent: (event) => stats.onEvent(event) },
  );

  assertOneRecordPerInput(records, lineNumbers(6));
  assert.equal(get(records, 1).ok, true);
  assert.equal(get(records, 1).schemaErrors, undefined);
  const expected: Record<number, string[]> = { 2: ['/id'], 3: ['/name'], 4: ['/id', '/name'], 5: ['/'] };
  for (const [line, errorPaths] of Object.entries(expected)) {
    const record = get(records, Number(line));
    assert.equal(record.ok, false, `line ${line}`);
    assert.equal(record.final, true, `line ${line}: a mismatch will not change on retry`);
    assert.equal(record.status, 200);
    assert.equal(record.error?.code, 'SCHEMA_MISMATCH');
    assert.match(record.error?.message ?? '', /body does not match item\.json/);
    assert.deepEqual(record.schemaErrors?.map((e) => e.path).sort(), errorPaths, `line ${line}`);
    for (const error of record.schemaErrors ?? []) assert.ok(error.message.length > 0);
  }
  assert.equal(get(records, 5).schemaErrors?.[0]?.message, 'the body is not JSON');
  // The status check comes first: a 404 is HTTP_STATUS, not a schema mismatch.
  assert.equal(get(records, 6).error?.code, 'HTTP_STATUS');
  assert.equal(get(records, 6).schemaErrors, undefined);
  assert.deepEqual(stats.snapshot().schemaMismatchByPath, { '/id': 2, '/name': 2, '/': 1 });
});

/** A fixture server on ::1, or undefined (and the test skipped) where IPv6 loopback is missing. */
async function startIpv6Server(t: TestContext): Promise<FixtureServer | undefined> {
  try {
    return await startServer(t, { host: '::1' });
  } catch {
    t.skip('no IPv6 loopback here');
    return undefined;
  }
}
