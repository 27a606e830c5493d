/**
 * Turns CSV or TSV bytes into input items. The header row names the placeholders; every
 * later row yields one item with `fields`, or one marked invalid (a quote left open, a
 * stray quote, the wrong number of fields). Quoting is RFC 4180, done by csv-parse; CRLF and
 * a leading BOM are fine; blank lines are not inputs.
 *
 * Line numbers and row text come from our own count of the bytes, not from csv-parse: its
 * `info.lines` counts a CRLF inside a quoted field twice, and its skip-on-error mode
 * resumes inside the broken row (a bad closing quote swallows the rest of the file). So we
 * run csv-parse strictly, keep the bytes of the row in progress, and when it fails, turn
 * that row into an invalid item and start a fresh parser on the line after the error.
 * Streams with backpressure: nothing beyond one chunk and the row in progress is held.
 */

import { parse, type Parser } from 'csv-parse';
import { UsageError } from '../errors.js';
import type { InputItem } from './item.js';
import { MAX_LINE_BYTES } from './read-lines.js';

export interface CsvOptions {
  /** `,` for CSV, a tab for TSV. */
  delimiter: ',' | '\t';
  /** A longer row (most often a quote left open) becomes an invalid item. @default MAX_LINE_BYTES */
  maxRowBytes?: number;
}

export async function* readCsv(source: AsyncIterable<Uint8Array | string>, options: CsvOptions): AsyncGenerator<InputItem> {
  const kind = options.delimiter === '\t' ? 'TSV' : 'CSV';
  const rows = new RowReader(options.delimiter, options.maxRowBytes ?? MAX_LINE_BYTES);
  let header: string[] | undefined;

  function toItem(row: Row): InputItem | undefined {
    const { line, text } = row;
    if ('error' in row) {
      if (header === undefined) throw new UsageError(`Could not read the ${kind} header row (line ${line}): ${row.error}.`);
      return { line, text, columns: header, invalid: { code: 'INVALID_INPUT', message: `line ${line}: ${row.error}` } };
    }
    const { values } = row;
    if (values.length === 1 && text.trim() === '') return undefined; // a blank line
    if (header === undefined) {
      header = checkHeader(values, line, kind);
      return undefined;
    }
    if (values.length !== header.length) {
      const message = `line ${line}: expected ${header.length} fields as in the header, got ${values.length}`;
      return { line, text, columns: header, invalid: { code: 'INVALID_INPUT', message } };
    }
    const names = header;
    // fromEntries defines own properties, so even a column named `__proto__` is a plain field.
    return { line, text, columns: names, fields: Object.fromEntries(names.map((name, i) => [name, values[i]!])) };
  }

  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for await (const row of rows.push(bytes)) {
      const item = toItem(row);
      if (item !== undefined) yield item;
    }
  }
  for await (const row of rows.end()) {
    const item = toItem(row);
    if (item !== undefined) yield item;
  }
}

/** Header names, trimmed; each must be non-empty and given once. */
function checkHeader(values: string[], line: number, kind: string): string[] {
  const names = values.map((value) => value.trim());
  const empty = names.indexOf('');
  if (empty !== -1) {
    throw new UsageError(`Expected every column of the ${kind} header row (line ${line}) to have a name; column ${empty + 1} has none.`);
  }
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) {
    throw new UsageError(`Expected the ${kind} header row (line ${line}) to name each column once; \`${duplicate}\` appears twice.`);
  }
  return names;
}

/** One physical row: its parsed values, or why it could not be parsed. */
type Row = { line: number; text: string; values: string[] } | { line: number; text: string; error: string };

const LF = 0x0a;
const CR = 0x0d;
/** What we keep of an oversized row's text for the error record. */
const KEPT_PREFIX_CHARS = 256;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Splits bytes into rows with csv-parse and accounts for every byte: each row's start line
 * and raw text come from `pending`, the bytes from the start of the current row onwards.
 */
