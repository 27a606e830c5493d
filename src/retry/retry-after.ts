/**
 * Retry-After (RFC 9110 §10.2.3): either delta-seconds or an HTTP-date (§5.6.7) in one of
 * three forms. Pure: the caller passes the clock.
 *
 * We parse with our own anchored regexes instead of Date.parse, which accepts far more than
 * HTTP allows (bare numbers, other time zones, free text in some engines). Anything we do not
 * recognise is `undefined`, and the policy falls back to normal backoff.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// HTTP-date is case-sensitive (RFC 9110 §5.6.7), so the names must match exactly. The weekday
// is checked for form only: a server whose weekday disagrees with its date still meant the date.
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete) */
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` (obsolete): a one-digit day is padded with a space. */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

const DELTA_SECONDS = /^\d+$/;

/**
 * The delay in ms from `nowMs` that a Retry-After value asks for: 0 for a date in the past,
 * `undefined` when the value is missing, malformed or negative. For a repeated header the
 * first value counts. A huge delta saturates at Number.MAX_SAFE_INTEGER ms (never NaN or
 * Infinity), so it is always "too long" rather than "no hint".
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text === '') return undefined;

  if (DELTA_SECONDS.test(text)) {
    return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  }
  const dateMs = parseHttpDate(text, nowMs);
  if (dateMs === undefined) return undefined;
  const delay = dateMs - nowMs;
  if (!Number.isFinite(delay)) return undefined;
  return Math.max(0, delay);
}

/**
 * An HTTP-date in any of its three forms, as epoch ms; `undefined` if it is not one or names
 * an impossible day or time. `nowMs` is needed only to place the two-digit year of the
 * RFC 850 form.
 */
export function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return toEpochMs(toParts(m[3], m[2], m[1], m[4], m[5], m[6]));

  m = ASCTIME_DATE.exec(text);
  if (m) return toEpochMs(toParts(m[6], m[1], m[2], m[3], m[4], m[5]));

  m = RFC850_DATE.exec(text);
  if (m) {
    const parts = toParts(m[3], m[2], m[1], m[4], m[5], m[6]);
    const year = placeTwoDigitYear(parts, nowMs);
    return year === undefined ? undefined : toEpochMs({ ...parts, year });
  }
  return undefined;
}

interface DateParts {
  year: number;
  /** 0-based; -1 when unknown. */
  monthIndex: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function toParts(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): DateParts {
  return {
    year: Number(year),
    monthIndex: MONTHS.indexOf(month ?? ''),
    day: Number(day), // asctime pads with a space: Number(' 6') is 6
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
  };
}

/**
 * RFC 9110 §5.6.7: a two-digit year that would put the timestamp more than 50 years in the
 * future means the most recent past year with those digits. We take the year in the 100-year
 * window that ends 50 years after now, so the rule also holds near the end of a century.
 */
function placeTwoDigitYear(parts: DateParts, nowMs: number): number | undefined {
  if (!Number.isFinite(nowMs)) return undefined;
  const nowYear = new Date(nowMs).getUTCFullYear();
  const limit = new Date(nowMs);
  limit.setUTCFullYear(nowYear + 50);
  const limitMs = limit.getTime();
  const at = (year: number): number => utcMs({ ...parts, year });

  let year = nowYear - (nowYear % 100) + parts.year;
  if (at(year) > limitMs) year -= 100;
  else if (at(year + 100) <= limitMs) year += 100;
  return year;
}

function toEpochMs(parts: DateParts): number | undefined {
  const { year, monthIndex, day, hour, minute, second } = parts;
  if (monthIndex < 0) return undefined;
  if (day < 1 || day > daysInMonth(year, monthIndex)) return undefined;
  // 60 is a leap second (RFC 9110 allows it); it simply lands on the next minute.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  return utcMs(parts);
}

function daysInMonth(year: number, monthIndex: number): number {
  if (monthIndex === 1) return isLeapYear(year) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][monthIndex] ?? 0;
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

// Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear takes the year as given.
function utcMs({ year, monthIndex, day, hour, minute, second }: DateParts): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}
