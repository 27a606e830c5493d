import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import { compileUrlGlob } from '../../src/input/glob.ts';

const expand = (template: string): string[] => {
  const glob = compileUrlGlob(template, { globoff: false });
  assert.ok(glob, `${template} has a glob`);
  const urls = [...glob.expand()];
  assert.equal(urls.length, glob.count, `${template}: count matches what expand() yields`);
  return urls;
};

test('numeric, zero-padded, stepped and letter ranges', () => {
  const cases: Array<[string, string[]]> = [
    ['https://a/items/[1-3]', ['https://a/items/1', 'https://a/items/2', 'https://a/items/3']],
    ['https://a/items/[8-11]', ['https://a/items/8', 'https://a/items/9', 'https://a/items/10', 'https://a/items/11']],
    ['https://a/[098-101]', ['https://a/098', 'https://a/099', 'https://a/100', 'https://a/101']],
    ['https://a/[0-2]', ['https://a/0', 'https://a/1', 'https://a/2']],
    ['https://a/[01-3]', ['https://a/01', 'https://a/02', 'https://a/03']],
    ['https://a/[1-100:40]', ['https://a/1', 'https://a/41', 'https://a/81']],
    ['https://a/[1-5:10]', ['https://a/1']],
    ['https://a/[5-5]', ['https://a/5']],
    ['https://a/[000-20:10]', ['https://a/000', 'https://a/010', 'https://a/020']],
    ['https://a/[a-d]', ['https://a/a', 'https://a/b', 'https://a/c', 'https://a/d']],
    ['https://a/[X-Z]', ['https://a/X', 'https://a/Y', 'https://a/Z']],
    ['https://a/[a-g:3]', ['https://a/a', 'https://a/d', 'https://a/g']],
    ['https://a/x?page=[1-3]&n=10', ['https://a/x?page=1&n=10', 'https://a/x?page=2&n=10', 'https://a/x?page=3&n=10']],
  ];
  for (const [template, urls] of cases) assert.deepEqual(expand(template), urls, template);
});

test('brace lists: a brace pair with a comma is a glob; empty alternatives count', () => {
  const cases: Array<[string, string[]]> = [
    ['https://a/{x,y,z}/info', ['https://a/x/info', 'https://a/y/info', 'https://a/z/info']],
    ['https://a/item{,s}', ['https://a/item', 'https://a/items']],
    ['https://a/?fmt={json,csv}', ['https://a/?fmt=json', 'https://a/?fmt=csv']],
    // Alternatives are taken as they are, brackets included.
    ['https://a/{b,[1-2]}', ['https://a/b', 'https://a/[1-2]']],
  ];
  for (const [template, urls] of cases) assert.deepEqual(expand(template), urls, template);
});

test('several globs: the cartesian product, first glob outermost', () => {
  assert.deepEqual(expand('https://a/[1-2]/{x,y}/[a-b]'), [
    'https://a/1/x/a',
    'https://a/1/x/b',
    'https://a/1/y/a',
    'https://a/1/y/b',
    'https://a/2/x/a',
    'https://a/2/x/b',
    'https://a/2/y/a',
    'https://a/2/y/b',
  ]);
  assert.deepEqual(expand('https://a/[1-2][1-2]'), ['https://a/11', 'https://a/12', 'https://a/21', 'https://a/22']);
});

test('count is the product of every range, computed without expanding', () => {
  const cases: Array<[string, number]> = [
    ['https://a/[1-100]', 100],
    ['https://a/[1-100:10]', 10],
    ['https://a/[1-100:7]', 15],
    ['https://a/[a-z]/[0-9]', 260],
    ['https://a/[1-1000000]/[1-1000000]', 1e12],
    ['https://a/{a,b,c}/[001-500]?p=[1-4]', 6000],
  ];
  for (const [template, count] of cases) assert.equal(compileUrlGlob(template, { globoff: false })?.count, count, template);
  // expand() is lazy: taking the first few of a trillion is immediate.
  const huge = compileUrlGlob('https://a/[1-1000000]/[1-1000000]', { globoff: false });
  const first: string[] = [];
  for (const u of huge?.expand() ?? []) {
    first.push(u);
    if (first.length === 3) break;
  }
  assert.deepEqual(first, ['https://a/1/1', 'https://a/1/2', 'https://a/1/3']);
});

