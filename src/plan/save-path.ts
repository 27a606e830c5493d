/**
 * `--save '<path template>'`: where each input's body goes. Pure: the template is checked once
 * (a UsageError), then each input's path is filled and checked as a value.
 *
 * Placeholders are those of a URL template (`{}` the whole line, `{name}`, `{name:raw}`), filled
 * with the values as they are: a path is not a URL, so nothing is percent-encoded. `{line}` is
 * the input's line number, unless the input has a column of that name: a plain list of URLs has
 * no other value a file name can hold (`{}` is a whole URL). The save
 * directory is the template's text before its first placeholder, up to its last `/`
 * (`covers/{id}.jpg` → `covers/`, `{id}.jpg` → the working directory). No file may land outside
 * it, so a value may not be empty, hold `/`, `\`, NUL or another control character, or be `.` or
 * `..`; and the filled path may have no `.` or `..` segment, nor a name over 255 bytes, past the
 * save directory. Symbolic links are the save stage's business (save/save-dir.ts), as only the
 * disk knows them.
 */
import { normalize } from 'node:path';
import { UsageError } from '../errors.js';
import { toOneLine } from '../text.js';
import { parsePlaceholders, type Segment } from './template.js';

export interface SaveTemplate {
  readonly source: string;
  /** The directory no file may leave, as written: `covers/`, `/data/covers/`, or `` (the working directory). */
  readonly dir: string;
  /** Named placeholders used that the input's columns must give (`{line}` needs none). */
  readonly names: readonly string[];
  /** Whether `{}` (the whole line) appears. */
  readonly usesWholeLine: boolean;
  /** The input's path, as the template makes it; or the placeholder it has no value for; or why its values are refused. */
  render(values: SaveValues): { ok: true; path: string } | { ok: false; missing: string } | { ok: false; refused: string };
}

/** What an input fills a save template with: its line, its number, its columns. */
export interface SaveValues {
  line: string;
  lineNumber: number;
  fields?: Readonly<Record<string, string>>;
}

/** The placeholder that names a file by its input's line number. */
const LINE_NUMBER = 'line';

/** Longest file name most file systems take (ext4, XFS, APFS: 255 bytes). */
const MAX_NAME_BYTES = 255;
const CONTROL = /[\u0000-\u001f\u007f]/;

export function compileSaveTemplate(source: string): SaveTemplate {
  const segments = parsePlaceholders(source, true);
  const first = segments.findIndex((segment) => typeof segment !== 'string');
  if (first === -1) {
    throw new UsageError(
      `Expected \`save\` (--save) to hold a placeholder such as {id} or {}, so that each input gets a file of its own, got \`${toOneLine(source, 120)}\`.`,
    );
  }
  const prefix = first === 0 ? '' : (segments[0] as string);
  const dir = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  checkTemplateRest(source, source.slice(dir.length));
  const names = [
    ...new Set(
      segments.flatMap((segment) => (typeof segment !== 'string' && segment.name !== undefined && segment.name !== LINE_NUMBER ? [segment.name] : [])),
    ),
  ];
  const usesWholeLine = segments.some((segment) => typeof segment !== 'string' && segment.name === undefined);

  function render(values: SaveValues) {
    let path = '';
    for (const segment of segments) {
      if (typeof segment === 'string') {
        path += segment;
        continue;
      }
      const value = placeholderValue(segment, values);
      if (value === undefined) return { ok: false as const, missing: segment.name ?? '{}' };
      const why = refuseValue(value);
      if (why !== undefined) return { ok: false as const, refused: `the value of {${segment.name ?? ''}} ${why}` };
      path += value;
    }
    const why = refuseSegments(path.slice(dir.length));
    return why === undefined ? { ok: true as const, path } : { ok: false as const, refused: why };
  }

  return { source, dir, names, usesWholeLine, render };
}

function placeholderValue(placeholder: Exclude<Segment, string>, values: SaveValues): string | undefined {
  if (placeholder.name === undefined) return values.line;
  // Own properties only, so a column named `constructor` is not found on Object.
  if (values.fields !== undefined && Object.hasOwn(values.fields, placeholder.name)) return values.fields[placeholder.name];
  return placeholder.name === LINE_NUMBER ? String(values.lineNumber) : undefined;
}

/** The template past its save directory must name a file, with no `.` or `..` of its own. */
function checkTemplateRest(source: string, rest: string): void {
  const literal = rest.replace(/\{[A-Za-z_0-9]*(?::raw)?\}/g, 'x');
  if (literal.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new UsageError(
      `Expected \`save\` (--save) to have no . or .. after its first placeholder, got \`${toOneLine(source, 120)}\`: files stay in the save directory.`,
    );
  }
  if (rest.endsWith('/')) throw new UsageError(`Expected \`save\` (--save) to end in a file name, got \`${toOneLine(source, 120)}\`.`);
}

/** Why a value may not go into a path, or undefined when it may. */
function refuseValue(value: string): string | undefined {
  const shown = `(${showValue(value)})`;
  if (value === '') return 'is empty';
  if (value.includes('/')) return `${shown} holds "/"`;
  if (value.includes('\\')) return `${shown} holds "\\"`;
  if (CONTROL.test(value)) return `${shown} holds a control character`;
  if (value === '.' || value === '..') return `is "${value}"`;
  return undefined;
}

/** A value as a record shows it: quoted, cut at 60 characters, every control character escaped. */
function showValue(value: string): string {
  const cut = value.length > 60 ? `${value.slice(0, 59)}…` : value;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Why the path past the save directory is refused (values side by side can make `..`), or undefined. */
function refuseSegments(rest: string): string | undefined {
  for (const segment of rest.split('/')) {
    if (segment === '.' || segment === '..') return `the values make "${segment}" a directory of the path`;
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) return `the values make a name of ${Buffer.byteLength(segment)} bytes, more than ${MAX_NAME_BYTES}`;
  }
  return undefined;
}

/**
 * The paths given so far in a run, so that two inputs never write one file: the second is
 * refused. One entry per input saved, about 150 bytes each (measured with 20-character paths).
 */
export class SavePaths {
  readonly #lineByPath = new Map<string, number>();

  /** The line that already has this path, or undefined (and the path is now `line`'s). */
  claim(path: string, line: number): number | undefined {
    const key = normalize(path);
    const owner = this.#lineByPath.get(key);
    if (owner !== undefined) return owner;
    this.#lineByPath.set(key, line);
    return undefined;
  }
}
