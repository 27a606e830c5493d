/**
 * Splits CSV or TSV bytes into rows and accounts for every byte. Line numbers and row text
 * come from our own count of the bytes, not from csv-parse: its `info.lines` counts a CRLF
 * inside a quoted field twice, and its skip-on-error mode resumes inside the broken row (a
 * bad closing quote swallows the rest of the file). So we run csv-parse strictly, keep the
 * bytes of the row in progress, and when it fails, turn that row into an error and start a
 * fresh parser on the line after the error.
 */

import type { Parser } from 'csv-parse';
import { createParser, describeParseFailure, endParser, feedParser, type ParseFailure } from './csv-parser.js';
import { afterBreaks, countBreaks, CR, rowText } from './line-breaks.js';
import { formatByteCap } from './read-lines.js';

/** One physical row: its parsed values, or why it could not be parsed. */
export type Row = { line: number; text: string; values: string[] } | { line: number; text: string; error: string };

/** What we keep of an oversized row's text for the error record. */
const KEPT_PREFIX_CHARS = 256;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Splits bytes into rows with csv-parse and accounts for every byte: each row's start line
 * and raw text come from `pending`, the bytes from the start of the current row onwards.
 */
export class RowReader {
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
        failure = await feedParser(parser, unfed);
      }
      yield* this.takeParsed();
      if (this.broken !== undefined) continue; // a row over the cap: this parser is dropped
      if (failure === undefined && isEnd) {
        failure = await endParser(parser);
        yield* this.takeParsed();
        if (this.broken !== undefined) continue;
        if (failure === undefined) return;
      }
      if (failure !== undefined) {
        // The row ends with the line csv-parse failed on: count the breaks it read before.
        const breaksBefore = failure.code === 'CSV_QUOTE_NOT_CLOSED' ? 0 : countBreaks(Buffer.from(failure.raw));
        this.breakRow(describeParseFailure(failure, this.delimiter), breaksBefore + 1);
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
    const parser = createParser(this.delimiter, (values, end) => this.parsed.push({ values, end }));
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
    return `the row is longer than ${formatByteCap(this.maxRowBytes)}${spansLines ? '; is a quote left open?' : ''}`;
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
