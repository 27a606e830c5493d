/**
 * Line breaks counted in raw bytes, for the CSV row reader: LF, CRLF and a lone CR each end a
 * line. Counting bytes ourselves keeps line numbers right where csv-parse's count is not.
 */

const LF = 0x0a;
export const CR = 0x0d;

/** A row's text without its line break. */
export function rowText(bytes: Buffer): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === LF) end--;
  if (end > 0 && bytes[end - 1] === CR) end--;
  return bytes.toString('utf8', 0, end);
}

/** Line breaks in `bytes`: LF, CRLF and a lone CR each count once. */
export function countBreaks(bytes: Buffer): number {
  let count = 0;
  for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) count++;
  for (let i = bytes.indexOf(CR); i !== -1; i = bytes.indexOf(CR, i + 1)) {
    if (bytes[i + 1] !== LF) count++;
  }
  return count;
}

/**
 * The offset just past the `n`th line break in `bytes`, or -1 if there are fewer. A CR at
 * the very end counts only once the input has ended (an LF may follow in the next chunk).
 */
export function afterBreaks(bytes: Buffer, n: number, isEnd: boolean): number {
  let found = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === LF) found++;
    else if (byte === CR) {
      if (i + 1 === bytes.length && !isEnd) return -1;
      if (bytes[i + 1] === LF) continue; // the LF ends this break
      found++;
    } else continue;
    if (found === n) return i + 1;
  }
  return -1;
}
