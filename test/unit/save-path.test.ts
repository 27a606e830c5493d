// Issue #28 part 3: the --save path template (pure), what it refuses at the start and per
// input, the options that cannot go with it, and the size flag's parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SavePaths, compileSaveTemplate } from '../../src/plan/save-path.ts';
import { createPlanner } from '../../src/plan/planner.ts';
import { resolveOptions, UsageError, type RunOptions } from '../../src/index.ts';
import { formatBytes, parseByteSize } from '../../src/text.ts';
import { tempPathFor } from '../../src/save/body-file.ts';
import { basename } from 'node:path';

test('#28: the save directory is the text before the first placeholder, up to its last /', () => {
  const cases: Array<[string, string, string[], boolean]> = [
    ['covers/{id}.jpg', 'covers/', ['id'], false],
    ['covers/img-{id}.jpg', 'covers/', ['id'], false],
    ['{id}.jpg', '', ['id'], false],
    ['/data/x/{}', '/data/x/', [], true],
    ['../shared/{a}/{b}-{a}.bin', '../shared/', ['a', 'b'], false],
    ['out/{id:raw}.json', 'out/', ['id'], false],
  ];
  for (const [source, dir, names, usesWholeLine] of cases) {
    const template = compileSaveTemplate(source);
    assert.equal(template.dir, dir, source);
    assert.deepEqual(template.names, names, source);
    assert.equal(template.usesWholeLine, usesWholeLine, source);
  }
});

test('#28: values go in as they are, not URL-encoded', () => {
  const result = compileSaveTemplate('covers/{id} ({kind}).jpg').render({ line: 'x', lineNumber: 7, fields: { id: 'a b&c%20é', kind: '?#' } });
  assert.deepEqual(result, { ok: true, path: 'covers/a b&c%20é (?#).jpg' });
  assert.deepEqual(compileSaveTemplate('{}.bin').render({ line: 'whole line', lineNumber: 7 }), { ok: true, path: 'whole line.bin' });
});

test('#28: {line} is the input line number (a plain list of URLs has no other name), unless a column has that name', () => {
  const template = compileSaveTemplate('covers/{line}.jpg');
  assert.deepEqual(template.names, [], 'no column needed');
  assert.deepEqual(template.render({ line: 'https://x.test/a/b.jpg', lineNumber: 42 }), { ok: true, path: 'covers/42.jpg' });
  assert.deepEqual(template.render({ line: 'x', lineNumber: 42, fields: { line: 'L7' } }), { ok: true, path: 'covers/L7.jpg' });
});

test('#28: a value that would move the file out of its place is refused, saying which and why', () => {
  const template = compileSaveTemplate('out/{a}/{id}.bin');
  const refused = (id: string) => {
    const result = template.render({ line: '', lineNumber: 7, fields: { a: 'x', id } });
    assert.equal(result.ok, false, JSON.stringify(id));
    return 'refused' in result ? result.refused : `missing ${result.missing}`;
  };
  assert.equal(refused('a/b'), 'the value of {id} ("a/b") holds "/"');
  assert.equal(refused('a\\b'), 'the value of {id} ("a\\\\b") holds "\\"');
  assert.equal(refused('..'), 'the value of {id} is ".."');
  assert.equal(refused('.'), 'the value of {id} is "."');
  assert.equal(refused(''), 'the value of {id} is empty');
  assert.equal(refused('a\u0000'), 'the value of {id} ("a\\u0000") holds a control character');
  assert.equal(refused('\u007f'), 'the value of {id} ("\\u007f") holds a control character');
  assert.match(refused('x'.repeat(300)), /^the values make a name of 304 bytes, more than 255$/);
  assert.deepEqual(template.render({ line: '', lineNumber: 7, fields: { a: 'x' } }), { ok: false, missing: 'id' });
  // `..` inside a name is a name, not a way up.
  assert.deepEqual(template.render({ line: '', lineNumber: 7, fields: { a: 'x', id: '..a..' } }), { ok: true, path: 'out/x/..a...bin' });
});

test('#28: a template with no placeholder, a . or .. past its save directory, or no file name is a usage error', () => {
  const cases: Array<[string, RegExp]> = [
    ['covers/all.jpg', /to hold a placeholder such as \{id\} or \{\}/],
    ['covers/{id}/../x.jpg', /no \. or \.\. after its first placeholder/],
    ['covers/{id}/./x.jpg', /no \. or \.\. after its first placeholder/],
    ['covers/{id}/', /to end in a file name/],
  ];
  for (const [source, message] of cases)
    assert.throws(
      () => compileSaveTemplate(source),
      (error: unknown) => error instanceof UsageError && message.test(error.message),
      source,
    );
});

