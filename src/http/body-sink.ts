/**
 * Where an accepted answer's body goes instead of memory (--save): the attempt hands each chunk
 * over as it arrives and pauses the connection when the sink asks. The sink (save/body-file.ts)
 * owns the file; the attempt only knows this contract.
 */
import type { ErrorCode } from '../record/error-codes.js';
import type { SavedBody } from './outcome.js';

/** Why the sink gave up: a failure of the attempt, already worded for its record. */
export interface SinkFailure {
  code: ErrorCode;
  message: string;
}

export interface BodySink {
  /** Takes the next chunk as received; false asks the sender to pause until `resume` is called. */
  write(chunk: Buffer): boolean;
  /** The body arrived whole: the file is finished and in place, or the promise rejects with a SinkFailure. */
  end(): Promise<SavedBody>;
  /** The attempt failed: whatever was written is removed. Idempotent; never rejects. */
  discard(): Promise<void>;
}

/** One attempt's way to a file. */
export interface SaveBody {
  /** Whether an answer with this status is saved; the others are read into the record as usual. */
  accepts(status: number): boolean;
  /**
   * Starts the file. `fail` is called at most once, after the sink has cleaned up, when writing
   * fails on its own (too large, disk full, a bad encoding); `resume` when it wants more.
   */
  open(
    head: { contentEncoding: string | undefined; contentLength: number | undefined },
    events: { resume(): void; fail(failure: SinkFailure): void },
  ): BodySink;
}
