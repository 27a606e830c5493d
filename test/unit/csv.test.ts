import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readCsv } from '../../src/input/csv.ts';
import type { InputItem } from '../../src/input/item.ts';
import { UsageError } from '../../src/errors.ts';

type Delimiter = ',' | '\t';

async function read(chunks: Array<string | Buffer>, delimiter: Delimiter = ',', maxRowBytes?: number): Promise<InputItem[]> {
  const items: InputItem[] = [];
  const source = Readable.from(chunks, { objectMode: true });
  for await (const item of readCsv(source, { delimiter, ...(maxRowBytes === undefined ? {} : { maxRowBytes }) })) items.push(item);
  return items;
}

/** The same input fed one byte at a time: chunk boundaries must not change anything. */
function bytewise(text: string): Buffer[] {
  return [...Buffer.from(text)].map((byte) => Buffer.from([byte]));
}

/** A compact view of an item: `line text -> fields` or `line INVALID message`. */
function show(item: InputItem): string {
  if (item.invalid) return `${item.line} INVALID ${item.invalid.message}`;
  return `${item.line} ${JSON.stringify(item.text)} -> ${JSON.stringify(item.fields)}`;
}

const cases: Array<{ name: string; input: string; delimiter?: Delimiter; expected: string[] }> = [
  {
    name: 'plain rows; the header is line 1',
    input: 'id,name\n1,ann\n2,bob\n',
    expected: ['2 "1,ann" -> {"id":"1","name":"ann"}', '3 "2,bob" -> {"id":"2","name":"bob"}'],
  },
  {
    name: 'a comma and doubled quotes inside quotes',
    input: 'id,q\n1,"a,b"\n2,"say ""hi"""\n',
    expected: ['2 "1,\\"a,b\\"" -> {"id":"1","q":"a,b"}', '3 "2,\\"say \\"\\"hi\\"\\"\\"" -> {"id":"2","q":"say \\"hi\\""}'],
  },
  {
    name: 'a newline inside quotes: the row keeps its start line and the next row is right',
    input: 'id,q\n1,"two\nlines"\n2,x\n3,"three\n\nlines"\n4,y\n',
    expected: [
      '2 "1,\\"two\\nlines\\"" -> {"id":"1","q":"two\\nlines"}',
      '4 "2,x" -> {"id":"2","q":"x"}',
      '5 "3,\\"three\\n\\nlines\\"" -> {"id":"3","q":"three\\n\\nlines"}',
      '8 "4,y" -> {"id":"4","q":"y"}',
    ],
  },
  {
    name: 'CRLF, also inside quotes (csv-parse alone would count it twice)',
    input: 'id,q\r\n1,"a\r\nb"\r\n2,c\r\n3,d',
    expected: ['2 "1,\\"a\\r\\nb\\"" -> {"id":"1","q":"a\\r\\nb"}', '4 "2,c" -> {"id":"2","q":"c"}', '5 "3,d" -> {"id":"3","q":"d"}'],
  },
  {
    name: 'a BOM at the start is dropped',
    input: '\uFEFFid,name\r\n1,ann\r\n',
    expected: ['2 "1,ann" -> {"id":"1","name":"ann"}'],
  },
  {
    name: 'blank and whitespace-only lines are not inputs, before and after the header',
    input: '\n\nid,name\n\n1,ann\n   \n\r\n2,bob\n\n',
    expected: ['5 "1,ann" -> {"id":"1","name":"ann"}', '8 "2,bob" -> {"id":"2","name":"bob"}'],
  },
  {
    name: 'an empty quoted value is a value, not a blank line',
    input: 'q\n""\nx\n',
    expected: ['2 "\\"\\"" -> {"q":""}', '3 "x" -> {"q":"x"}'],
  },
  {
    name: 'header names are trimmed; values are kept as written',
    input: 'id , name\n1, ann \n',
    expected: ['2 "1, ann " -> {"id":"1","name":" ann "}'],
  },
  {
    name: 'a lone CR ends lines too (old Mac files)',
    input: 'id,q\r1,a\r2,b\r',
    expected: ['2 "1,a" -> {"id":"1","q":"a"}', '3 "2,b" -> {"id":"2","q":"b"}'],
  },
  {
    name: 'TSV: tabs split, commas do not, a quoted field may hold a tab',
    input: 'id\tq\n1\ta,b\n2\t"x\ty"\n',
    delimiter: '\t',
    expected: ['2 "1\\ta,b" -> {"id":"1","q":"a,b"}', '3 "2\\t\\"x\\ty\\"" -> {"id":"2","q":"x\\ty"}'],
  },
  {
    name: 'TSV: a quote inside an unquoted field is text',
    input: 'id\tsize\n1\t5" screen\n',
    delimiter: '\t',
    expected: ['2 "1\\t5\\" screen" -> {"id":"1","size":"5\\" screen"}'],
  },
  {
    name: 'TSV: a field that opens a quote and never closes it is one invalid line',
    input: 'id\tq\n1\t"open\n2\tok\n',
    delimiter: '\t',
    expected: ['2 INVALID line 2: a quoted field is never closed', '3 "2\\tok" -> {"id":"2","q":"ok"}'],
  },
  {
    name: 'the wrong number of fields is one invalid item; reading goes on',
    input: 'a,b\n1\n1,2,3\n1,2,\n4,5\n',
    expected: [
      '2 INVALID line 2: expected 2 fields as in the header, got 1',
      '3 INVALID line 3: expected 2 fields as in the header, got 3',
      '4 INVALID line 4: expected 2 fields as in the header, got 3',
      '5 "4,5" -> {"a":"4","b":"5"}',
    ],
  },
  {
    name: 'a quote inside an unquoted CSV field; the next row is read',
    input: 'a,b\n1,5" screen\n2,ok\n',
    expected: ['2 INVALID line 2: a quote inside an unquoted field (quote the whole field and double the quotes inside it)', '3 "2,ok" -> {"a":"2","b":"ok"}'],
  },
  {
    name: 'text after a closing quote; reading resumes after the line with the error',
    input: 'a,b\n1,"x\ny"z\n2,ok\n',
    expected: ['2 INVALID line 2: a closing quote is followed by text instead of a comma or the end of the line', '4 "2,ok" -> {"a":"2","b":"ok"}'],
  },
  {
    name: 'an unclosed quote: the row is its first line, and the rows after it are read',
    input: 'a,b\n1,ok\n2,"oops\n3,fine\n4,fine',
    expected: [
      '2 "1,ok" -> {"a":"1","b":"ok"}',
      '3 INVALID line 3: a quoted field is never closed',
      '4 "3,fine" -> {"a":"3","b":"fine"}',
      '5 "4,fine" -> {"a":"4","b":"fine"}',
    ],
  },
];

