/**
 * The only writer of records: one JSON line per record, with backpressure. On a pipe or a
 * terminal the lines of one turn of the event loop go out in one write. The output only ever
 * holds whole lines, but for the end of a write a kill cut short (--resume repairs that one).
 * A closed pipe (`| head`) becomes a quiet stop; any other write failure an OutputError. A file
 * we own is fsynced at a bounded interval and at close, so that a power failure loses at most
 * about the last second of records (a killed process loses only what the stream had not yet
 * handed to the kernel, or the lines of the turn it was in: their inputs get fetched again).
 */
import { fstatSync, fsync } from 'node:fs';
import type { Writable } from 'node:stream';
import { OutputError, describeErrno } from '../errors.js';
import type { FetchRecord } from '../record/record.js';

/** Thrown by write() once the reader of our output has gone away (EPIPE). */
export class OutputClosed extends Error {
  override name = 'OutputClosed';
}

/** Writes values of one type, a line each: FetchRecords for a run, PlannedLines for --dry-run. */
export interface RecordSink<T extends object = FetchRecord> {
  /**
   * Queues the record's line; returns a promise to wait for when the output is behind (its
   * buffer is full), else undefined. Throws the first write error.
   */
  write(record: T): Promise<void> | undefined;
  /** Flushes what was written; rejects with the first write error. */
  close(): Promise<void>;
}

/** How often records reach the disk: whichever comes first. */
export const SYNC_EVERY = { ms: 1000, records: 1000 } as const;

/** Lines waiting for the next turn past this many characters go out at once. */
const BATCH_CHARS = 64 * 1024;

export interface SinkSyncOptions {
  /** The file to fsync. @default the stream's own fd, when we own the stream and it is a regular file */
  fd?: number;
  /** @default SYNC_EVERY.ms */
  everyMs?: number;
  /** @default SYNC_EVERY.records */
  everyRecords?: number;
  /** fs.fsync, as a promise (tests count the calls). */
  fsync?: (fd: number) => Promise<void>;
}

/**
 * On a pipe or a terminal, one write per turn, not per record: a write per record cost a
 * Writable entry, a callback and a system call each (docs/performance.md).
 */
export function createNdjsonSink<T extends object = FetchRecord>(
  stream: Writable,
  target: string,
  ownsStream: boolean,
  sync: SinkSyncOptions = {},
): RecordSink<T> {
  let failure: Error | undefined;
  const fail = (error: NodeJS.ErrnoException) => {
    failure ??=
      error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED'
        ? new OutputClosed('output closed')
        : new OutputError(`cannot write records to ${target}: ${describeErrno(error)}`, { cause: error });
  };
  stream.on('error', fail);
  const fileFd = ownsStream ? regularFileFd(stream) : undefined;
  const fd = sync.fd ?? fileFd;
  const syncer = fd === undefined ? undefined : createSyncer(fd, sync, fail);
  // A pipe or a terminal takes each write as a system call of its own (Node writes stdout to
  // them synchronously): the lines of a turn are gathered into one. A file we own gets each line
  // at once: the stream's writes go to the thread pool, and it gathers what comes meanwhile
  // itself (gathering a turn first made runs over HTTP/2 5-10% slower, measured).
  const gathersTurn = fileFd === undefined;

  let batch = ''; // whole lines not yet handed to the stream
  let batchLines = 0;
  let flushScheduled = false;
  let behind: Promise<void> | undefined; // the stream's buffer is full: resolves once it drained

  /** Hands the batch to the stream in one write, unless the stream is behind. */
  const flush = (): void => {
    if (batch === '' || behind !== undefined || failure) return;
    const text = batch;
    const lines = batchLines;
    batch = '';
    batchLines = 0;
    // The callback runs once the lines are in the file, so a sync after it covers them.
    const accepted = stream.write(text, (error) => (error ? fail(error) : syncer?.written(lines)));
    if (!accepted) {
      behind = drained(stream).then(() => {
        behind = undefined;
        flush();
      });
    }
  };
  const flushOnNextTurn = (): void => {
    flushScheduled = false;
    flush();
  };

  return {
    write(record) {
      if (failure) throw failure;
      batch += `${JSON.stringify(record)}\n`;
      batchLines += 1;
      if (!gathersTurn || batch.length >= BATCH_CHARS) flush();
      else if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushOnNextTurn);
      }
      return behind;
    },
    async close() {
      while (!failure && (batch !== '' || behind !== undefined)) {
        flush();
        await behind;
      }
      if (!failure) {
        // Every line written (an empty write completes after them), synced, then closed.
        await new Promise<void>((resolve) => stream.write('', () => resolve()));
        await syncer?.flush();
        if (ownsStream && !failure) await new Promise<void>((resolve) => stream.end(resolve));
      }
      if (failure) throw failure;
    },
  };
}

interface Syncer {
  /** `lines` more lines are in the file. */
  written(lines: number): void;
  /** Syncs what is in the file now, unless nothing was written since the last sync. */
  flush(): Promise<void>;
}

function createSyncer(fd: number, options: SinkSyncOptions, fail: (error: NodeJS.ErrnoException) => void): Syncer {
  const everyMs = options.everyMs ?? SYNC_EVERY.ms;
  const everyRecords = options.everyRecords ?? SYNC_EVERY.records;
  const syncFile = options.fsync ?? fsyncPromise;
  let unsynced = 0;
  let timer: NodeJS.Timeout | undefined;
  let last: Promise<void> = Promise.resolve();
  let disabled = false;

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (unsynced === 0 || disabled) return last;
    unsynced = 0;
    // Chained, so two syncs never overlap and close() waits for the one under way.
    last = last
      .then(() => syncFile(fd))
      .catch((error: NodeJS.ErrnoException) => {
        // A file system that cannot sync this file (EINVAL) has nothing to promise: stop asking.
        if (error.code === 'EINVAL' || error.code === 'ENOTSUP') disabled = true;
        else fail(error);
      });
    return last;
  };
  return {
    written(lines) {
      unsynced += lines;
      if (unsynced >= everyRecords) void flush();
      // The timer bounds how long a line waits when records come slowly; it never holds the process.
      else timer ??= setTimeout(flush, everyMs).unref();
    },
    flush,
  };
}

function fsyncPromise(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/** The fd of a file stream opened on a regular file; pipes and terminals cannot be synced. */
function regularFileFd(stream: Writable): number | undefined {
  const fd = (stream as Writable & { fd?: unknown }).fd;
  if (typeof fd !== 'number') return undefined;
  try {
    return fstatSync(fd).isFile() ? fd : undefined;
  } catch {
    return undefined;
  }
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}
