/** The CLI's files and flags: turns paths and flag values into streams and RunOptions. */
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { OutputError, UsageError } from '../errors.js';
import type { BodyFormat, RunOptions } from '../options.js';
import { describeErrno } from '../sinks/ndjson.js';
import type { CliIo } from './main.js';
import type { CliFlags } from './program.js';

export function toRunOptions(flags: CliFlags, template: string | undefined): Partial<RunOptions> {
  return {
    template,
    maxRequests: flags.maxRequests,
    maxErrorRate: flags.maxErrorRate,
    maxConnectionFailures: flags.maxConnectionFailures,
    dedupe: flags.dedupe === true,
    expectStatus: flags.expectStatus,
    schema: flags.schema === undefined ? undefined : readSchema(flags.schema),
    rps: flags.rps,
    burst: flags.burst,
    concurrency: flags.concurrency,
    retries: flags.retries,
    maxBackoffMs: flags.maxBackoff * 1000,
    maxRetryAfterMs: flags.maxRetryAfter * 1000,
    timeoutMs: flags.timeout * 1000,
    method: flags.method,
    headers: (flags.header ?? []).map(parseHeader),
    body: flags.data === undefined ? undefined : readData(flags.data),
    userAgent: flags.userAgent,
    maxRedirects: flags.maxRedirects,
    bodyFormat: flags.bodyFormat as BodyFormat,
    maxBodyBytes: flags.maxBody,
    includeHeaders: flags.includeHeaders === true,
    redactParams: flags.redactParam ?? [],
  };
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

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (name === '' || /\s/.test(name)) {
    // The argument may hold a token typed without its colon: never echo it.
    throw new UsageError(`-H expects 'Name: value' (the argument given is not shown, as it may hold a secret).`);
  }
  return [name, text.slice(colon + 1).trim()];
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
