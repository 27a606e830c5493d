import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateItems, parseRange, parseValues, type ValueGenerator } from '../../src/input/generators.ts';
import { UsageError } from '../../src/errors.ts';

function valuesOf(generator: ValueGenerator): string[] {
  return [...generator.values()];
}

const ranges: Array<[spec: string, values: string[]]> = [
  ['id=1..5', ['1', '2', '3', '4', '5']],
  ['id=3..3', ['3']],
  ['id=0..10..5', ['0', '5', '10']],
  ['id=1..10..4', ['1', '5', '9']], // the end need not be hit
  ['id=-5..5..5', ['-5', '0', '5']],
  ['id=-3..-1', ['-3', '-2', '-1']],
  ['id=001..003', ['001', '002', '003']],
  ['id=098..101', ['098', '099', '100', '101']],
  ['id=08..11', ['08', '09', '10', '11']],
  ['id=1..010', ['001', '002', '003', '004', '005', '006', '007', '008', '009', '010']], // as bash {1..010}
  ['id=-02..01', ['-02', '-01', '00', '01']],
  ['id=0..2', ['0', '1', '2']], // a lone 0 is not padding
  ['page_2=10..30..10', ['10', '20', '30']],
];

for (const [spec, values] of ranges) {
  test(`--range ${spec}`, () => {
    const generator = parseRange(spec);
    assert.equal(generator.name, spec.slice(0, spec.indexOf('=')));
    assert.equal(generator.count, values.length);
    assert.deepEqual(valuesOf(generator), values);
    assert.deepEqual(valuesOf(generator), values, 'values() starts afresh each call');
  });
}

const badRanges: Array<[spec: string, message: string]> = [
  ['id=5..1', 'Expected --range to count up (start at most end), got `id=5..1`.'],
  ['id=a..z', 'Expected --range to be name=start..end[..step] with whole numbers, like id=1..100 or id=0..1000..10, got `id=a..z`.'],
  ['id=1.5..3', 'Expected --range to be name=start..end[..step] with whole numbers, like id=1..100 or id=0..1000..10, got `id=1.5..3`.'],
  ['id=1..', 'Expected --range to be name=start..end[..step] with whole numbers, like id=1..100 or id=0..1000..10, got `id=1..`.'],
  ['id=1..10..0', 'Expected the step in --range to be a whole number above 0, got `id=1..10..0`.'],
  ['id=1..10..-1', 'Expected the step in --range to be a whole number above 0, got `id=1..10..-1`.'],
  ['1..10', 'Expected --range to be name=start..end[..step], like id=1..100, got `1..10`.'],
  ['1d=1..10', 'Expected --range to start with a placeholder name (letters, digits and _, not starting with a digit), got `1d=1..10`.'],
  ['=1..10', 'Expected --range to start with a placeholder name (letters, digits and _, not starting with a digit), got `=1..10`.'],
  ['my-id=1..10', 'Expected --range to start with a placeholder name (letters, digits and _, not starting with a digit), got `my-id=1..10`.'],
  ['id=1..99999999999999999', `Expected the numbers in --range to stay within ±${Number.MAX_SAFE_INTEGER}, got \`id=1..99999999999999999\`.`],
];

for (const [spec, message] of badRanges) {
  test(`--range ${spec} is a usage error`, () => {
    assert.throws(
      () => parseRange(spec),
      (error: unknown) => error instanceof UsageError && error.message === message,
    );
  });
}

test('--values lists values as written, in order', () => {
  const generator = parseValues('color=red,green,blue');
  assert.equal(generator.name, 'color');
  assert.equal(generator.count, 3);
  assert.deepEqual(valuesOf(generator), ['red', 'green', 'blue']);
  assert.deepEqual(valuesOf(parseValues('q=a b, c=d')), ['a b', ' c=d']);
  assert.deepEqual(valuesOf(parseValues('x=one')), ['one']);
});