test('what is not a valid glob stays literal: no glob means undefined', () => {
  const cases = [
    'http://[::1]:8080/x',
    'http://[2001:db8::1]/x',
    'https://a/x?filter[name]=x',
    'https://a/x?ids[]=1&ids[]=2',
    'https://a/x?sort[created-at]=desc',
    'https://a/[-1-5]',
    'https://a/[1-]',
    'https://a/[aa-zz]',
    'https://a/[1-2',
    'https://a/1-2]',
    'https://a/{id}',
    'https://a/{}',
    'https://a/{a}{b}',
    'https://a/x?q={"a":1}',
    'https://a/{a,b',
    'https://a/{a,{b}',
    // The authority is never globbed, nor the fragment.
    'https://{a,b}.example.com/x',
    'http://user:[1-2]@a/x',
    'https://a/x#[1-3]',
    'https://a/x#{a,b}',
    'https://a/plain',
    '',
  ];
  for (const template of cases) assert.equal(compileUrlGlob(template, { globoff: false }), undefined, template);
});

test('literal brackets and braces next to a glob come through untouched', () => {
  assert.deepEqual(expand('http://[::1]:8080/items/[1-2]?filter[name]=x'), [
    'http://[::1]:8080/items/1?filter[name]=x',
    'http://[::1]:8080/items/2?filter[name]=x',
  ]);
  assert.deepEqual(expand('https://a/[1-2]#{x,y}[3-4]'), ['https://a/1#{x,y}[3-4]', 'https://a/2#{x,y}[3-4]']);
  assert.deepEqual(expand('https://a/{a,{x,y}'), ['https://a/{a,x', 'https://a/{a,y']);
});

test('--globoff turns globs off', () => {
  for (const template of ['https://a/[1-3]', 'https://a/{x,y}', 'https://a/[5-1]', 'https://a/[1-3]/{id}']) {
    assert.equal(compileUrlGlob(template, { globoff: true }), undefined, template);
  }
});

test('a range-shaped bracket that is not a valid range is a UsageError', () => {
  const cases: Array<[string, RegExp]> = [
    ['https://a/[5-1]', /\[5-1\].*the start is after the end/],
    ['https://a/[z-a]', /\[z-a\].*the start is after the end/],
    ['https://a/[1-100:0]', /\[1-100:0\].*step must be at least 1/],
    ['https://a/[1-100:x]', /\[1-100:x\].*step must be a whole number/],
    ['https://a/[1-100:]', /step must be a whole number/],
    ['https://a/[1-100:-2]', /step must be a whole number/],
    ['https://a/[a-5]', /\[a-5\].*both ends must be numbers, or both letters/],
    ['https://a/[1-z]', /both ends must be numbers, or both letters/],
    ['https://a/[a-Z]', /same case/],
    ['https://a/[1-99999999999999999999]', /too large/],
    ['https://a/ok/[1-2]/[9-3]', /\[9-3\]/],
  ];
  for (const [template, message] of cases) {
    assert.throws(
      () => compileUrlGlob(template, { globoff: false }),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      template,
    );
  }
  for (const [template] of cases) assert.throws(() => compileUrlGlob(template, { globoff: false }), /--globoff/);
});

test('more than 10^12 URLs is a UsageError', () => {
  assert.throws(
    () => compileUrlGlob('https://a/[1-1000000]/[1-1000000]/{a,b}', { globoff: false }),
    (e: unknown) => e instanceof UsageError && /10\^12/.test(e.message),
  );
  assert.throws(() => compileUrlGlob('https://a/[0-9007199254740991]', { globoff: false }), UsageError);
});

test('globs mixed with placeholders are a UsageError that says what to do instead', () => {
  const cases = [
    'https://a/[1-3]/{id}',
    'https://a/{x,y}?id={id}',
    'https://a/[1-3]?q={}',
    'https://a/{:raw}/[1-3]',
    'https://{host}/[1-3]',
    'https://a/[1-3]#{id}',
  ];
  for (const template of cases) {
    assert.throws(
      () => compileUrlGlob(template, { globoff: false }),
      (e: unknown) => e instanceof UsageError && /^a template cannot mix globs and \{placeholders\}/.test(e.message) && /--range\/--values/.test(e.message),
      template,
    );
  }
  // Placeholders alone are not a glob: the template module handles them.
  assert.equal(compileUrlGlob('https://a/{id}?q={q:raw}&r={}', { globoff: false }), undefined);
});

test('hostile templates compile in linear time', () => {
  const started = performance.now();
  const tails = [
    '['.repeat(200_000),
    '{'.repeat(200_000),
    '{a'.repeat(100_000),
    '[1-'.repeat(100_000),
    '[1-2:'.repeat(100_000),
    '{a,['.repeat(100_000),
    `${'1'.repeat(200_000)}[`.repeat(2),
  ];
  for (const tail of tails) assert.equal(compileUrlGlob(`https://a/${tail}`, { globoff: false }), undefined);
  assert.ok(performance.now() - started < 2_000, 'took too long');
});