for (const { name, input, delimiter, expected } of cases) {
  test(`csv: ${name}`, async () => {
    assert.deepEqual((await read([input], delimiter)).map(show), expected);
  });
  test(`csv: ${name} (fed one byte at a time)`, async () => {
    assert.deepEqual((await read(bytewise(input), delimiter)).map(show), expected);
  });
}

test('an invalid item keeps the raw row as its text', async () => {
  const items = await read(['a,b\n1,2,3\n"x"y,1\n']);
  assert.deepEqual(
    items.map((i) => i.text),
    ['1,2,3', '"x"y,1'],
  );
  assert.equal(items[0]?.invalid?.code, 'INVALID_INPUT');
});

test('multi-byte characters split across chunks decode whole', async () => {
  const bytes = Buffer.from('név,b\n"é,ü",😀\n');
  const items = await read([bytes.subarray(0, 2), bytes.subarray(2, 12), bytes.subarray(12)]);
  assert.deepEqual(items, [{ line: 2, text: '"é,ü",😀', columns: ['név', 'b'], fields: { név: 'é,ü', b: '😀' } }]);
});

test('a column named __proto__ is a plain field', async () => {
  const [item] = await read(['__proto__,x\n1,2\n']);
  assert.equal(Object.getPrototypeOf(item?.fields), Object.prototype);
  assert.equal(Object.hasOwn(item?.fields ?? {}, '__proto__'), true);
  // biome-ignore lint/suspicious/noProto: reads the own "__proto__" field the input set, which is the point of the test.
  assert.equal(item?.fields?.['__proto__'], '1');
});

test('a row over the cap is one invalid item with only its start kept; reading goes on', async () => {
  const long = 'x'.repeat(500);
  for (const chunks of [[`a,b\n1,2\n${long},1\n3,4\n`], bytewise(`a,b\n1,2\n${long},1\n3,4\n`)]) {
    const items = await read(chunks, ',', 100);
    assert.deepEqual(
      items.map((i) => i.line),
      [2, 3, 4],
    );
    assert.equal(items[1]?.invalid?.message, 'line 3: the row is longer than 100 bytes');
    // Only the start is kept: at most 256 characters (fewer when the cap is tiny and the row arrives in pieces).
    const text = items[1]?.text ?? '';
    assert.ok(text.length > 100 && text.length <= 256 && long.startsWith(text), `kept ${text.length} characters`);
    assert.deepEqual(items[2]?.fields, { a: '3', b: '4' });
  }
});

