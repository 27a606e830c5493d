/**
 * One body on its way to its file (--save). The chunks undici hands over go through a stream
 * pipeline: Content-Encoding undone, counted against --max-filesize and hashed (SHA-256) on the
 * way, written to a temporary name beside the file, fsynced, and renamed over the file's name
 * once whole. So the file's name only ever holds a whole body, and memory holds a megabyte of
 * it at most. A body that fails anywhere leaves nothing: its temporary file is gone before the
 * attempt ends.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeErrno } from '../errors.js';
import type { BodySink, SinkFailure } from '../http/body-sink.js';
import { decodingStreams } from '../http/body.js';
import { classifyError } from '../http/classify.js';
import type { SavedBody } from '../http/outcome.js';
import { formatBytes } from '../text.js';

/** What sits between a temporary file's name and the pid of the process that wrote it. */
export const TEMP_MARK = '.ratefetch-tmp-';
/** `.<name>.ratefetch-tmp-<pid>-<n>`: hidden, beside its file (so the rename is atomic), and whose it is. */
export const TEMP_NAME = /^\..*\.ratefetch-tmp-(\d+)-\d+$/s;
/** Bytes read ahead of the disk before the connection is paused. */
const BUFFER_BYTES = 1024 * 1024;
/** A file's name is at most 255 bytes: the temporary name keeps the start of it. */
const NAME_BYTES_KEPT = 120;

let tempCount = 0;

export interface BodyFileTarget {
  /** Where the file goes, absolute. */
  file: string;
  /** The path for the record, as the template made it. */
  shown: string;
  maxBytes: number;
}

class FileTooLarge extends Error {}

export class BodyFile implements BodySink {
  readonly #target: BodyFileTarget;
  readonly #temp: string;
  readonly #source: Readable;
  readonly #writer: FileWriter;
  readonly #written: Promise<void>;
  #failed = false;
  #removed: Promise<void> | undefined;

  constructor(
    target: BodyFileTarget,
    head: { contentEncoding: string | undefined; contentLength: number | undefined },
    events: { resume(): void; fail(failure: SinkFailure): void },
  ) {
    this.#target = target;
    this.#temp = tempPathFor(target.file);
    this.#source = new Readable({ highWaterMark: BUFFER_BYTES, read: () => events.resume() });
    this.#writer = new FileWriter(this.#temp, target.maxBytes);
    this.#written = pipeline([this.#source, ...decodingStreams(head.contentEncoding), this.#writer]);
    // A failure while the body is still coming: clean up, then tell the attempt, which stops the download.
    this.#written.catch((error: unknown) => {
      if (this.#failed) return;
      this.#failed = true;
      void this.#remove().then(() => events.fail(this.#describe(error)));
    });
    // Known too large before a byte is read: no need to download it.
    if (head.contentEncoding === undefined && head.contentLength !== undefined && head.contentLength > target.maxBytes) {
      this.#source.destroy(new FileTooLarge());
    }
  }

  write(chunk: Buffer): boolean {
    return this.#source.push(chunk);
  }

  async end(): Promise<SavedBody> {
    this.#source.push(null);
    try {
      await this.#written;
      await rename(this.#temp, this.#target.file);
    } catch (error) {
      this.#failed = true;
      await this.#remove();
      throw this.#describe(error);
    }
    return { path: this.#target.shown, bytes: this.#writer.bytes, sha256: this.#writer.digest() };
  }

  async discard(): Promise<void> {
    this.#failed = true;
    this.#source.destroy();
    await this.#written.catch(() => undefined);
    await this.#remove();
  }

  /** Once the writer has closed its file: a late write must not bring the name back. */
  #remove(): Promise<void> {
    this.#removed ??= this.#writer.whenClosed.then(() => rm(this.#temp, { force: true })).catch(() => undefined);
    return this.#removed;
  }

  #describe(error: unknown): SinkFailure {
    if (error instanceof FileTooLarge) {
      return { code: 'FILE_TOO_LARGE', message: `body larger than ${formatBytes(this.#target.maxBytes)} (--max-filesize): not saved` };
    }
    const errno = error as NodeJS.ErrnoException;
    if (typeof errno.syscall === 'string' && typeof errno.code === 'string') {
      return { code: 'SAVE_FAILED', message: `cannot write ${this.#target.shown}: ${describeErrno(errno)}` };
    }
    return classifyError(error); // a body that does not decode
  }
}

/** `dir/.<name>.ratefetch-tmp-<pid>-<n>`, the name cut to NAME_BYTES_KEPT bytes on a character boundary. */
export function tempPathFor(file: string): string {
  const name = basename(file);
  let kept = name;
  if (Buffer.byteLength(name) > NAME_BYTES_KEPT) {
    kept = '';
    let bytes = 0;
    for (const char of name) {
      bytes += Buffer.byteLength(char);
      if (bytes > NAME_BYTES_KEPT) break;
      kept += char;
    }
  }
  tempCount += 1;
  return join(dirname(file), `.${kept}${TEMP_MARK}${process.pid}-${tempCount}`);
}

/**
 * The last stage: counts, hashes and writes each chunk to a new file (`wx`: never through a
 * link or over a file already there), and fsyncs it before closing, so that the rename that
 * follows never names a file whose bytes a power cut could still lose.
 */
class FileWriter extends Writable {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #hash: Hash = createHash('sha256');
  #handle: FileHandle | undefined;
  bytes = 0;
  readonly whenClosed: Promise<void>;
  #markClosed!: () => void;

  constructor(path: string, maxBytes: number) {
    super({ highWaterMark: BUFFER_BYTES });
    this.#path = path;
    this.#maxBytes = maxBytes;
    this.whenClosed = new Promise((resolve) => (this.#markClosed = resolve));
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, 'wx').then(
      (handle) => {
        this.#handle = handle;
        callback();
      },
      (error: Error) => {
        this.#markClosed();
        callback(error);
      },
    );
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    for (const buffer of buffers) {
      this.bytes += buffer.length;
      this.#hash.update(buffer);
    }
    if (this.bytes > this.#maxBytes) return callback(new FileTooLarge());
    writeAll(this.#handle!, buffers).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.#handle!;
    this.#handle = undefined;
    handle
      .sync()
      .then(() => handle.close())
      .then(
        () => {
          this.#markClosed();
          callback();
        },
        (error: Error) => {
          void handle.close().catch(() => undefined);
          this.#markClosed();
          callback(error);
        },
      );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle === undefined) {
      this.#markClosed();
      return callback(error);
    }
    handle.close().then(
      () => {
        this.#markClosed();
        callback(error);
      },
      () => {
        this.#markClosed();
        callback(error);
      },
    );
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

/** writev may write less than asked (a disk filling up): the rest goes after it, or the error comes. */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let left = buffers;
  while (left.length > 0) {
    const { bytesWritten } = await handle.writev(left);
    if (bytesWritten === 0) throw Object.assign(new Error('nothing written'), { code: 'EIO', syscall: 'write' });
    left = dropBytes(left, bytesWritten);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let skip = count;
  let index = 0;
  while (index < buffers.length && skip >= buffers[index]!.length) skip -= buffers[index++]!.length;
  const rest = buffers.slice(index);
  if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}
