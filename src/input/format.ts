/**
 * The input formats `--input-format` accepts, and the guess from a file's extension when the
 * flag is not given. The guess only covers extensions that say what the file holds; anything
 * else (`.txt`, `.json`, stdin) is left to the default, `lines`.
 */

import { extname } from 'node:path';

export type InputFormat = 'lines' | 'csv' | 'tsv' | 'ndjson';

export const INPUT_FORMATS: readonly InputFormat[] = ['lines', 'csv', 'tsv', 'ndjson'];

const FORMAT_BY_EXTENSION = new Map<string, InputFormat>([
  ['.csv', 'csv'],
  ['.tsv', 'tsv'],
  ['.ndjson', 'ndjson'],
  ['.jsonl', 'ndjson'],
]);

export function isInputFormat(value: string): value is InputFormat {
  return (INPUT_FORMATS as readonly string[]).includes(value);
}

/** The format a file's extension names (case-insensitive), or `undefined` when it names none. */
export function detectInputFormat(path: string | undefined): InputFormat | undefined {
  if (path === undefined || path === '-') return undefined;
  return FORMAT_BY_EXTENSION.get(extname(path).toLowerCase());
}
