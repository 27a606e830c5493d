import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countInputLines } from '../../src/input/count-lines.js';
import { readLines } from '../../src/input/read-lines.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ratefetch-count-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function countWithReadLines(path: string, maxLineBytes?: number): Promise<number> {
  let n = 0;
  for await (const _item of readLines(createReadStream(path, { highWaterMark: 7 }), maxLineBytes)) n++;
  return n;
}

describe('countInputLines', () => {
  const cases: Array<[string, string | Buffer, number]> = [
    ['empty file', '', 0],
    ['one newline', '\n', 0],
    ['one line, no final newline', 'https://a.example/1', 1],
    ['LF lines with a final newline', 'a\nb\nc\n', 3],
    ['CRLF lines', 'a\r\nb\r\nc\r\n', 3],
    ['CRLF, last line without newline', 'a\r\nb\r\nc', 3],
    ['blank and whitespace-only lines', 'a\n\n   \n\t\r\n\r\nb\n', 2],
    ['comments, also indented', '# header\na\n   # note\n\t#x\nb # not a comment\n', 2],
    ['a lone # is a comment', '#\n#\r\n', 0],
    ['leading spaces before an input', '   https://a.example/\n', 1],
    ['old Mac CR only is one line', 'a\rb\rc', 1],
    ['UTF-8 BOM before a comment', Buffer.from('\ufeff# urls\na\n'), 1],
    ['UTF-8 BOM before an input', Buffer.from('\ufeffa\nb'), 2],
    ['no-break spaces only', '\u00a0\u00a0\na\n', 1],
    ['non-ASCII input', 'é.example\n\u3000# ideographic space then comment\n', 1],
    ['invalid UTF-8 still counts (read-lines yields U+FFFD)', Buffer.from([0xff, 0x0a, 0x61]), 2],
  ];

  for (const [name, content, expected] of cases) {
    test(name, async (t) => {
      const path = join(await tempDir(t), 'in.txt');
      await writeFile(path, content);
      assert.equal(await countInputLines(path), expected);
      // Same answer whatever the chunk boundaries are, and the same as read-lines gives.
      for (const chunkBytes of [1, 2, 3, 5]) assert.equal(await countInputLines(path, { chunkBytes }), expected);
      assert.equal(await countWithReadLines(path), expected);
    });
  }

  test('an oversized line counts whatever it holds, as read-lines yields it', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'long.txt');
    await writeFile(path, `a\n#${'x'.repeat(40)}\n${' '.repeat(40)}\n\u00a0${'y'.repeat(40)}\n#short\n`);
    const expected = await countWithReadLines(path, 16);
    assert.equal(expected, 4);
    for (const chunkBytes of [1, 4, 64, 1 << 20]) {
      assert.equal(await countInputLines(path, { maxLineBytes: 16, chunkBytes }), expected);
    }
  });

  test('agrees with read-lines on a mixed file', async (t) => {
    const path = join(await tempDir(t), 'mixed.txt');
    const lines: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const kind = i % 7;
      lines.push(kind === 0 ? '# comment' : kind === 1 ? '  ' : kind === 2 ? '' : kind === 3 ? ` https://a.example/${i} ` : `https://b.example/${i}`);
    }
    for (const eol of ['\n', '\r\n']) {
      await writeFile(path, lines.join(eol));
      assert.equal(await countInputLines(path, { chunkBytes: 1000 }), await countWithReadLines(path));
    }
  });

  test('a missing file rejects', async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(countInputLines(join(dir, 'nope.txt')), { code: 'ENOENT' });
  });
});
