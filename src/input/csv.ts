/**
 * Turns CSV or TSV bytes into input items. The header row names the placeholders; every
 * later row yields one item with `fields`, or one marked invalid (a quote left open, a
 * stray quote, the wrong number of fields). Quoting is RFC 4180, done by csv-parse; CRLF and
 * a leading BOM are fine; blank lines are not inputs. How rows are split, and why we count
 * lines ourselves, is in csv-row-reader.ts. Streams with backpressure: nothing beyond one
 * chunk and the row in progress is held.
 *
 * sources.ts loads this module with a dynamic import, so csv-parse (about 30 ms to load)
 * stays off the path of runs without CSV or TSV input. Keep it so: csv-row-reader.ts and
 * csv-parser.ts (the one importer of csv-parse) are imported from here only.
 */

import { UsageError } from '../errors.js';
import { RowReader, type Row } from './csv-row-reader.js';
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
