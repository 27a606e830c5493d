/**
 * --resume: what an earlier run's output already holds, so that a rerun fetches only the rest
 * and appends.
 *
 * The output is the truth. For each input, identified by its request key and its line, the
 * last record wins, and the input is done when that record is final. With `retryFailed`, a
 * final record must also be ok, except for an input error (INVALID_URL and the like): the same
 * text gives the same error, so fetching it again would only add the same record forever.
 *
 * The file is streamed, and one entry per done input is kept. A half-written last line (a crash
 * in the middle of a write) is cut off the end; nothing else in the file is ever rewritten. A
 * file that is not ratefetch records is a UsageError and is left exactly as it was.
 *
 * A record that saved its body to a file (--save) counts as done only while that file is still
 * there with the size it recorded; its hash is not read again, which would read every file.
 */
import { statSync } from 'node:fs';
import { open, truncate, type FileHandle } from 'node:fs/promises';
import { OutputError, UsageError, describeErrno } from '../errors.js';

export interface ResumeOptions {
  /** Fetch again every input whose last record is not ok (input errors excepted). @default false */
  retryFailed?: boolean;
}

export interface Resume {
  path: string;
  /** Inputs that already have their final record. */
  done: number;
  /** Bytes of a half-written last line cut off the end of the file; 0 when there was none. */
  truncatedBytes: number;
  /** How many inputs `isDone` has answered yes for so far. */
  readonly skipped: number;
  /**
   * Whether this input already has its final record, so the run must neither fetch nor record
   * it. Call it once per input, in line order (it may consume the record it matched).
   */
  isDone(input: { key: string; line: number }): boolean;
  /**
   * With pagination: where an input that is not done was left, its last page with a final
   * record and the `next` that page found (redacted), so the run goes on from the page after.
   */
  continuationOf(input: { key: string; line: number }): { page: number; next: string } | undefined;
  /** --save: whether a record saw the file at `path` with another size than it has now (it is then fetched again, not taken as it is). */
  savedFileChanged(path: string): boolean;
}

/** Codes of inputs that are not requests: their outcome depends on the input text alone. */
const INPUT_ERRORS: ReadonlySet<string> = new Set(['INVALID_URL', 'INVALID_INPUT', 'TEMPLATE_MISSING_VALUE', 'SAVE_PATH_REFUSED']);

