/**
 * Text helpers several stages use: the one way a duration is written, one-line text from
 * outside, literal regexes. A leaf module that imports nothing, so rate/, plan/, http/, run/,
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

/**
 * The one way ratefetch writes a duration, in records, messages, the progress line and the
 * summary alike: `480ms`, `1.2s`, `25.1s`, `4m05s`, `2h03m`, `3d04h`.
 */
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${stripZero((tenths / 10).toFixed(1))}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
  const minutes = Math.round(ms / MINUTE_MS);
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`;
  const hours = Math.round(ms / HOUR_MS);
  return `${Math.floor(hours / 24)}d${pad2(hours % 24)}h`;
}

/** Rounded up to whole seconds, for a countdown that must not say `0ms` while time is left: `waiting 12s`. */
export function formatCountdown(ms: number): string {
  return formatDuration(Math.ceil(Math.max(0, ms) / 1000) * 1000);
}

function stripZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `18.4/s`, or `3.0/min` below one a second, for a rate limit. */
export function formatLimit(rps: number): string {
  return rps >= 1 ? `${rps.toFixed(1)}/s` : `${(rps * 60).toFixed(1)}/min`;
}

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `512 bytes`, `1.5 MiB`, `20 MiB`: sizes in 1024s, for messages and the summary. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'no limit';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  return `${stripZero(value.toFixed(value >= 100 ? 0 : 1))} ${BYTE_UNITS[unit]}`;
}

/**
 * A size as a user writes it: bytes (`1048576`), or a number with K, M, G or T, each 1024 of
 * the one before as curl counts them (`10M`, `1.5G`, `512k`, `10MiB`, `10MB`). Undefined when
 * it is none of these.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text);
  if (match === null) return undefined;
  const power = match[2] === undefined ? 0 : 'kmgt'.indexOf(match[2].toLowerCase()) + 1;
  const bytes = Math.floor(Number(match[1]) * 1024 ** power);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