class RowReader {
  /** Bytes from the start of the current row to the end of what has been read. */
  private pending: Buffer = Buffer.alloc(0);
  /** Offset of `pending[0]` in the whole input. */
  private pendingStart = 0;
  /** Line number of `pending[0]`. */
  private line = 1;
  private parser: Parser | undefined;
  /** Offset in the whole input where the current parser started; its byte counts start there. */
  private parserStart = 0;
  /** Offset in the whole input up to which the current parser has been fed. */
  private fed = 0;
  /** Rows the parser has finished, as values and end offset (its own count, delimiter included). */
  private parsed: Array<{ values: string[]; end: number }> = [];
  /** A row csv-parse failed on, waiting for its `breaks`th line break to be read. */
  private broken: { error: string; breaks: number } | undefined;
  /** Line breaks still to drop, after a broken row too long to keep. */
  private breaksToSkip = 0;
  private isBomChecked = false;

  constructor(
    private readonly delimiter: ',' | '\t',
    private readonly maxRowBytes: number,
  ) {}

  async *push(bytes: Buffer): AsyncGenerator<Row> {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    yield* this.pump(false);
  }

  async *end(): AsyncGenerator<Row> {
    yield* this.pump(true);
  }

  private async *pump(isEnd: boolean): AsyncGenerator<Row> {
    for (;;) {
      if (this.broken !== undefined) {
        const row = this.takeBrokenRow(isEnd);
        if (row === undefined) return;
        yield row;
      }
      if (this.breaksToSkip > 0 && !this.skipBrokenRowEnd(isEnd)) return;
      if (!this.isBomChecked && !this.dropBom(isEnd)) return;
      const parser = this.parser ?? this.startParser();
      let failure: ParseFailure | undefined;
      const unfed = this.pending.subarray(this.fed - this.pendingStart);
      if (unfed.length > 0) {
        this.fed += unfed.length;
        failure = await write(parser, unfed);
      }
      yield* this.takeParsed();
      if (this.broken !== undefined) continue; // a row over the cap: this parser is dropped
      if (failure === undefined && isEnd) {
        failure = await finish(parser);
        yield* this.takeParsed();
        if (this.broken !== undefined) continue;
        if (failure === undefined) return;
      }
      if (failure !== undefined) {
        // The row ends with the line csv-parse failed on: count the breaks it read before.
        const breaksBefore = failure.code === 'CSV_QUOTE_NOT_CLOSED' ? 0 : countBreaks(Buffer.from(failure.raw));
        this.breakRow(describeFailure(failure, this.delimiter), breaksBefore + 1);
        continue;
      }
      if (this.pending.length > this.maxRowBytes) {
        this.breakRow(this.tooLongError(afterBreaks(this.pending, 1, isEnd) !== -1), 1);
        continue;
      }
      return;
    }
  }

  private startParser(): Parser {
    const parser = parse({
      delimiter: this.delimiter,
      raw: true, // so a failure tells how far into the row it got
      relax_column_count: true, // we check the count against the header ourselves
      // TSV rarely escapes quotes: keep a `"` inside an unquoted field as text.
      relax_quotes: this.delimiter === '\t',
      skip_empty_lines: false, // blank lines come through as rows so their bytes are accounted for
      on_record: (record: unknown, context) => {
        this.parsed.push({ values: (record as { record: string[] }).record, end: context.bytes });
        return null; // we take rows from here, not from the readable side
      },
    });
    // Failures reach us through the write callback; this keeps the stream from throwing them too.
    parser.on('error', () => undefined);
    this.parser = parser;
    this.parserStart = this.pendingStart;
    this.fed = this.pendingStart;
    return parser;
  }

  private *takeParsed(): Generator<Row> {
    const rows = this.parsed;
    this.parsed = [];
    for (const { values, end } of rows) {
      const length = this.parserStart + end - this.pendingStart;
      if (length > this.maxRowBytes) {
        // As if the cap had been hit mid-row (it would be, with smaller chunks): the row
        // ends after its first line, and a fresh parser reads again from there.
        const firstBreakEnd = afterBreaks(this.pending, 1, true);
        this.breakRow(this.tooLongError(firstBreakEnd !== -1 && firstBreakEnd < length), 1);
        return;
      }
      const line = this.line;
      const text = rowText(this.pending.subarray(0, length));
      this.advance(length);
      yield { line, text, values };
    }
  }

  /** The text of the first `length` bytes of `pending`, only its start when over the cap. */
  private rowTextUpTo(length: number): string {
    if (length <= this.maxRowBytes) return rowText(this.pending.subarray(0, length));
    return rowText(this.pending.subarray(0, Math.min(length, KEPT_PREFIX_CHARS * 4))).slice(0, KEPT_PREFIX_CHARS);
  }

