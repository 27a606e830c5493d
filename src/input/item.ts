/**
 * One input item, whatever format it came from: a line of text, a CSV row, an NDJSON object
 * or a generated combination of values. Every item the source holds yields exactly one of
 * these, however broken, so the planner can account for it.
 */

export interface InputItem {
  /** 1-based line number in the source (a generator's position for generated items). */
  line: number;
  /** The whole line as text: what `{}` in a URL template stands for. */
  text: string;
  /** Named values for `{name}` placeholders: CSV columns, NDJSON fields, generator values. */
  fields?: { [name: string]: string };
  /** The header's column names (CSV/TSV): every placeholder must be one of them. */
  columns?: readonly string[];
  /** A full request spec (NDJSON input with no --template). */
  spec?: RequestSpec;
  /** Set when the line was longer than the cap; `text` then holds only its start. */
  tooLong?: true;
  /** Set when the format could not parse this item; it becomes an error record. */
  invalid?: { code: 'INVALID_INPUT'; message: string };
}

/** One NDJSON line describing a whole request. */
export interface RequestSpec {
  url: string;
  method?: string;
  headers?: { [name: string]: string };
  /** A string is sent as is; anything else is sent as JSON. */
  body?: unknown;
  /** Copied verbatim into the record, so results join back to their source. */
  meta?: unknown;
}
