/**
 * Turns a byte stream into input items, one per line that is an input. Blank lines and lines
 * starting with `#` are not inputs and are skipped here; every other line yields exactly one
 * item, however broken, so the planner can account for it. Streams with backpressure: the
 * caller pulls, and nothing beyond one chunk and one line is held.
 */

import type { InputItem } from './item.js';

export type { InputItem };

/** Longer lines are not URLs anyone means; we keep their start for the error record. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** A line or row cap for an error message: `1 MiB`, or the exact bytes when not whole MiB. */
export function formatByteCap(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
const KEPT_PREFIX_BYTES = 256;

export async function* readLines(source: AsyncIterable<Uint8Array | string>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<InputItem> {
  let lineNumber = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflow = false;

  /**
   * The item of the line that ends at `end` in `buffer` (its start may be in `pending`), or
   * undefined for a blank or `#` line. Most lines lie whole in one chunk: they are decoded where
   * they lie, with no copy (each line's Buffer.concat and generator were most of reading a file).
   */
  function finishLine(buffer: Buffer, start: number, end: number): InputItem | undefined {
    lineNumber += 1;
    let text: string;
    let tooLong: boolean;
    if (pendingBytes === 0 && !overflow) {
      tooLong = end - start > maxLineBytes;
      text = buffer.toString('utf8', start, tooLong ? start + KEPT_PREFIX_BYTES : end);
    } else {
      const tail = buffer.subarray(start, end);
      tooLong = overflow || pendingBytes + tail.length > maxLineBytes;
      const bytes = Buffer.concat([...pending, tail]);
      text = (tooLong ? bytes.subarray(0, KEPT_PREFIX_BYTES) : bytes).toString('utf8');
      pending = [];
      pendingBytes = 0;
      overflow = false;
    }
    text = text.trim();
    if (tooLong) return { line: lineNumber, text, tooLong: true };
    return text !== '' && !text.startsWith('#') ? { line: lineNumber, text } : undefined;
  }

  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(0x0a, start);
      if (newline === -1) break;
      const item = finishLine(buffer, start, newline);
      if (item !== undefined) yield item;
      start = newline + 1;
    }
    const rest = buffer.subarray(start);
    if (rest.length === 0) continue;
    if (overflow) continue;
    if (pendingBytes + rest.length > maxLineBytes) {
      // Keep only the start of an oversized line; drop the rest as it streams past.
      pending.push(Buffer.from(rest.subarray(0, Math.max(0, KEPT_PREFIX_BYTES - pendingBytes))));
      overflow = true;
    } else {
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0 || overflow) {
    const item = finishLine(Buffer.alloc(0), 0, 0);
    if (item !== undefined) yield item;
  }
}
