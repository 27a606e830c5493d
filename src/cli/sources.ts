/**
 * Where the input items come from: a file or stdin in one of the input formats, the values of
 * --range/--values, or the expansion of a glob in the template. Every combination that cannot
 * mean anything is a usage error here, before a request is sent.
 */
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { compileUrlGlob } from '../input/glob.js';
import { countInputLines } from '../input/count-lines.js';
import type { CsvOptions } from '../input/csv.js';
import { detectInputFormat, type InputFormat } from '../input/format.js';
import { generateItems, parseRange, parseValues } from '../input/generators.js';
import type { InputItem } from '../input/item.js';
import { readNdjson } from '../input/ndjson.js';
import { readLines } from '../input/read-lines.js';
import type { CliIo } from './cli-io.js';
import { openInput } from './files.js';
import type { CliFlags, GeneratorFlag } from './program.js';

export interface ItemSource {
  items: AsyncIterable<InputItem> | Iterable<InputItem>;
  /** How many items there will be, when known (or a promise of it, from a line count; none under --quiet). */
  total: number | Promise<number> | undefined;
  /** The URL template the planner fills, if any (a glob-only template is already expanded). */
  template: string | undefined;
  format: InputFormat | 'generated' | 'glob';
  /** The stream to close when the run ends early. */
  stream?: Readable;
}

export function openItems(inputPath: string | undefined, flags: CliFlags, io: CliIo): ItemSource {
  const generatorFlags: GeneratorFlag[] = flags.range ?? flags.values ?? [];
  const glob = flags.template === undefined ? undefined : compileUrlGlob(flags.template, { globoff: flags.globoff === true });

  if (glob !== undefined || generatorFlags.length > 0) {
    if (inputPath !== undefined) {
      const what = glob ? 'a glob in --template' : '--range/--values';
      throw new UsageError(`${what} makes the inputs, so an input file as well (${inputPath}) has no place; drop one of them.`);
    }
    if (glob !== undefined) {
      if (flags.batch !== undefined) {
        throw new UsageError(
          "--batch fills the template's one placeholder with many inputs' values, but a glob in --template makes whole URLs: give the IDs as input.",
        );
      }
      if (generatorFlags.length > 0) throw new UsageError('use either a glob in --template or --range/--values, not both.');
      return { items: globItems(glob.expand()), total: glob.count, template: undefined, format: 'glob' };
    }
    if (flags.template === undefined) throw new UsageError('--range and --values fill a --template: give one, e.g. -t "https://api.example.com/items/{id}".');
    const generators = generatorFlags.map(({ kind, spec }) => (kind === 'range' ? parseRange(spec) : parseValues(spec)));
    const { total, items } = generateItems(generators);
    return { items, total, template: flags.template, format: 'generated' };
  }

  const input = openInput(inputPath, io);
  const format = (flags.inputFormat as InputFormat | undefined) ?? detectInputFormat(input.path) ?? 'lines';
  if ((format === 'csv' || format === 'tsv') && flags.template === undefined) {
    throw new UsageError(`${format.toUpperCase()} input fills a --template from its columns: give one, e.g. -t "https://api.example.com/items/{id}".`);
  }
  // The total is for the progress display and the summary, which --quiet shows neither of: a
  // quiet run does not read its file twice.
  const counted = flags.quiet !== true && input.path !== undefined && (format === 'lines' || format === 'ndjson') ? countInputLines(input.path) : undefined;
  const items =
    format === 'csv' || format === 'tsv'
      ? readCsvLazily(input.stream, { delimiter: format === 'csv' ? ',' : '\t' })
      : format === 'ndjson'
        ? readNdjson(input.stream, { hasTemplate: flags.template !== undefined })
        : readLines(input.stream);
  return { items, total: counted, template: flags.template, format, stream: input.stream };
}

/** Checks, before anything is sent, that every placeholder can get a value from this source. */
export function checkPlaceholders(names: readonly string[], source: ItemSource, generatorNames: readonly string[]): void {
  if (names.length === 0) return;
  const list = names.map((name) => `{${name}}`).join(', ');
  if (source.format === 'lines' || source.format === 'glob') {
    throw new UsageError(`the template uses ${list}, but line input only fills {} (the whole line): use --input-format csv or ndjson, or --range/--values.`);
  }
  if (source.format === 'generated') {
    const unknown = names.filter((name) => !generatorNames.includes(name));
    if (unknown.length > 0) {
      throw new UsageError(`the template uses ${unknown.map((n) => `{${n}}`).join(', ')}, which no --range or --values gives.`);
    }
  }
}

function* globItems(urls: Iterable<string>): Generator<InputItem> {
  let line = 0;
  for (const url of urls) yield { line: ++line, text: url };
}

// csv-parse takes about 30 ms to load: only CSV and TSV input pays for it, on the first read
// (readCsv is a generator too, so nothing of it ran before then either).
async function* readCsvLazily(stream: Readable, options: CsvOptions): AsyncGenerator<InputItem> {
  const { readCsv } = await import('../input/csv.js');
  yield* readCsv(stream, options);
}
