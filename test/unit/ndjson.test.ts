import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readNdjson } from '../../src/input/ndjson.ts';
import type { InputItem } from '../../src/input/item.ts';

async function read(chunks: Array<string | Buffer>, hasTemplate: boolean, maxLineBytes?: number): Promise<InputItem[]> {
  const items: InputItem[] = [];
  const options = { hasTemplate, ...(maxLineBytes === undefined ? {} : { maxLineBytes }) };
  for await (const item of readNdjson(Readable.from(chunks, { objectMode: true }), options)) items.push(item);
  return items;
}

test('with a template, top-level values become placeholder text', async () => {
  const line = '{"s":"a b","n":4.5,"i":-3,"t":true,"f":false,"z":null,"o":{"k":[1,"x"]},"a":[1,2],"e":""}';
  const [item] = await read([`${line}\n`], true);
  assert.deepEqual(item, {
    line: 1,
    text: line,
    fields: { s: 'a b', n: '4.5', i: '-3', t: 'true', f: 'false', z: '', o: '{"k":[1,"x"]}', a: '[1,2]', e: '' },
  });
});

test('blank lines and # comments are skipped; CRLF is fine; line numbers are the file lines', async () => {
  const items = await read(['\n# a comment\r\n{"id":1}\r\n\r\n  {"id":2}  \n#{"id":3}\n{"id":4}'], true);
  assert.deepEqual(
    items.map((i) => [i.line, i.fields]),
    [
      [3, { id: '1' }],
      [5, { id: '2' }],
      [7, { id: '4' }],
    ],
  );
});

test('a key named __proto__ is a plain field', async () => {
  const [item] = await read(['{"__proto__":"x","id":1}\n'], true);
  assert.equal(Object.getPrototypeOf(item?.fields), Object.prototype);
  assert.equal(Object.hasOwn(item?.fields ?? {}, '__proto__'), true);
  // biome-ignore lint/suspicious/noProto: reads the own "__proto__" field the input set, which is the point of the test.
  assert.equal(item?.fields?.['__proto__'], 'x');
});

test('without a template, each object is a request spec', async () => {
  const lines = [
    '{"url":"https://a.example/1"}',
    '{"url":"https://a.example/2","method":"POST","headers":{"X-Id":"2"},"body":{"k":1},"meta":{"row":2}}',
    '{"url":"https://a.example/3","body":"raw text","meta":null}',
  ];
  const items = await read([lines.join('\n')], false);
  assert.deepEqual(items, [
    { line: 1, text: lines[0], spec: { url: 'https://a.example/1' } },
    {
      line: 2,
      text: lines[1],
      spec: { url: 'https://a.example/2', method: 'POST', headers: { 'X-Id': '2' }, body: { k: 1 }, meta: { row: 2 } },
    },
    { line: 3, text: lines[2], spec: { url: 'https://a.example/3', body: 'raw text', meta: null } },
  ]);
});

const invalidSpecs: Array<[string, string]> = [
  ['{"method":"GET"}', 'the "url" field is missing'],
  ['{"url":42}', '"url" must be a string, got a number'],
  ['{"url":null}', '"url" must be a string, got null'],
  ['{"url":"https://a/","method":5}', '"method" must be a string, got a number'],
  ['{"url":"https://a/","headers":["X: 1"]}', '"headers" must be an object of strings, got an array'],
  ['{"url":"https://a/","headers":{"X-Count":3}}', '"headers" must be an object of strings, but "X-Count" is a number'],
  [
    '{"url":"https://a/","header":{"Authorization":"secret"}}',
    'unknown field "header": a request has only url, method, headers, body, meta (put your own data in "meta")',
  ],
];

for (const [line, why] of invalidSpecs) {
  test(`an invalid spec names the field: ${line}`, async () => {
    const items = await read([`{"url":"https://ok/"}\n${line}\n`], false);
    assert.deepEqual(items[1], { line: 2, text: line, invalid: { code: 'INVALID_INPUT', message: `line 2: ${why}` } });
  });
}

const notObjects: Array<[string, string]> = [
  ['[1,2]', 'expected a JSON object, got an array'],
  ['"https://a/"', 'expected a JSON object, got a string'],
  ['42', 'expected a JSON object, got a number'],
  ['null', 'expected a JSON object, got null'],
];

for (const hasTemplate of [true, false]) {
  test(`lines that are not objects are invalid items with their line (hasTemplate: ${hasTemplate})`, async () => {
    const input = ['{"id":1}', ...notObjects.map(([line]) => line), '{"id":2'].join('\n');
    const items = await read([input], hasTemplate);
    assert.equal(items.length, notObjects.length + 2);
    for (const [i, [, why]] of notObjects.entries()) {
      assert.deepEqual(items[i + 1]?.invalid, { code: 'INVALID_INPUT', message: `line ${i + 2}: ${why}` });
    }
    const last = items.at(-1);
    assert.equal(last?.line, notObjects.length + 2);
    assert.match(last?.invalid?.message ?? '', /^line \d+: not valid JSON/);
  });
}

test('a JSON syntax error says where, but never quotes the line (it may hold a secret)', async () => {
  const [item] = await read(['{"url":"https://a/","headers":{"Authorization":"Bearer s3cr3t"} oops}\n'], false);
  assert.match(item?.invalid?.message ?? '', /^line 1: not valid JSON( \(at column \d+\))?$/);
  assert.doesNotMatch(item?.invalid?.message ?? '', /s3cr3t/);
});

test('an over-long line is one invalid item; the next line is read', async () => {
  const items = await read([`{"id":"${'x'.repeat(3000)}"}\n{"id":2}\n`], true, 1024);
  assert.equal(items.length, 2);
  assert.deepEqual(items[0]?.invalid, { code: 'INVALID_INPUT', message: 'line 1: the line is longer than 1024 bytes' });
  assert.equal(items[0]?.tooLong, undefined);
  assert.deepEqual(items[1], { line: 2, text: '{"id":2}', fields: { id: '2' } });
});

test('a BOM before the first object is ignored', async () => {
  const items = await read(['\uFEFF{"id":1}\n'], true);
  assert.deepEqual(items, [{ line: 1, text: '{"id":1}', fields: { id: '1' } }]);
});
