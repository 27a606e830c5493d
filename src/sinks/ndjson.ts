/**
 * The only writer of records: one JSON line per record, one write each, with backpressure.
 * A closed pipe (`| head`) becomes a quiet stop; any other write failure an OutputError.
 */
import type { Writable } from 'node:stream';
import { OutputError } from '../errors.js';
import type { FetchRecord } from '../record.js';

/** Thrown by write() once the reader of our output has gone away (EPIPE). */
export class OutputClosed extends Error {
  override name = 'OutputClosed';
}

export interface RecordSink {
  write(record: FetchRecord | object): Promise<void>;
  /** Flushes what was written; rejects with the first write error. */
  close(): Promise<void>;
}

export function createNdjsonSink(stream: Writable, target: string, ownsStream: boolean): RecordSink {
  let failure: Error | undefined;
  const fail = (error: NodeJS.ErrnoException) => {
    failure ??= error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED'
      ? new OutputClosed('output closed')
      : new OutputError(`cannot write records to ${target}: ${describeErrno(error)}`, { cause: error });
  };
  stream.on('error', fail);

  return {
    async write(record) {
      if (failure) throw failure;
      const accepted = stream.write(`${JSON.stringify(record)}\n`, (error) => error && fail(error));
      if (!accepted) await drained(stream);
      if (failure) throw failure;
    },
    async close() {
      if (!failure) {
        await new Promise<void>((resolve) => {
          if (ownsStream) stream.end(resolve);
          else stream.write('', () => resolve());
        });
      }
      if (failure) throw failure;
    },
  };
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

export function describeErrno(error: NodeJS.ErrnoException): string {
  const reasons: { [code: string]: string } = {
    ENOSPC: 'no space left on the device',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOENT: 'no such file or directory',
    EISDIR: 'it is a directory',
    EROFS: 'read-only file system',
    EIO: 'input/output error',
  };
  const reason = error.code ? reasons[error.code] : undefined;
  return reason ? `${reason} (${error.code})` : error.message;
}
