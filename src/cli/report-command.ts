/**
 * `ratefetch report results.ndjson [more.ndjson.gz …] [--stats stats.json] [--json] [--html page.html]`:
 * reads results files (gzipped ones too, or stdin as '-') and prints what they say: report/results-report.ts
 * adds it up, report/report-text.ts words it, --json gives the same as one object, and --html
 * also writes it as a page with charts (report/report-html.ts).
 */
import { accessSync, constants, createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Command, Option } from 'commander';
import { UsageError, describeErrno } from '../errors.js';
import type { FetchRecord } from '../record/record.js';
import { ResultsReporter } from '../report/results-report.js';
import { renderHtmlReport } from '../report/report-html.js';
import { formatReport } from '../report/report-text.js';
import type { StatsJson } from '../report/stats-json.js';
import { EXIT, type CliIo } from './cli-io.js';
import { parseArgs } from './parse-args.js';

interface ReportFlags {
  stats?: string;
  json?: boolean;
  html?: string;
}

export async function runReport(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('ratefetch report')
    .description('Say what a results file holds: counts, failures and why, the rate over time, the slowest hosts, what to fetch again.')
    .argument('<results...>', "results files (NDJSON records, gzipped or not); '-' reads stdin")
    .addOption(new Option('--stats <file>', "the run's --stats-file: adds the 429s, the rate found and the pauses"))
    .addOption(new Option('--json', 'one JSON object on stdout instead of text'))
    .addOption(new Option('--html <file>', 'also write the report as one self-contained page with charts (no network needed to open it)'))
    .helpOption('-h, --help', 'show this help and exit')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: () => undefined });
  if (parseArgs(program, argv, 'report: ')) return EXIT.ok;
  const files = program.args;
  const flags = program.opts<ReportFlags>();
  const stats = flags.stats === undefined ? undefined : readStats(flags.stats);
  // Checked before the records are read: a night's files can take a while, and then the write would fail.
  if (flags.html !== undefined) checkWritable(flags.html);
  const reporter = new ResultsReporter();
  for (const file of files) {
    const cut = await readRecords(file, io, (record) => reporter.add(record));
    if (cut) io.stderr.write(`ratefetch report: ${file} ends in a half-written record, left out.\n`);
  }
  const report = reporter.report(stats);
  const outputName = files.find((file) => file !== '-') ?? 'results.ndjson';
  if (flags.html !== undefined) {
    writeHtml(flags.html, renderHtmlReport(report, stats === undefined ? { files } : { files, stats }));
    io.stderr.write(`ratefetch report: the page is in ${flags.html}\n`);
  }
  io.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatReport(report, files, outputName));
  return EXIT.ok;
}

function checkWritable(path: string): void {
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    throw new UsageError(`--html cannot write ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
}

function writeHtml(path: string, page: string): void {
  try {
    writeFileSync(path, page);
  } catch (error) {
    throw new UsageError(`--html cannot write ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
}

/** Feeds every record of `file` to `add`; true when the file ended in a half-written line. */
async function readRecords(file: string, io: CliIo, add: (record: FetchRecord) => void): Promise<boolean> {
  const stream = file === '-' ? io.stdin : await openMaybeGzipped(file);
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  let pending: string | undefined;
  try {
    for await (const line of lines) {
      if (pending !== undefined) add(parseRecord(pending, file, number));
      number += 1;
      pending = line.trim() === '' ? undefined : line;
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`report cannot read ${file}: ${error instanceof Error ? error.message : String(error)}.`);
  }
  if (pending === undefined) return false;
  // The last line: whole if it parses (a file may lack only its final newline), else cut by a crash.
  try {
    add(parseRecord(pending, file, number));
    return false;
  } catch (error) {
    if (number > 1) return true;
    throw error;
  }
}

async function openMaybeGzipped(file: string): Promise<Readable> {
  let magic: Buffer;
  try {
    const handle = await open(file, 'r');
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    await handle.close();
    magic = buffer.subarray(0, bytesRead);
  } catch (error) {
    throw new UsageError(`report cannot read ${file}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  const raw = createReadStream(file);
  return magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
}

function parseRecord(line: string, file: string, number: number): FetchRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UsageError(`${file} line ${number} is not JSON: is it a ratefetch results file?`);
  }
  const record = value as Partial<FetchRecord> | null;
  if (record === null || typeof record !== 'object' || typeof record.line !== 'number' || typeof record.ok !== 'boolean' || typeof record.key !== 'string') {
    throw new UsageError(`${file} line ${number} is not a ratefetch record (it has no line, ok and key).`);
  }
  return record as FetchRecord;
}

function readStats(path: string): StatsJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--stats cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  try {
    const stats = JSON.parse(text) as StatsJson;
    if (stats.version !== 1 || typeof stats.startedAt !== 'string') throw new Error('not a stats file');
    return stats;
  } catch {
    throw new UsageError(`--stats ${path} is not a ratefetch --stats-file.`);
  }
}
