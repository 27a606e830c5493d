/**
 * The numbers inside quota headers: counts, policy windows and reset times, whichever form the
 * server chose for them. `parseReset` tells delta seconds, epoch seconds, epoch ms and
 * HTTP-dates apart.
 *
 * Separate from the header readers so the unit and magnitude rules read in one place, and the
 * readers deal only in field names. Anything malformed is `undefined`, never a throw.
 */
import { parseHttpDate } from './retry-after.js';
import type { SfBare } from './structured-fields.js';

/** Quota values come in seconds; times here are in ms. */
export const SECOND_MS = 1000;
const DAY_S = 86_400;
const YEAR_S = 365 * DAY_S;

/**
 * A reset value as epoch ms (never before `nowMs`), told apart by magnitude, which works
 * because the three numeric readings live orders of magnitude apart (now is ~1.7e9 s, ~1.7e12 ms):
 * - ≤ 1 year (31,536,000) → delta seconds (Reddit; the IETF drafts). Checked first, so a fake
 *   clock near 0 still reads small values as deltas;
 * - within [now − 1 day, now + 1 year] in seconds → epoch seconds (GitHub, Twitter; a fraction
 *   as Discord sends is kept); the day of slack absorbs clock skew, and a past time means "now";
 * - within the same window in ms → epoch ms;
 * - an HTTP-date (any of its three forms) → that time;
 * - anything else (negative, text, a timestamp years off, a 40-year "delta") → undefined.
 */
export function parseReset(text: string, nowMs: number): number | undefined {
  if (!Number.isFinite(nowMs)) return undefined;
  const value = parseNonNegative(text);
  if (value === undefined) {
    const dateMs = parseHttpDate(text.trim(), nowMs);
    return dateMs === undefined ? undefined : Math.max(nowMs, dateMs);
  }
  if (value <= YEAR_S) return afterSeconds(nowMs, value);
  const nowS = nowMs / SECOND_MS;
  if (value >= nowS - DAY_S && value <= nowS + YEAR_S) return Math.max(nowMs, Math.round(value * SECOND_MS));
  if (value >= nowMs - DAY_S * SECOND_MS && value <= nowMs + YEAR_S * SECOND_MS) return Math.max(nowMs, Math.round(value));
  return undefined;
}

/** A count from a Structured Field integer, or a plain decimal string (Reddit sends "599.0"); fractions round down. */
export function count(value: SfBare | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const n = parseNonNegative(value);
    return n === undefined ? undefined : Math.floor(n);
  }
  return value.kind === 'integer' && typeof value.value === 'number' && value.value >= 0 ? value.value : undefined;
}

/** A policy window (`w`, seconds): zero or longer than a year is not a window we can pace by. */
export function windowOf(value: SfBare | undefined): number | undefined {
  const seconds = count(value);
  return seconds === undefined || seconds === 0 || seconds > YEAR_S ? undefined : seconds * SECOND_MS;
}

/** `nowMs` plus a delta in seconds; a delta over a year is garbage, not a reset. */
export function afterSeconds(nowMs: number, seconds: number | undefined): number | undefined {
  if (seconds === undefined || seconds > YEAR_S || !Number.isFinite(nowMs)) return undefined;
  return nowMs + Math.round(seconds * SECOND_MS);
}

const PLAIN_NUMBER = /^\d{1,16}(?:\.\d{1,6})?$/;

/** Digits with an optional fraction; no sign, exponent or units; at most 16 integer digits. */
function parseNonNegative(text: string): number | undefined {
  const trimmed = text.trim();
  if (!PLAIN_NUMBER.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return n <= Number.MAX_SAFE_INTEGER ? n : undefined;
}
