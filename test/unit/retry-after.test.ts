import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRetryAfter } from '../../src/retry/retry-after.js';

const NOW = Date.UTC(2025, 0, 1, 0, 0, 0); // Wed, 01 Jan 2025 00:00:00 GMT
const SECOND = 1000;

type Case = [name: string, value: string | string[] | undefined, expected: number | undefined, nowMs?: number];

function check(cases: Case[]): void {
  for (const [name, value, expected, nowMs = NOW] of cases) {
    test(name, () => {
      assert.equal(parseRetryAfter(value, nowMs), expected);
    });
  }
}

describe('parseRetryAfter: delta-seconds', () => {
  check([
    ['zero', '0', 0],
    ['seconds', '5', 5 * SECOND],
    ['one', '1', SECOND],
    ['surrounding whitespace is trimmed', ' \t120 ', 120 * SECOND],
    ['leading zeros', '0005', 5 * SECOND],
    ['a day', '86400', 86_400 * SECOND],
    ['fraction', '1.5', undefined],
    ['negative', '-3', undefined],
    ['explicit plus', '+3', undefined],
    ['unit suffix', '3s', undefined],
    ['exponent', '1e3', undefined],
    ['hex', '0x10', undefined],
    ['two numbers', '5 5', undefined],
    ['folded repeat', '5, 10', undefined],
    ['empty', '', undefined],
    ['blank', '   ', undefined],
    ['missing', undefined, undefined],
    ['full-width digits', '\uff15', undefined],
    ['huge number saturates', '9'.repeat(30), Number.MAX_SAFE_INTEGER],
    ['number beyond double range saturates, not NaN or Infinity', '9'.repeat(400), Number.MAX_SAFE_INTEGER],
    ['delta needs no clock', '5', 5 * SECOND, Number.NaN],
  ]);
});

describe('parseRetryAfter: repeated header', () => {
  check([
    ['the first value counts', ['5', '10'], 5 * SECOND],
    ['a malformed first value is not skipped', ['soon', '10'], undefined],
    ['an empty list', [], undefined],
  ]);
});

describe('parseRetryAfter: IMF-fixdate', () => {
  check([
    ['30 s ahead', 'Wed, 01 Jan 2025 00:00:30 GMT', 30 * SECOND],
    ['trimmed', '  Wed, 01 Jan 2025 00:00:30 GMT\t', 30 * SECOND],
    ['exactly now', 'Wed, 01 Jan 2025 00:00:00 GMT', 0],
    ['in the past → 0', 'Sun, 06 Nov 1994 08:49:37 GMT', 0],
    ['one second in the past → 0', 'Tue, 31 Dec 2024 23:59:59 GMT', 0],
    ['a weekday that does not match the date is tolerated', 'Mon, 01 Jan 2025 00:00:30 GMT', 30 * SECOND],
    ['leap day in a leap year', 'Thu, 29 Feb 2024 00:00:00 GMT', Date.UTC(2024, 1, 29) - Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1)],
    ['leap second', 'Wed, 01 Jan 2025 00:00:60 GMT', 60 * SECOND],
    ['year 0000 stays year 0 (not 1900)', 'Sat, 01 Jan 0000 00:00:00 GMT', 0],
    ['29 Feb in a common year', 'Sat, 29 Feb 2025 00:00:00 GMT', undefined],
    ['29 Feb in a century year', 'Thu, 29 Feb 2100 00:00:00 GMT', undefined],
    ['31 Apr', 'Thu, 31 Apr 2025 00:00:00 GMT', undefined],
    ['day 32', 'Sat, 32 Jan 2025 00:00:00 GMT', undefined],
    ['day 00', 'Sat, 00 Jan 2025 00:00:00 GMT', undefined],
    ['hour 24', 'Wed, 01 Jan 2025 24:00:00 GMT', undefined],
    ['minute 60', 'Wed, 01 Jan 2025 00:60:00 GMT', undefined],
    ['second 61', 'Wed, 01 Jan 2025 00:00:61 GMT', undefined],
    ['one-digit day', 'Wed, 1 Jan 2025 00:00:30 GMT', undefined],
    ['lower-case names (HTTP-date is case-sensitive)', 'wed, 01 jan 2025 00:00:30 GMT', undefined],
    ['unknown month', 'Wed, 01 Foo 2025 00:00:30 GMT', undefined],
    ['other zone', 'Wed, 01 Jan 2025 00:00:30 UTC', undefined],
    ['numeric offset', 'Wed, 01 Jan 2025 00:00:30 +0000', undefined],
    ['no weekday', '01 Jan 2025 00:00:30 GMT', undefined],
    ['trailing text', 'Wed, 01 Jan 2025 00:00:30 GMT extra', undefined],
  ]);
});

