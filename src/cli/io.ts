/** The CLI's files and flags: turns paths and flag values into streams and RunOptions. */
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { OutputError, UsageError } from '../errors.js';
import type { BodyFormat, RunOptions } from '../options.js';
import { loadResume, type Resume } from '../resume.js';
import { describeErrno } from '../sinks/ndjson.js';
import type { CliIo } from './main.js';
import type { CliFlags } from './program.js';

export function toRunOptions(flags: CliFlags, template: string | undefined, env: NodeJS.ProcessEnv): Partial<RunOptions> {
  const { headers, secretHeaders } = readHeaders(flags.header ?? [], flags.envHeaders === true ? env : undefined);
  return {
    template,
    maxRequests: flags.maxRequests,
    maxErrorRate: flags.maxErrorRate,
    maxConnectionFailures: flags.maxConnectionFailures,
    dedupe: flags.dedupe === true,
    expectStatus: flags.expectStatus,
    schema: flags.schema === undefined ? undefined : readSchema(flags.schema),
    ...rateOptions(flags),
    burst: flags.burst,
    concurrency: flags.concurrency,
    hostRps: flags.hostRps,
    hostConcurrency: flags.hostConcurrency,
    limits: flags.limit ?? [],
    retries: flags.retries,
    maxBackoffMs: flags.maxBackoff * 1000,
    maxRetryAfterMs: flags.maxRetryAfter * 1000,
    timeoutMs: flags.timeout * 1000,
    method: flags.method,
    headers,
    // A value kept out of argv is a token: secret, and sent as it is even if it holds braces.
    secretHeaders,
    literalHeaders: secretHeaders,
    body: flags.data === undefined ? undefined : readData(flags.data),
    userAgent: flags.userAgent,
    maxRedirects: flags.maxRedirects,
    locationTrusted: flags.locationTrusted === true,
    bodyFormat: flags.bodyFormat as BodyFormat,
    maxBodyBytes: flags.maxBody,
    includeHeaders: flags.includeHeaders === true,
    redactParams: flags.redactParam ?? [],
  };
}

/** `--rps auto [--rps-max M]` finds the rate under M; `--rps N` is a fixed ceiling. */
function rateOptions(flags: CliFlags): { rps: number | undefined; autoRate: boolean } {
  if (flags.rps === 'auto') return { autoRate: true, rps: flags.rpsMax };
  if (flags.rpsMax !== undefined) {
    throw new UsageError('--rps-max goes with --rps auto; a fixed --rps is already the most the run sends.');
  }
  return { autoRate: false, rps: flags.rps };
}

function readSchema(path: string): { document: unknown; source: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--schema cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  try {
    return { document: JSON.parse(text), source: basename(path) };
  } catch (error) {
    throw new UsageError(`--schema ${path} is not JSON: ${(error as Error).message}.`);
  }
}

/**
 * -H values in order: 'Name: value', or @file with one such line per line (blank and # lines
 * skipped), so a token need not sit in argv. With --env-headers, $NAME and ${NAME} in values
 * come from the environment. No message here ever shows a value: any of them may be a token.
 * A value kept out of argv that way is a secret whatever its header's name (X-Vendor-Key).
 */
function readHeaders(args: readonly string[], env: NodeJS.ProcessEnv | undefined): { headers: Array<[string, string]>; secretHeaders: string[] } {
  const headers: Array<[string, string]> = [];
  const secretHeaders: string[] = [];
  for (const arg of args) {
    if (!arg.startsWith('@')) {
      headers.push(parseHeader(arg, '-H', 'the argument given'));
      continue;
    }
    const path = arg.slice(1);
    if (path === '') throw new UsageError('-H @ needs a file name, as in -H @headers.txt.');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`-H cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
    }
    text.split('\n').forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const header = parseHeader(line, `-H @${path} line ${index + 1}`, 'the line');
      headers.push(header);
      secretHeaders.push(header[0]);
    });
  }
  const expanded = env === undefined ? headers : headers.map(([name, value]): [string, string] => {
    const filled = expandEnv(value, name, env);
    if (filled !== value) secretHeaders.push(name);
    return [name, filled];
  });
  for (const [name, value] of expanded) {
    // undici refuses such a value on every request; say so once, before anything is sent.
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      throw new UsageError(`the ${name} header value has a control character such as a newline (the value is not shown, as it may hold a secret).`);
    }
  }
  return { headers: expanded, secretHeaders };
}

function parseHeader(text: string, where: string, what: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (name === '' || /\s/.test(name)) {
    // The argument may hold a token typed without its colon: never echo it.
    throw new UsageError(`${where} expects 'Name: value' (${what} is not shown, as it may hold a secret).`);
  }
  return [name, text.slice(colon + 1).trim()];
}

// $NAME, ${NAME}, or $$ for a literal $. Anything else after a $ stays as written.
const ENV_REFERENCE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))/g;

/** --env-headers: fills $NAME from the environment; an unset or empty one is named, never its value. */
function expandEnv(value: string, header: string, env: NodeJS.ProcessEnv): string {
  return value.replace(ENV_REFERENCE, (_match, braced: string | undefined, bare: string | undefined, dollar: string | undefined) => {
    if (dollar !== undefined) return '$';
    const name = (braced ?? bare)!;
    const found = env[name];
    if (found === undefined || found === '') {
      throw new UsageError(`--env-headers: $${name} (in the ${header} header) is ${found === undefined ? 'not set' : 'empty'} in the environment.`);
    }
    return found;
  });
}

function readData(data: string): string | Uint8Array {
  if (!data.startsWith('@')) return data;
  const path = data.slice(1);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`-d cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
}

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
    io.stderr.write(`ratefetch: ${flags.output} ended in a half-written record (${resume.truncatedBytes} bytes, left by a crash); cut it off, and its input will be fetched again.\n`);
  }
  return resume;
}

/** What a resumed run says at its end; when nothing was left to fetch, that line is all it says. */
export function resumeNote(resume: Resume, recordsWritten: number, stopped: boolean): { line: string; nothingLeft: boolean } | undefined {
  if (resume.skipped === 0) return undefined;
  if (recordsWritten === 0 && !stopped) return { line: `ratefetch: every input already has a final record in ${resume.path}; nothing to fetch.\n`, nothingLeft: true };
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
