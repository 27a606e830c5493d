// #22 §3: an answer's hints are read once (readHints) and the same reading goes to the retry
// decision and to the lane pacing, so the two cannot disagree on whether it was a throttle.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResponseOutcome } from '../../src/http/outcome.js';
import { readHints, type AnswerHints } from '../../src/retry/hints.js';

const NOW = Date.UTC(2025, 0, 1);
const QUOTA_HEADERS = { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '40', 'x-ratelimit-reset': String(NOW / 1_000 + 60) };
const QUOTA = { limit: 100, remaining: 40, resetAtMs: NOW + 60_000, source: 'x-ratelimit' };

function response(status: number, headers: { [name: string]: string | string[] } = {}): ResponseOutcome {
  return { kind: 'response', status, statusText: '', headers, contentType: null, bytes: 0, bodyEncoding: 'none', body: null, latencyMs: 1 };
}

const hints = (isThrottle: boolean, retryAfterMs?: number, hasUnreadableRetryAfter = false, quota?: typeof QUOTA): AnswerHints => ({
  isThrottle,
  retryAfterMs,
  hasUnreadableRetryAfter,
  quota,
});

// [name, answer, its hints]
const ANSWERS: Array<[string, ResponseOutcome, AnswerHints]> = [
  ['429 with Retry-After in seconds', response(429, { 'retry-after': '5' }), hints(true, 5_000)],
  ['429 without Retry-After', response(429), hints(true)],
  ['429 with an unparsable Retry-After', response(429, { 'retry-after': 'soon' }), hints(true, undefined, true)],
  ['503 with Retry-After in seconds', response(503, { 'retry-after': '120' }), hints(true, 120_000)],
  ['503 with Retry-After as an HTTP-date', response(503, { 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), hints(true, 30_000)],
  ['503 with an HTTP-date in the past', response(503, { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' }), hints(true, 0)],
  ['503 with an unparsable Retry-After', response(503, { 'retry-after': 'soon' }), hints(false, undefined, true)],
  ['503 with a negative Retry-After', response(503, { 'retry-after': '-1' }), hints(false, undefined, true)],
  ['503 with an empty Retry-After', response(503, { 'retry-after': '' }), hints(false, undefined, true)],
  ['503 without Retry-After', response(503), hints(false)],
  ['500 with Retry-After: a wait, not a throttle', response(500, { 'retry-after': '3' }), hints(false, 3_000)],
  ['200 with quota headers', response(200, QUOTA_HEADERS), hints(false, undefined, false, QUOTA)],
  ['429 with quota headers: read too (the lane pacing decides which counts)', response(429, { 'retry-after': '1', ...QUOTA_HEADERS }), hints(true, 1_000, false, QUOTA)],
  ['200 with nothing to say', response(200), hints(false)],
];

describe('#22: readHints', () => {
  for (const [name, answer, expected] of ANSWERS) {
    test(`#22: ${name}`, () => {
      assert.deepEqual(readHints(answer, NOW), expected);
    });
  }
});