describe('parseRetryAfter: obsolete RFC 850 date', () => {
  const NOW_2090 = Date.UTC(2090, 5, 1);
  check([
    ['this century', 'Wednesday, 01-Jan-25 00:01:00 GMT', 60 * SECOND],
    ['the RFC example is in the past century → 0', 'Sunday, 06-Nov-94 08:49:37 GMT', 0],
    ['49 years ahead stays in this century', 'Monday, 01-Jan-74 00:00:00 GMT', Date.UTC(2074, 0, 1) - NOW],
    ['exactly 50 years ahead is not "more than 50"', 'Tuesday, 01-Jan-75 00:00:00 GMT', Date.UTC(2075, 0, 1) - NOW],
    ['just over 50 years ahead → past century → 0', 'Tuesday, 01-Jan-75 00:00:01 GMT', 0],
    ['76 → 1976 → 0', 'Thursday, 01-Jan-76 00:00:00 GMT', 0],
    ['near the end of a century the window slides forward', 'Monday, 01-Jan-05 00:00:00 GMT', Date.UTC(2105, 0, 1) - NOW_2090, NOW_2090],
    ['near the end of a century a recent year stays', 'Sunday, 01-Jan-90 00:00:10 GMT', 0, NOW_2090],
    ['abbreviated weekday is not this form', 'Wed, 01-Jan-25 00:01:00 GMT', undefined],
    ['four-digit year is not this form', 'Wednesday, 01-Jan-2025 00:01:00 GMT', undefined],
    ['invalid day', 'Friday, 31-Jun-25 00:00:00 GMT', undefined],
    ['invalid time', 'Wednesday, 01-Jan-25 25:00:00 GMT', undefined],
    ['no clock → undefined', 'Wednesday, 01-Jan-25 00:01:00 GMT', undefined, Number.NaN],
  ]);
});

describe('parseRetryAfter: obsolete asctime date', () => {
  check([
    ['one-digit day padded with a space', 'Wed Jan  1 00:00:10 2025', 10 * SECOND],
    ['two-digit day', 'Fri Jan 31 00:00:00 2025', 30 * 86_400 * SECOND],
    ['two-digit day with a leading zero', 'Wed Jan 01 00:00:10 2025', 10 * SECOND],
    ['the RFC example is in the past → 0', 'Sun Nov  6 08:49:37 1994', 0],
    ['one-digit day with a single space', 'Wed Jan 1 00:00:10 2025', undefined],
    ['invalid day', 'Sat Feb 30 00:00:00 2025', undefined],
    ['GMT suffix is not this form', 'Wed Jan  1 00:00:10 2025 GMT', undefined],
  ]);
});

describe('parseRetryAfter: garbage Date.parse would take', () => {
  check([
    ['ISO 8601', '2025-01-01T00:00:30Z', undefined],
    ['word', 'tomorrow', undefined],
    ['loose date', 'Jan 1 2025', undefined],
    ['RFC 2822 without seconds', 'Wed, 01 Jan 2025 00:00 GMT', undefined],
    ['NUL and binary', '\u0000\u00ff5', undefined],
    ['2 MB of spaces then junk', `${' '.repeat(2_000_000)}x`, undefined],
  ]);
});