test('an unclosed quote in a big file stops at the cap instead of reading to the end', async () => {
  const rows = Array.from({ length: 200 }, (_, i) => `${i},x\n`).join('');
  const items = await read([`a,b\n"open,1\n`, rows], ',', 100);
  assert.equal(items[0]?.line, 2);
  assert.match(items[0]?.invalid?.message ?? '', /^line 2: the row is longer than 100 bytes; is a quote left open\?$/);
  assert.equal(items[0]?.text, '"open,1');
  // Every later line is still an item of its own.
  assert.equal(items.length, 201);
  assert.deepEqual(items[200], { line: 202, text: '199,x', columns: ['a', 'b'], fields: { a: '199', b: 'x' } });
});

test('every physical row yields one item with a distinct line, however broken', async () => {
  const input = [
    'a,b', // 1
    '1,2', // 2
    '3', // 3: too few fields
    '"4,5', // 4: opens a quote that line 5 closes badly, so lines 4-5 are one broken row
    '6,"7"8', // 5
    '9,10', // 6
    '11,"12', // 7: a quoted newline; lines 7-8 are one row
    '13"', // 8
    '15,16,17', // 9: too many fields
    '"18', // 10: never closed
  ].join('\n');
  const expected = [
    '2 "1,2" -> {"a":"1","b":"2"}',
    '3 INVALID line 3: expected 2 fields as in the header, got 1',
    '4 INVALID line 4: a closing quote is followed by text instead of a comma or the end of the line',
    '6 "9,10" -> {"a":"9","b":"10"}',
    '7 "11,\\"12\\n13\\"" -> {"a":"11","b":"12\\n13"}',
    '9 INVALID line 9: expected 2 fields as in the header, got 3',
    '10 INVALID line 10: a quoted field is never closed',
  ];
  assert.deepEqual((await read([input])).map(show), expected);
  assert.deepEqual((await read(bytewise(input))).map(show), expected);
});

test('header problems are usage errors, thrown before any item', async () => {
  const cases: Array<[string, RegExp]> = [
    ['id,,name\n1,2,3\n', /^Expected every column of the CSV header row \(line 1\) to have a name; column 2 has none\.$/],
    ['id,name,id\n1,2,3\n', /^Expected the CSV header row \(line 1\) to name each column once; `id` appears twice\.$/],
    ['\n"id,name\n1,2\n', /^Could not read the CSV header row \(line 2\): a quoted field is never closed\.$/],
  ];
  for (const [input, message] of cases) {
    const iterator = readCsv(Readable.from([input]), { delimiter: ',' });
    await assert.rejects(iterator.next(), (error: unknown) => error instanceof UsageError && message.test(error.message));
  }
  const tsv = readCsv(Readable.from(['a\ta\n']), { delimiter: '\t' });
  await assert.rejects(tsv.next(), /TSV header row \(line 1\) to name each column once; `a` appears twice/);
});

test('empty input, or a header alone, yields nothing', async () => {
  assert.deepEqual(await read([]), []);
  assert.deepEqual(await read(['\uFEFF']), []);
  assert.deepEqual(await read(['\n\n']), []);
  assert.deepEqual(await read(['id,name\n']), []);
});

test('reads with backpressure: the first item comes before the source is drained', async () => {
  let pulled = 0;
  async function* source(): AsyncGenerator<string> {
    yield 'id\n';
    for (let i = 0; i < 1_000_000; i++) {
      pulled++;
      yield `${i}\n`;
    }
  }
  for await (const item of readCsv(source(), { delimiter: ',' })) {
    assert.deepEqual(item, { line: 2, text: '0', columns: ['id'], fields: { id: '0' } });
    break;
  }
  assert.ok(pulled < 10, `pulled ${pulled} chunks for one item`);
});

test('the input format is detected from obvious extensions only', async () => {
  const { detectInputFormat, isInputFormat, INPUT_FORMATS } = await import('../../src/input/format.ts');
  const cases: Array<[string | undefined, string | undefined]> = [
    ['rows.csv', 'csv'],
    ['/data/ROWS.CSV', 'csv'],
    ['rows.tsv', 'tsv'],
    ['events.ndjson', 'ndjson'],
    ['events.JSONL', 'ndjson'],
    ['urls.txt', undefined],
    ['data.json', undefined],
    ['rows.csv.gz', undefined],
    ['csv', undefined],
    ['-', undefined],
    [undefined, undefined],
  ];
  for (const [path, format] of cases) assert.equal(detectInputFormat(path), format, String(path));
  assert.deepEqual(INPUT_FORMATS, ['lines', 'csv', 'tsv', 'ndjson']);
  assert.equal(isInputFormat('tsv'), true);
  assert.equal(isInputFormat('json'), false);
});
