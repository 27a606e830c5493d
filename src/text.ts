/**
 * Text helpers several stages use. A leaf module that imports nothing, so rate/, plan/, http/,
 * record/ and report/ can share it without importing one another.
 */

/**
 * Text from outside (a server's reason phrase, an error message, a user's flag) as one line of
 * at most `maxChars`: control characters and line separators become a space, so it can neither
 * break an NDJSON line or a log line nor reach a terminal as an escape sequence.
 */
export function toOneLine(text: string, maxChars = Infinity): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

/** `text` as a regex that matches it literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
