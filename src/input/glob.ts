/**
 * curl-style URL globs in a URL template: `[1-100]`, `[001-100]`, `[1-100:10]`, `[a-z]`,
 * `[a-z:2]` and brace lists `{a,b,c}`. Pure and synchronous; URLs are generated lazily.
 *
 * Only the path and query are globbed: the authority never is (`http://[::1]:8080/` is an
 * IPv6 host), nor the fragment. Only well-formed ranges expand; other brackets stay literal
 * (`?filter[name]=x`, `?ids[]=1`). A bracket that is shaped like a range but is not a valid
 * one (`[5-1]`, `[1-9:0]`, `[a-5]`) is a usage error, not silently literal text. A brace pair
 * is a glob only when it holds a comma and no other brace; without a comma it is a
 * placeholder or literal text (src/template.ts). There is no backslash escape: `--globoff`
 * sends every bracket and brace as is, as in curl.
 */
import { UsageError } from '../errors.js';
import { compileUrlTemplate } from '../plan/template.js';

export interface UrlGlob {
  /** How many URLs the template expands to: the product of every range's length. */
  readonly count: number;
  /** Every URL, lazily, the first glob outermost (the last one varies fastest), as curl does. */
  expand(): Generator<string>;
}

/** More URLs than anyone means to fetch; also keeps every count an exact integer. */
const MAX_GLOB_URLS = 1e12;

/** One glob: how many values it has, and the value at an index. */
interface Range {
  readonly count: number;
  at(index: number): string;
}

/**
 * `[start-end]` or `[start-end:step]`, each end a number or one letter, tried where a `[`
 * stands (sticky). The step is captured loosely (up to `]`) so a bad one is reported, not
 * taken as literal text. It reads no further than the next bracket, which keeps the scan linear.
 */
const RANGE_AT = /\[(\d+|[A-Za-z])-(\d+|[A-Za-z])(?::([^[\]]*))?\]/y;
const SCHEME_AND_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The glob in a URL template, or `undefined` when it has none (or `globoff`). Throws
 * UsageError for an invalid range, for more than 1e12 URLs, and for a template that mixes
 * globs with `{placeholders}`.
 */
export function compileUrlGlob(source: string, options: { globoff: boolean }): UrlGlob | undefined {
  if (options.globoff) return undefined;
  const { literals, ranges, globs } = parseGlobs(source);
  if (ranges.length === 0) return undefined;

  const placeholders = compileUrlTemplate(source);
  if (placeholders.usesWholeLine || placeholders.names.length > 0) {
    const placeholder = placeholders.usesWholeLine ? '{}' : `{${placeholders.names[0]}}`;
    throw new UsageError(
      `a template cannot mix globs and {placeholders} (it has ${globs[0]} and ${placeholder}): ` +
        'generate the values with --range/--values and use only placeholders, ' +
        'or use --globoff to send brackets and braces as they are.',
    );
  }

  let count = 1;
  for (const range of ranges) {
    count *= range.count;
    if (count > MAX_GLOB_URLS) {
      const shown = globs.length > 5 ? `${globs.slice(0, 5).join(' ')} …` : globs.join(' ');
      throw new UsageError(`the URL template's globs expand to more than 10^12 URLs (${shown}); narrow the ranges.`);
    }
  }

  function* expand(): Generator<string> {
    const indexes = ranges.map(() => 0);
    for (;;) {
      let url = literals[0] ?? '';
      for (let g = 0; g < ranges.length; g++) url += (ranges[g] as Range).at(indexes[g] as number) + (literals[g + 1] ?? '');
      yield url;
      // An odometer: bump the last glob, carrying leftwards.
      let g = ranges.length - 1;
      while (g >= 0) {
        const next = (indexes[g] as number) + 1;
        if (next < (ranges[g] as Range).count) {
          indexes[g] = next;
          break;
        }
        indexes[g] = 0;
        g--;
      }
      if (g < 0) return;
    }
  }

  return { count, expand };
}

/**
 * Splits the template into literal text around each glob: `literals` has one more entry than
 * `ranges`. `globs` holds each glob's source text, for messages. Linear: a bracket is read
 * only up to the next bracket, a brace only up to the next brace.
 */
function parseGlobs(source: string): { literals: string[]; ranges: Range[]; globs: string[] } {
  const literals: string[] = [];
  const ranges: Range[] = [];
  const globs: string[] = [];
  const start = SCHEME_AND_AUTHORITY.exec(source)?.[0].length ?? 0;
  const hash = source.indexOf('#', start);
  const end = hash === -1 ? source.length : hash;

  let literalStart = 0;
  const emit = (at: number, after: number, range: Range): void => {
    literals.push(source.slice(literalStart, at));
    ranges.push(range);
    globs.push(source.slice(at, after));
    literalStart = after;
  };

  let i = start;
  while (i < end) {
    const c = source[i];
    if (c === '[') {
      RANGE_AT.lastIndex = i;
      const match = RANGE_AT.exec(source);
      if (match && RANGE_AT.lastIndex <= end) {
        emit(i, RANGE_AT.lastIndex, parseRange(match));
        i = RANGE_AT.lastIndex;
        continue;
      }
    } else if (c === '{') {
      // A brace list runs to the next brace, which must be `}`, and holds a comma.
      let j = i + 1;
      let hasComma = false;
      let hasBracket = false;
      for (; j < end; j++) {
        const d = source[j];
        if (d === '{' || d === '}') break;
        if (d === ',') hasComma = true;
        else if (d === '[') hasBracket = true;
      }
      if (j < end && source[j] === '}' && hasComma) {
        const values = source.slice(i + 1, j).split(',');
        emit(i, j + 1, { count: values.length, at: (index) => values[index] as string });
        i = j + 1;
        continue;
      }
      // Not a list. Up to j there is no brace, so skip there unless a bracket needs a look
      // (either way each character is read a bounded number of times).
      if (!hasBracket) {
        i = j;
        continue;
      }
    }
    i++;
  }
  literals.push(source.slice(literalStart));
  return { literals, ranges, globs };
}

/** A range from a `[...]` that RANGE_AT matched; a UsageError when its values are not valid. */
function parseRange(match: RegExpExecArray): Range {
  const [text, first = '', last = '', stepText] = match;
  const bad = (why: string): UsageError =>
    new UsageError(`invalid glob range ${text} in the URL template: ${why} (use --globoff to send brackets as they are).`);

  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText)) throw bad('the step must be a whole number');
    step = Number(stepText);
    if (step === 0) throw bad('the step must be at least 1');
    if (!Number.isSafeInteger(step)) throw bad('the step is too large');
  }

  const isNumber = (s: string): boolean => s.charCodeAt(0) <= 0x39; // RANGE_SHAPE: digits or one letter
  if (isNumber(first) !== isNumber(last)) throw bad('both ends must be numbers, or both letters');

  if (isNumber(first)) {
    const from = Number(first);
    const to = Number(last);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw bad('the numbers are too large');
    if (from > to) throw bad('the start is after the end');
    // Zero-padded to the width of the start, as curl does: [001-100] gives 001 … 100.
    const width = first.length;
    return {
      count: Math.floor((to - from) / step) + 1,
      at: (index) => String(from + index * step).padStart(width, '0'),
    };
  }

  const isLower = (s: string): boolean => s >= 'a';
  if (isLower(first) !== isLower(last)) throw bad('both letters must be the same case');
  const from = first.charCodeAt(0);
  const to = last.charCodeAt(0);
  if (from > to) throw bad('the start is after the end');
  return {
    count: Math.floor((to - from) / step) + 1,
    at: (index) => String.fromCharCode(from + index * step),
  };
}
