/** The progress total: how many inputs a file holds, counted before the run reads it. */
import { open } from 'node:fs/promises';
import { MAX_LINE_BYTES } from './read-lines.js';

const LF = 0x0a;
const HASH = 0x23;
/**
 * The count runs beside the run's first seconds: in 256 KiB reads it leaves the event loop to the
 * requests often enough (with 1 MiB reads, a run on 10 million lines held 20 MB more RSS for good).
 */
const READ_CHUNK_BYTES = 256 * 1024;

/** Where the scan is in the current line. */
const LineState = {
  /** Only whitespace so far. */
  Leading: 0,
  /** Counted as an input; skip to the LF. */
  Counted: 1,
  /** A comment; skip to the LF. */
  Skipped: 2,
  /** Starts with a non-ASCII byte: decided by decoding the whole line at its end. */
  Pending: 3,
} as const;
type LineState = (typeof LineState)[keyof typeof LineState];

/**
 * Counts the lines of a file that will become inputs: not blank after trimming and not
 * starting with `#` after trimming (the rule read-lines applies). A last line without a
 * newline counts; CRLF is fine. Only a progress total: the real count arrives with the
 * `input-end` event.
 *
 * Works on Buffers: for each line it looks at the leading bytes until the first
 * non-whitespace one, then jumps to the next LF with indexOf (memchr). A line whose first
 * non-space byte is not ASCII (a BOM, a no-break space) is decoded and trimmed as a string,
 * so it gets exactly String.prototype.trim's rules. Like read-lines, a line over
 * `maxLineBytes` counts whatever it holds.
 */
export interface CountLinesOptions {
  /** Must match read-lines' cap. @default MAX_LINE_BYTES */
  maxLineBytes?: number;
  /** Read size; small values exist for tests of chunk boundaries. @default 256 KiB */
  chunkBytes?: number;
}

export async function countInputLines(path: string, opts: CountLinesOptions = {}): Promise<number> {
  const maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  let count = 0;
  let state: LineState = LineState.Leading;
  /** Bytes of the current line held in earlier chunks. */
  let carried = 0;
  /** Bytes of a line that begins with a non-ASCII byte, kept until its end. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  // Called at each LF and at the end of the file, with the line's length in bytes (LF excluded).
  const endLine = (length: number): void => {
    if (state === LineState.Pending && length <= maxLineBytes) {
      const text = Buffer.concat(pending).toString('utf8').trim();
      if (text !== '' && !text.startsWith('#')) count++;
    } else if (state !== LineState.Counted && length > maxLineBytes) {
      count++; // read-lines yields an oversized line, whatever it holds, as a tooLong item
    }
    state = LineState.Leading;
    carried = 0;
    pending = [];
    pendingBytes = 0;
  };

  // Counts the lines of one chunk read.
  const scan = (chunk: Buffer): void => {
    const n = chunk.length;
    let lineStart = 0;
    let i = 0;
    while (i < n) {
      if (state === LineState.Leading) {
        const b = chunk[i]!;
        if (b === LF) {
          endLine(carried + i - lineStart);
          lineStart = ++i;
          continue;
        }
        if (isAsciiSpace(b)) {
          i++;
          continue;
        }
        if (b >= 0x80) state = LineState.Pending;
        else if (b === HASH) state = LineState.Skipped;
        else {
          state = LineState.Counted;
          count++;
        }
      }
      // The line's first byte that matters is known: jump to its end.
      const lf = chunk.indexOf(LF, i);
      const stop = lf === -1 ? n : lf;
      if (state === LineState.Pending) {
        pending.push(Buffer.from(chunk.subarray(i, stop))); // a copy: the buffer is read into again
        pendingBytes += stop - i;
        if (pendingBytes > maxLineBytes) {
          // Oversized: read-lines yields it whatever it holds. Stop keeping its bytes.
          state = LineState.Counted;
          count++;
          pending = [];
        }
      }
      if (lf === -1) break;
      endLine(carried + lf - lineStart);
      lineStart = i = lf + 1;
    }
    carried += n - lineStart;
  };

  // One buffer, read into again and again, not a stream's new buffer for each chunk.
  const file = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(opts.chunkBytes ?? READ_CHUNK_BYTES);
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      scan(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  if (carried > 0) endLine(carried);
  return count;
}

/** The ASCII bytes String.prototype.trim removes, LF aside: TAB, VT, FF, CR, space. */
function isAsciiSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c;
}
