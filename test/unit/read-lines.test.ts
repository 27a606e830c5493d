import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readLines, type InputItem } from '../../src/input/read-lines.ts';

async function read(chunks: Array<string | Buffer>, maxLineBytes?: number): Promise<InputItem[]> {
  const items: InputItem[] = [];
  for await (const item of readLines(Readable.from(chunks, { objectMode: true }), maxLineBytes)) items.push(item);
  return items;
}

test('lines keep their source line numbers; blank and # lines are not inputs', async () => {
  const items = await read(['a\n\n# comment\n  b  \n   \n\t#x\nc']);
  assert.deepEqual(items, [
    { line: 1, text: 'a' },
    { line: 4, text: 'b' },
    { line: 7, text: 'c' },
  ]);
});

test('CRLF is accepted and a line may span chunks', async () => {
  const items = await read(['http://a/1\r\nhttp://', 'a/2\r', '\nhttp://a/3\r\n']);
  assert.deepEqual(
    items.map((i) => i.text),
    ['http://a/1', 'http://a/2', 'http://a/3'],
  );
  assert.deepEqual(
    items.map((i) => i.line),
    [1, 2, 3],
  );
});

test('a multi-byte character split across chunks decodes whole', async () => {
  const bytes = Buffer.from('http://a/é\n');
  const items = await read([bytes.subarray(0, 10), bytes.subarray(10)]);
  assert.equal(items[0]?.text, 'http://a/é');
});

test('an oversized line yields one item marked tooLong with only its start kept', async () => {
  const huge = 'x'.repeat(3000);
  const items = await read([`ok\n${huge.slice(0, 1000)}`, huge.slice(1000), '\nnext\n'], 1024);
  assert.equal(items.length, 3);
  assert.equal(items[1]?.line, 2);
  assert.equal(items[1]?.tooLong, true);
  assert.ok((items[1]?.text.length ?? 0) <= 256);
  assert.deepEqual(items[2], { line: 3, text: 'next' });
});

test('binary bytes and a NUL still yield an item (the planner rejects it)', async () => {
  const items = await read([Buffer.from([0x68, 0x00, 0xff, 0xfe, 0x0a, 0x41, 0x0a])]);
  assert.equal(items.length, 2);
  assert.equal(items[0]?.line, 1);
});

test('empty input yields nothing', async () => {
  assert.deepEqual(await read([]), []);
  assert.deepEqual(await read(['\n\n']), []);
});
