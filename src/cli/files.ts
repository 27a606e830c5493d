/** The CLI's files: the input, the records output (and what --resume finds in it), the stats file. */
import { closeSync, createReadStream, createWriteStream, openSync, statSync, writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { OutputError, UsageError, describeErrno } from '../errors.js';
import { loadResume, type Resume } from '../output/resume.js';
import type { CliIo } from './cli-io.js';
import type { CliFlags } from './program.js';

export function openInput(path: string | undefined, io: CliIo): { stream: Readable; path?: string } {
  if (path === undefined || path === '-') {
    if (path === undefined && io.stdin.isTTY) {
      throw new UsageError('no input: give a file of URLs, or pipe URLs into stdin.');
    }
    return { stream: io.stdin };
  }
  let isFile: boolean;
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) throw new UsageError(`input ${path} is a directory, not a file of URLs.`);
    isFile = stats.isFile();
    closeSync(openSync(path, 'r'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read input ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  return isFile ? { stream, path } : { stream };
}

/**
 * --resume: what the -o file already holds. A half-written last line is cut off and that is
 * said on stderr, even with --quiet: the file changed. Undefined without --resume.
 */
export async function openResume(flags: CliFlags, io: CliIo): Promise<Resume | undefined> {
  if (flags.resume !== true) {
    if (flags.retryFailed === true) throw new UsageError('--retry-failed goes with --resume: it says which records in the -o file count as done.');
    return undefined;
  }
  if (flags.output === undefined) throw new UsageError('--resume needs -o <file>: it reads the records already written there and appends the rest.');
  if (flags.dryRun === true) throw new UsageError('--resume and --dry-run do not go together: --dry-run would write planned requests into the records file.');
  const resume = await loadResume(flags.output, { retryFailed: flags.retryFailed === true });
  if (resume.truncatedBytes > 0) {
    io.stderr.write(
      `ratefetch: ${flags.output} ended in a half-written record (${resume.truncatedBytes} bytes, left by a crash); cut it off, and its input will be fetched again.\n`,
    );
  }
  return resume;
}

/** What a resumed run says at its end; when nothing was left to fetch, that line is all it says. */
export function resumeNote(resume: Resume, recordsWritten: number, stopped: boolean): { line: string; nothingLeft: boolean } | undefined {
  if (resume.skipped === 0) return undefined;
  if (recordsWritten === 0 && !stopped)
    return { line: `ratefetch: every input already has a final record in ${resume.path}; nothing to fetch.\n`, nothingLeft: true };
  return { line: `ratefetch: skipped ${resume.skipped} inputs that already had a final record in ${resume.path}.\n`, nothingLeft: false };
}

export function openOutput(path: string | undefined, append: boolean, io: CliIo): { stream: Writable; name: string; owned: boolean } {
  if (append && path === undefined) throw new UsageError('--append needs -o <file>.');
  if (path === undefined) return { stream: io.stdout, name: 'stdout', owned: false };
  let fd: number;
  try {
    fd = openSync(path, append ? 'a' : 'w');
  } catch (error) {
    throw new OutputError(`cannot open output ${path}: ${describeErrno(error as NodeJS.ErrnoException)}`);
  }
  return { stream: createWriteStream(path, { fd }), name: path, owned: true };
}

export function writeStatsFile(path: string, stats: unknown): void {
  try {
    writeFileSync(path, `${JSON.stringify(stats, null, 2)}\n`);
  } catch (error) {
    throw new OutputError(`cannot write stats to ${path}: ${describeErrno(error as NodeJS.ErrnoException)}`);
  }
}