  /** Only quoting lets a row span lines, so a long row that does hints at an open quote. */
  private tooLongError(spansLines: boolean): string {
    return `the row is longer than ${formatBytes(this.maxRowBytes)}${spansLines ? '; is a quote left open?' : ''}`;
  }

  /**
   * Marks the row at the start of `pending` as broken: it ends after its `breaks`th line
   * break, and a fresh parser starts after that.
   */
  private breakRow(error: string, breaks: number): void {
    this.parser = undefined;
    this.broken = { error, breaks };
  }

  /** The broken row once its end has been read (or the cap or the input's end is reached). */
  private takeBrokenRow(isEnd: boolean): Row | undefined {
    const { error, breaks } = this.broken!;
    const line = this.line;
    const end = afterBreaks(this.pending, breaks, isEnd);
    if (end === -1 && !isEnd && this.pending.length <= this.maxRowBytes) return undefined;
    this.broken = undefined;
    const length = end === -1 ? this.pending.length : end;
    const text = this.rowTextUpTo(length);
    if (end === -1 && !isEnd) {
      // Too long to keep until its end: drop the rest as it arrives.
      this.breaksToSkip = breaks;
      this.skipBrokenRowEnd(isEnd);
    } else {
      this.advance(length);
    }
    return { line, text, error };
  }

  /** Drops bytes up to the end of a broken row. True once it is found (or the input ended). */
  private skipBrokenRowEnd(isEnd: boolean): boolean {
    const end = afterBreaks(this.pending, this.breaksToSkip, isEnd);
    if (end !== -1 || isEnd) {
      this.breaksToSkip = 0;
      this.advance(end === -1 ? this.pending.length : end);
      return true;
    }
    // Keep a final CR: whether it ends a line depends on the next byte.
    const drop = this.pending.length - (this.pending.at(-1) === CR ? 1 : 0);
    this.breaksToSkip -= countBreaks(this.pending.subarray(0, drop));
    this.advance(drop);
    return false;
  }

  /**
   * Drops a UTF-8 BOM at the very start. We do it rather than csv-parse, which looks for it
   * only in the first chunk. False while too few bytes have arrived to tell.
   */
  private dropBom(isEnd: boolean): boolean {
    const head = this.pending.subarray(0, BOM.length);
    if (head.length < BOM.length && !isEnd && BOM.subarray(0, head.length).equals(head)) return false;
    if (head.equals(BOM)) this.advance(BOM.length);
    this.isBomChecked = true;
    return true;
  }

  private advance(length: number): void {
    this.line += countBreaks(this.pending.subarray(0, length));
    this.pending = this.pending.subarray(length);
    this.pendingStart += length;
  }
}

interface ParseFailure {
  code: string;
  /** The row's text as far as csv-parse read it, the offending character included. */
  raw: string;
}

function write(parser: Parser, bytes: Buffer): Promise<ParseFailure | undefined> {
  return new Promise((resolve) => parser.write(bytes, (error) => resolve(toFailure(error))));
}

function finish(parser: Parser): Promise<ParseFailure | undefined> {
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

function describeFailure(failure: ParseFailure, delimiter: string): string {
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

/** A row's text without its line break. */
function rowText(bytes: Buffer): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === LF) end--;
  if (end > 0 && bytes[end - 1] === CR) end--;
  return bytes.toString('utf8', 0, end);
}

/** Line breaks in `bytes`: LF, CRLF and a lone CR each count once. */
function countBreaks(bytes: Buffer): number {
  let count = 0;
  for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) count++;
  for (let i = bytes.indexOf(CR); i !== -1; i = bytes.indexOf(CR, i + 1)) {
    if (bytes[i + 1] !== LF) count++;
  }
  return count;
}

/**
 * The offset just past the `n`th line break in `bytes`, or -1 if there are fewer. A CR at
 * the very end counts only once the input has ended (an LF may follow in the next chunk).
 */
function afterBreaks(bytes: Buffer, n: number, isEnd: boolean): number {
  let found = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === LF) found++;
    else if (byte === CR) {
      if (i + 1 === bytes.length && !isEnd) return -1;
      if (bytes[i + 1] === LF) continue; // the LF ends this break
      found++;
    } else continue;
    if (found === n) return i + 1;
  }
  return -1;
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