/** Every record we write starts with this: JSON.stringify keeps FetchRecord's field order. */
const RECORD_START = Buffer.from('{"line":');
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads `path` (a run's -o file) and cuts off a half-written last line. A missing file is a
 * fresh start. Throws UsageError, with the file untouched, when it is not ratefetch records;
 * OutputError when the cut fails.
 */
export async function loadResume(path: string, options: ResumeOptions = {}): Promise<Resume> {
  const index = new DoneInputs();
  const pages = new PagesLeft();
  const changedFiles = new Set<string>();
  const scan = await scanRecords(path, (record) => {
    // A page that is not its input's last leaves the input open, however final it is.
    let done = record.last !== false && isFinished(record, options.retryFailed === true);
    if (done && record.saved !== undefined) {
      const size = fileSize(record.saved.path);
      done = size === record.saved.bytes;
      if (size !== undefined && !done) changedFiles.add(record.saved.path);
    }
    index.add(record.key, record.line, done);
    pages.add(record, done);
  });
  let truncatedBytes = 0;
  if (scan !== undefined && scan.wholeBytes < scan.size) {
    truncatedBytes = scan.size - scan.wholeBytes;
    try {
      await truncate(path, scan.wholeBytes);
    } catch (error) {
      throw new OutputError(`cannot cut the half-written last line off ${path}: ${describeErrno(error as NodeJS.ErrnoException)}`);
    }
  }
  index.seal();
  let skipped = 0;
  return {
    path,
    done: index.size,
    truncatedBytes,
    get skipped() {
      return skipped;
    },
    isDone: (input) => {
      const done = index.take(input.key, input.line);
      if (done) skipped += 1;
      return done;
    },
    continuationOf: (input) => pages.take(input.key, input.line),
    savedFileChanged: (file) => changedFiles.has(file),
  };
}

/** The size of the regular file at `path`; undefined when there is none. */
function fileSize(path: string): number | undefined {
  try {
    const stats = statSync(path);
    return stats.isFile() ? stats.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Per input (key and line) mid-pagination, its last page with a final record: the record
 * after it failed, or was cut short, or was never written. One entry per such input.
 */
class PagesLeft {
  readonly #byInput = new Map<string, { page: number; next: string }>();

  add(record: RecordSummary, done: boolean): void {
    const id = `${record.line} ${record.key}`;
    if (done || record.page === 1) this.#byInput.delete(id);
    if (!done && record.last === false && record.final && record.next !== null) this.#byInput.set(id, { page: record.page!, next: record.next });
  }

  take(key: string, line: number): { page: number; next: string } | undefined {
    const id = `${line} ${key}`;
    const left = this.#byInput.get(id);
    this.#byInput.delete(id);
    return left;
  }
}

/** What resuming needs from one record. */
interface RecordSummary {
  line: number;
  key: string;
  ok: boolean;
  final: boolean;
  code: string | null;
  /** With pagination: the page, the next URL it found (redacted) and whether it ended its input. */
  page?: number;
  next: string | null;
  last?: boolean;
  /** With --save: the file the record says it wrote, and its size. */
  saved?: { path: string; bytes: number };
}

function isFinished(record: RecordSummary, retryFailed: boolean): boolean {
  if (!record.final) return false;
  return !retryFailed || record.ok || (record.code !== null && INPUT_ERRORS.has(record.code));
}

interface Scan {
  /** Where the last whole line ends: everything after it is a half-written line. */
  wholeBytes: number;
  size: number;
}

/**
 * Streams the file line by line, handing each record to `onRecord`. Undefined when the file
 * does not exist. Byte offsets, not characters, since a cut may fall inside a UTF-8 sequence.
 */
async function scanRecords(path: string, onRecord: (record: RecordSummary) => void): Promise<Scan | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`--resume cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  try {
    if (!(await handle.stat()).isFile()) throw new UsageError(`--resume needs -o to be a regular file, and ${path} is not one.`);
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let partial: Buffer[] = []; // the line being read, when it spans chunks
    let size = 0;
    let wholeBytes = 0;
    let linesRead = 0; // for the line number an error names
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      let start = 0;
      for (let end = data.indexOf(10); end !== -1; end = data.indexOf(10, start)) {
        const text = partial.length === 0 ? data.subarray(start, end) : Buffer.concat([...partial, data.subarray(start, end)]);
        partial = [];
        linesRead += 1;
        onRecord(parseRecordLine(text.toString('utf8'), linesRead, path));
        start = end + 1;
      }
      // The chunk buffer is reused: keep a copy of the unfinished line.
      if (start < data.length) partial.push(Buffer.from(data.subarray(start)));
      size += bytesRead;
      wholeBytes = size - partial.reduce((sum, part) => sum + part.length, 0);
    }
    if (size > wholeBytes && !looksLikeRecordStart(Buffer.concat(partial))) {
      throw notRecords(path, linesRead + 1, 'it is not a record');
    }
    return { wholeBytes, size };
  } finally {
    await handle.close();
  }
}

/** A cut can fall anywhere in a record, even inside its first few bytes. */
function looksLikeRecordStart(fragment: Buffer): boolean {
  const n = Math.min(fragment.length, RECORD_START.length);
  return fragment.subarray(0, n).equals(RECORD_START.subarray(0, n));
}

function parseRecordLine(text: string, lineNo: number, path: string): RecordSummary {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw notRecords(path, lineNo, 'it is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw notRecords(path, lineNo, 'it is not a JSON object');
  const record = value as { [field: string]: unknown };
  if (!Number.isSafeInteger(record.line) || (record.line as number) < 1) throw notRecords(path, lineNo, 'it has no "line" number');
  if (typeof record.key !== 'string') throw notRecords(path, lineNo, 'it has no "key"');
  if (typeof record.ok !== 'boolean' || typeof record.final !== 'boolean') throw notRecords(path, lineNo, 'it has no "ok" and "final"');
  const error = record.error as { code?: unknown } | null | undefined;
  const code = typeof error?.code === 'string' ? error.code : null;
  const paged = Number.isSafeInteger(record.page) && typeof record.last === 'boolean';
  const saved = record.saved as { path?: unknown; bytes?: unknown } | null | undefined;
  return {
    line: record.line as number,
    key: record.key,
    ok: record.ok,
    final: record.final,
    code,
    ...(paged && { page: record.page as number, last: record.last as boolean }),
    next: typeof record.next === 'string' ? record.next : null,
    ...(typeof saved?.path === 'string' && Number.isSafeInteger(saved.bytes) && { saved: { path: saved.path, bytes: saved.bytes as number } }),
  };
}

function notRecords(path: string, lineNo: number, why: string): UsageError {
  return new UsageError(`--resume reads ${path}, but its line ${lineNo} is not a ratefetch record (${why}), so the file was left as it is.`);
}

/**
 * The done inputs as (key, line) pairs, and the rule that matches a new run's inputs to them.
 *
 * An input is done when a done record has its key and its line. Failing that, a done record
 * with its key whose line has already gone by in this run without that key counts too: the
 * input file was edited and the input moved down. A record vouches for one input at most, and
 * a record at a line still to come is never taken: that line may hold the very same request
 * (the same URL on two lines, where one finished before a crash and the other did not).
 */
export class DoneInputs {
  // While loading: per key, the records in file order, each as line * 2 + (done ? 1 : 0).
  // After seal(): per key, the line of its one done input, or its done lines in order.
  #byKey = new Map<string, number | number[] | KeyLines>();
  #size = 0;

  /** Adds a record; a later record for the same key and line replaces an earlier one. */
  add(key: string, line: number, done: boolean): void {
    const code = line * 2 + (done ? 1 : 0);
    const seen = this.#byKey.get(key);
    if (seen === undefined || (typeof seen === 'number' && lineOf(seen) === line)) this.#byKey.set(key, code);
    else if (typeof seen === 'number') this.#byKey.set(key, [seen, code]);
    else if (Array.isArray(seen)) seen.push(code);
  }

  /** Ends loading: keeps, per key and line, the last record, and of those the done ones. */
  seal(): void {
    for (const [key, seen] of this.#byKey) {
      const lines = typeof seen === 'number' ? [seen] : Array.isArray(seen) ? lastPerLine(seen) : null;
      if (lines === null) continue;
      const doneLines = lines.filter((code) => code % 2 === 1).map(lineOf);
      this.#size += doneLines.length;
      if (doneLines.length === 0) this.#byKey.delete(key);
      else if (doneLines.length === 1) this.#byKey.set(key, doneLines[0]!);
      else this.#byKey.set(key, { lines: doneLines, next: 0, passed: 0 });
    }
  }

  /** Inputs with a done record. */
  get size(): number {
    return this.#size;
  }

  /** True when (key, line) is done; the record that says so is used up. Lines must come in order. */
  take(key: string, line: number): boolean {
    const entry = this.#byKey.get(key);
    if (entry === undefined || Array.isArray(entry)) return false;
    if (typeof entry === 'number') {
      // Its own line, or one gone by without this key.
      if (entry > line) return false;
      this.#byKey.delete(key);
      return true;
    }
    while (entry.next < entry.lines.length && entry.lines[entry.next]! < line) {
      entry.passed += 1;
      entry.next += 1;
    }
    if (entry.lines[entry.next] === line) {
      entry.next += 1;
      return true;
    }
    if (entry.passed === 0) return false;
    entry.passed -= 1;
    return true;
  }
}

interface KeyLines {
  /** Done lines, ascending. */
  lines: number[];
  /** The first of `lines` this run has not gone past. */
  next: number;
  /** Lines gone past with no input of this key: records free to vouch for a moved input. */
  passed: number;
}

/** Encoded records in file order → the last one per line, by line. */
function lastPerLine(codes: number[]): number[] {
  // Stable, so for each line the last record in the file comes last.
  const sorted = codes.map((code, order) => ({ line: lineOf(code), code, order })).sort((a, b) => a.line - b.line || a.order - b.order);
  return sorted.filter((entry, i) => sorted[i + 1]?.line !== entry.line).map((entry) => entry.code);
}

function lineOf(code: number): number {
  return Math.floor(code / 2);
}