const badValues: Array<[spec: string, message: string]> = [
  ['color', 'Expected --values to be name=a,b,c, got `color`.'],
  ['color=', 'Expected --values to list one or more non-empty values separated by commas, like color=red,green, got `color=`.'],
  ['color=red,,blue', 'Expected --values to list one or more non-empty values separated by commas, like color=red,green, got `color=red,,blue`.'],
  ['color=red,', 'Expected --values to list one or more non-empty values separated by commas, like color=red,green, got `color=red,`.'],
  ['2x=a', 'Expected --values to start with a placeholder name (letters, digits and _, not starting with a digit), got `2x=a`.'],
];

for (const [spec, message] of badValues) {
  test(`--values ${spec} is a usage error`, () => {
    assert.throws(
      () => parseValues(spec),
      (error: unknown) => error instanceof UsageError && error.message === message,
    );
  });
}

test('one generator: line is the position, text the value, fields the named value', () => {
  const { total, items } = generateItems([parseRange('id=7..9')]);
  assert.equal(total, 3);
  assert.deepEqual(
    [...items],
    [
      { line: 1, text: '7', fields: { id: '7' } },
      { line: 2, text: '8', fields: { id: '8' } },
      { line: 3, text: '9', fields: { id: '9' } },
    ],
  );
});

test('several generators: the cartesian product, the first flag the outermost loop', () => {
  const { total, items } = generateItems([parseValues('region=eu,us'), parseRange('page=1..3'), parseValues('fmt=json,csv')]);
  assert.equal(total, 12);
  const expected: string[] = [];
  for (const region of ['eu', 'us']) {
    for (const page of ['1', '2', '3']) {
      for (const fmt of ['json', 'csv']) expected.push(`${region},${page},${fmt}`);
    }
  }
  const list = [...items];
  assert.deepEqual(
    list.map((i) => i.text),
    expected,
  );
  assert.deepEqual(
    list.map((i) => i.line),
    expected.map((_, i) => i + 1),
  );
  assert.deepEqual(list[5], { line: 6, text: 'eu,3,csv', fields: { region: 'eu', page: '3', fmt: 'csv' } });
  assert.deepEqual(
    [...items].map((i) => i.text),
    expected,
    'items can be iterated again',
  );
});

test('the total is the product of the counts', () => {
  assert.equal(generateItems([parseRange('a=1..1000'), parseRange('b=0..100..10'), parseValues('c=x,y')]).total, 1000 * 11 * 2);
  assert.equal(generateItems([]).total, 0);
  assert.deepEqual([...generateItems([]).items], []);
});

test('a name given twice is a usage error naming both flags', () => {
  assert.throws(
    () => generateItems([parseRange('id=1..3'), parseValues('x=a'), parseValues('id=a,b')]),
    (error: unknown) =>
      error instanceof UsageError && error.message === 'Expected each placeholder name to be given once, got `id` twice (--range id=1..3 and --values id=a,b).',
  );
});

test('a product too big to count is a usage error', () => {
  const big = parseRange('a=1..1000000000');
  assert.throws(() => generateItems([big, parseRange('b=1..1000000000')]), UsageError);
});

test('lazy: the first items of a 10M range come at once, in flat memory', () => {
  const started = performance.now();
  const { total, items } = generateItems([parseRange('id=1..10000000')]);
  const first: string[] = [];
  for (const item of items) {
    first.push(item.text);
    if (first.length === 3) break;
  }
  assert.equal(total, 10_000_000);
  assert.deepEqual(first, ['1', '2', '3']);
  assert.ok(performance.now() - started < 100, `took ${performance.now() - started} ms`);
});

test('lazy: the inner loop is not materialised either', () => {
  const { total, items } = generateItems([parseValues('x=a,b'), parseRange('id=1..10000000')]);
  assert.equal(total, 20_000_000);
  const iterator = items[Symbol.iterator]();
  assert.deepEqual(iterator.next().value, { line: 1, text: 'a,1', fields: { x: 'a', id: '1' } });
  assert.deepEqual(iterator.next().value, { line: 2, text: 'a,2', fields: { x: 'a', id: '2' } });
});