test('#28: two inputs never share a file: the second is told whose it is', () => {
  const paths = new SavePaths();
  assert.equal(paths.claim('a/x.bin', 1), undefined);
  assert.equal(paths.claim('a/y.bin', 2), undefined);
  assert.equal(paths.claim('a//x.bin', 3), 1, 'the same file, written another way');
  assert.equal(paths.claim('a/y.bin', 4), 2);
});

test('#28: the planner gives each request its path, and refuses a placeholder that fills a secret', () => {
  const base = resolveOptions({ template: 'https://api.example.com/items/{id}?token={token}', save: 'out/{id}.bin' });
  const planner = createPlanner(base);
  assert.deepEqual(planner.names, ['id', 'token']);
  const planned = planner.plan({ line: 1, text: '', fields: { id: '7', token: 's3cret' } });
  assert.equal(planned.kind, 'request');
  assert.equal(planned.kind === 'request' && planned.save, 'out/7.bin');

  const secret = (options: Partial<RunOptions>) => assert.throws(() => createPlanner(resolveOptions(options)), /--save uses \{.*\}, which fills a secret/);
  secret({ template: 'https://api.example.com/items?token={token}', save: 'out/{token}.bin' });
  secret({ template: 'https://api.example.com/items/{id}', headers: [['Authorization', 'Bearer {auth}']], save: 'out/{auth}.bin' });
  secret({ template: 'https://api.example.com/items?api_key={}', save: 'out/{}.bin' });
  secret({ template: 'https://api.example.com/items?sig={}', redactParams: ['sig'], save: 'out/{}' });
});

test('#28: options that need a body in memory, or make many records per input, cannot go with --save', () => {
  const refused = (options: Partial<RunOptions>, message: RegExp) =>
    assert.throws(
      () => resolveOptions({ save: 'out/{}.bin', ...options }),
      (error: unknown) => error instanceof UsageError && message.test(error.message),
    );
  refused({ paginate: true }, /--save writes one file per input's body, and --paginate makes a record per page/);
  refused({ nextPath: '.next' }, /--next makes a record per page/);
  refused({ cursor: 'c=.c' }, /--cursor makes a record per page/);
  refused({ dedupe: true }, /--dedupe copies one result to many inputs/);
  refused({ schema: { document: {}, source: 's.json' } }, /--schema checks a body held in memory/);
  refused(
    { template: 'https://api.example.com/t?ids={}', batch: 50, batchSplit: '.items', batchKey: '.id' },
    /--batch cuts one answer apart among many inputs/,
  );
  refused({ cacheDir: '/tmp/cache' }, /--cache keeps each body whole to store it/);
  assert.throws(() => resolveOptions({ maxFileBytes: 10 }), /--max-filesize goes with --save/);
  assert.equal(resolveOptions({ save: 'x/{}', maxFileBytes: 10 }).maxFileBytes, 10);
});

test('#28: sizes for --max-filesize: bytes, or K, M, G, T in 1024s', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0', 0],
    ['1048576', 1048576],
    ['10M', 10 * 1024 ** 2],
    ['10m', 10 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['512k', 512 * 1024],
    ['10MiB', 10 * 1024 ** 2],
    ['10MB', 10 * 1024 ** 2],
    [' 2T ', 2 * 1024 ** 4],
    ['100b', 100],
    ['', undefined],
    ['-1', undefined],
    ['10X', undefined],
    ['M', undefined],
    ['1e3', undefined],
  ];
  for (const [text, bytes] of cases) assert.equal(parseByteSize(text), bytes, JSON.stringify(text));
  assert.equal(formatBytes(512), '512 bytes');
  assert.equal(formatBytes(1024 * 1024), '1 MiB');
  assert.equal(formatBytes(1.5 * 1024 * 1024), '1.5 MiB');
  assert.equal(formatBytes(600 * 1024 * 1024), '600 MiB');
});

test('#28: a temporary name sits beside its file, hidden, names the process, and keeps at most 120 bytes of the name', () => {
  const short = tempPathFor('/data/covers/a.jpg');
  assert.match(short, new RegExp(`^/data/covers/\\.a\\.jpg\\.ratefetch-tmp-${process.pid}-\\d+$`));
  assert.notEqual(tempPathFor('/data/covers/a.jpg'), short, 'each attempt has its own');
  const long = basename(tempPathFor(`/d/${'é'.repeat(127)}`));
  assert.equal(long, `.${'é'.repeat(60)}.ratefetch-tmp-${process.pid}-${long.split('-').at(-1)}`);
  assert.ok(Buffer.byteLength(long) <= 255);
});
