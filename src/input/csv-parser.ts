/**
 * How we drive csv-parse: strictly, with rows taken as they finish, and its failures turned
 * into values (a code and how far into the row it read) for the row reader to act on.
 * This is the only module that imports csv-parse; it loads only with CSV or TSV input.
 */

import { parse, type Parser } from 'csv-parse';

export interface ParseFailure {
  code: string;
  /** The row's text as far as csv-parse read it, the offending character included. */
  raw: string;
}

/**
 * A parser that hands each finished row to `onRow`, with the offset where it ends in the
 * bytes this parser has been fed (its own count, delimiter included).
 */
export function createParser(delimiter: ',' | '\t', onRow: (values: string[], end: number) => void): Parser {
  const parser = parse({
    delimiter,
    raw: true, // so a failure tells how far into the row it got
    relax_column_count: true, // we check the count against the header ourselves
    // TSV rarely escapes quotes: keep a `"` inside an unquoted field as text.
    relax_quotes: delimiter === '\t',
    skip_empty_lines: false, // blank lines come through as rows so their bytes are accounted for
    on_record: (record: unknown, context) => {
      onRow((record as { record: string[] }).record, context.bytes);
      return null; // we take rows from here, not from the readable side
    },
  });
  // Failures reach us through the write callback; this keeps the stream from throwing them too.
  parser.on('error', () => undefined);
  return parser;
}

export function feedParser(parser: Parser, bytes: Buffer): Promise<ParseFailure | undefined> {
  return new Promise((resolve) => parser.write(bytes, (error) => resolve(toFailure(error))));
}

export function endParser(parser: Parser): Promise<ParseFailure | undefined> {
  return new Promise((resolve) => {
    parser.once('error', (error) => resolve(toFailure(error)));
    parser.once('finish', () => resolve(undefined));
    parser.end();
  });
}

function toFailure(error: Error | null | undefined): ParseFailure | undefined {
  if (error === null || error === undefined) return undefined;
  const { code, raw } = error as Error & { code?: unknown; raw?: unknown };
  return { code: typeof code === 'string' ? code : 'UNKNOWN', raw: typeof raw === 'string' ? raw : '' };
}

export function describeParseFailure(failure: ParseFailure, delimiter: string): string {
  switch (failure.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field (quote the whole field and double the quotes inside it)';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `a closing quote is followed by text instead of ${delimiter === '\t' ? 'a tab' : 'a comma'} or the end of the line`;
    default:
      return `the row could not be parsed (${failure.code})`;
  }
}
