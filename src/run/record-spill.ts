/**
 * Records kept on disk for --dedupe, so that a run remembers each distinct request by a few
 * numbers rather than by its whole record (which holds the body): over a million distinct
 * inputs, 2.1 GB of memory held every first record. A duplicate reads its first's record back
 * with one positioned read. The file lives in the temp directory, readable by the owner alone,
 * and is unlinked as soon as it is open (on systems that allow that), so nothing is left
 * behind even after kill -9. Records hold no secrets (they are redacted when built).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, describeErrno } from '../errors.js';
import type { FetchRecord } from '../record/record.js';

/** Where a record sits in the spill file. */
export interface Spilled {
  offset: number;
  length: number;
}

export class RecordSpill {
  readonly #fd: number;
  /** Set while the file still has a name to remove at close (Windows cannot unlink an open file). */
  #path: string | undefined;
  #size = 0;

  constructor(dir: string = tmpdir()) {
    const path = join(dir, `ratefetch-dedupe-${process.pid}-${randomUUID()}.ndjson`);
    try {
      this.#fd = openSync(path, 'wx+', 0o600);
    } catch (error) {
      throw new UsageError(
        `--dedupe keeps records in a temporary file and cannot make one in ${dir} (${describeErrno(error as NodeJS.ErrnoException)}); set TMPDIR to a writable directory.`,
      );
    }
    try {
      unlinkSync(path);
    } catch {
      this.#path = path;
    }
  }

  put(record: FetchRecord): Spilled {
    const bytes = Buffer.from(JSON.stringify(record));
    let written = 0;
    while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written, this.#size + written);
    const spilled = { offset: this.#size, length: bytes.length };
    this.#size += bytes.length;
    return spilled;
  }

  get({ offset, length }: Spilled): FetchRecord {
    const bytes = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) read += readSync(this.#fd, bytes, read, length - read, offset + read);
    return JSON.parse(bytes.toString('utf8')) as FetchRecord;
  }

  close(): void {
    closeSync(this.#fd);
    if (this.#path !== undefined) unlinkSync(this.#path);
    this.#path = undefined;
  }
}
