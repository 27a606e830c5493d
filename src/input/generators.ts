/**
 * Inputs made from flags instead of a file: `--range id=1..1000[..step]` and
 * `--values name=a,b,c`. Several generators give their cartesian product, the first flag
 * being the outermost loop, as nested for-loops written in the order of the flags.
 *
 * Everything is lazy: a generator knows its count up front (for the progress bar) and makes
 * its values on demand, so `--range id=1..10000000` starts at once in flat memory.
 */

import { UsageError } from '../errors.js';
import type { InputItem } from './item.js';

export interface ValueGenerator {
  /** The placeholder the values fill: `{name}` in templates. */
  name: string;
  /** How many values `values()` yields. */
  count: number;
  /** A fresh iteration over the values each call. */
  values(): Iterable<string>;
  /** The flag as given (`--range id=1..10`), for messages that point back at it. */
  flag?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RANGE = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$/;

/** Parses the text after `--range`: `name=start..end` or `name=start..end..step`, whole numbers. */
export function parseRange(spec: string): ValueGenerator {
  const flag = `--range ${spec}`;
  const [name, body] = splitNameAndBody('--range', spec, 'name=start..end[..step], like id=1..100');
  const match = RANGE.exec(body);
  if (match === null) {
    throw new UsageError(`Expected --range to be name=start..end[..step] with whole numbers, like id=1..100 or id=0..1000..10, got \`${spec}\`.`);
  }
  const [, startText = '', endText = '', stepText] = match;
  const start = Number(startText);
  const end = Number(endText);
  const step = stepText === undefined ? 1 : Number(stepText);
  if (![start, end, step, end - start].every(Number.isSafeInteger)) {
    throw new UsageError(`Expected the numbers in --range to stay within ±${Number.MAX_SAFE_INTEGER}, got \`${spec}\`.`);
  }
  if (start > end) {
    throw new UsageError(`Expected --range to count up (start at most end), got \`${spec}\`.`);
  }
  if (step <= 0) {
    throw new UsageError(`Expected the step in --range to be a whole number above 0, got \`${spec}\`.`);
  }
  const width = padWidth(startText, endText);
  const format = (n: number): string => (width === 0 ? String(n) : `${n < 0 ? '-' : ''}${String(Math.abs(n)).padStart(width, '0')}`);
  const count = Math.floor((end - start) / step) + 1;
  return {
    name,
    count,
    flag,
    *values() {
      for (let i = 0; i < count; i++) yield format(start + i * step);
    },
  };
}

/** Parses the text after `--values`: `name=a,b,c`. Values are taken as written (no trimming). */
export function parseValues(spec: string): ValueGenerator {
  const [name, body] = splitNameAndBody('--values', spec, 'name=a,b,c');
  const values = body.split(',');
  if (values.some((value) => value === '')) {
    throw new UsageError(`Expected --values to list one or more non-empty values separated by commas, like color=red,green, got \`${spec}\`.`);
  }
  return { name, count: values.length, flag: `--values ${spec}`, values: () => values.values() };
}

/**
 * The cartesian product of the generators, in the order given (the last one varies fastest).
 * `total` is known up front; `items` can be iterated more than once, each time afresh.
 */
export function generateItems(generators: readonly ValueGenerator[]): { total: number; items: Iterable<InputItem> } {
  const seen = new Map<string, ValueGenerator>();
  for (const generator of generators) {
    const earlier = seen.get(generator.name);
    if (earlier !== undefined) {
      throw new UsageError(
        `Expected each placeholder name to be given once, got \`${generator.name}\` twice (${describe(earlier)} and ${describe(generator)}).`,
      );
    }
    seen.set(generator.name, generator);
  }
  const total = generators.length === 0 ? 0 : generators.reduce((product, g) => product * g.count, 1);
  if (!Number.isSafeInteger(total)) {
    throw new UsageError(`Expected --range and --values to make at most ${Number.MAX_SAFE_INTEGER} inputs together, got ${total}.`);
  }
  return { total, items: { [Symbol.iterator]: () => combine(generators) } };
}

/** Nested loops of any depth, as an odometer: the last wheel turns fastest. */
function* combine(generators: readonly ValueGenerator[]): Generator<InputItem> {
  if (generators.length === 0) return;
  const names = generators.map((g) => g.name);
  const wheels = generators.map((g) => g.values()[Symbol.iterator]());
  const current: string[] = [];
  for (const [i, wheel] of wheels.entries()) {
    const first = wheel.next();
    if (first.done === true) return; // an empty generator: the product is empty
    current[i] = first.value;
  }
  let line = 0;
  for (;;) {
    line += 1;
    yield {
      line,
      text: current.join(','),
      // fromEntries defines own properties, so even a name like `__proto__` is a plain field.
      fields: Object.fromEntries(names.map((name, i) => [name, current[i]!])),
    };
    let i = wheels.length - 1;
    for (; i >= 0; i--) {
      const next = wheels[i]!.next();
      if (next.done !== true) {
        current[i] = next.value;
        break;
      }
      // This wheel went round: restart it and turn the next one out.
      wheels[i] = generators[i]!.values()[Symbol.iterator]();
      current[i] = wheels[i]!.next().value as string;
    }
    if (i < 0) return;
  }
}

function splitNameAndBody(flagName: string, spec: string, shape: string): [name: string, body: string] {
  const eq = spec.indexOf('=');
  if (eq === -1) throw new UsageError(`Expected ${flagName} to be ${shape}, got \`${spec}\`.`);
  const name = spec.slice(0, eq);
  if (!NAME.test(name)) {
    throw new UsageError(`Expected ${flagName} to start with a placeholder name (letters, digits and _, not starting with a digit), got \`${spec}\`.`);
  }
  return [name, spec.slice(eq + 1)];
}

/**
 * Zero-padding as bash's `{01..10}`: when either end is written with a leading zero, every
 * value gets at least as many digits as the longer end (the sign is not counted).
 */
function padWidth(startText: string, endText: string): number {
  const digits = (text: string): string => text.replace(/^-/, '');
  const hasLeadingZero = (text: string): boolean => /^0\d/.test(digits(text));
  if (!hasLeadingZero(startText) && !hasLeadingZero(endText)) return 0;
  return Math.max(digits(startText).length, digits(endText).length);
}

function describe(generator: ValueGenerator): string {
  return generator.flag ?? `a generator named ${generator.name}`;
}
