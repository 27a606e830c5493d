// #22 §3: an answer's hints are read once (readHints) and the same reading goes to the retry
// decision and to the lane pacing, so the two cannot disagree on whether it was a throttle.
// #23: a 503 is a throttle only when the lane's controller judges its 503s load shedding: the
// retry decision reads the hints as the lane pacing hands them on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResponseOutcome } from '../../src/http/outcome.js';
import { resolveOptions } from '../../src/options.js';
import { Lanes, type Lane, type LaneRateChange } from '../../src/rate/lanes.js';
import type { AnswerEvidence } from '../../src/rate/controller/rate-controller.js';
import { TokenBucketLimiter, type Clock } from '../../src/rate/limiter.js';
import { createRedactor } from '../../src/record/redact.js';
import { readHints, type AnswerHints } from '../../src/retry/hints.js';
import { decideRetry, type RetryPolicy } from '../../src/retry/policy.js';
import { LanePacing } from '../../src/run/lane-pacing.js';
import type { RunEvent } from '../../src/events.js';

const NOW = Date.UTC(2025, 0, 1);
const POLICY: RetryPolicy = { retries: 5, backoffBaseMs: 1_000, maxBackoffMs: 60_000, maxRetryAfterMs: 600_000 };
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
  ['503 with Retry-After in seconds: a fault until 503s prove load shedding', response(503, { 'retry-after': '120' }), hints(false, 120_000)],
  ['503 with Retry-After as an HTTP-date', response(503, { 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), hints(false, 30_000)],
  ['503 with an HTTP-date in the past', response(503, { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' }), hints(false, 0)],
  ['503 with an unparsable Retry-After', response(503, { 'retry-after': 'soon' }), hints(false, undefined, true)],
  ['503 with a negative Retry-After', response(503, { 'retry-after': '-1' }), hints(false, undefined, true)],
  ['503 with an empty Retry-After', response(503, { 'retry-after': '' }), hints(false, undefined, true)],
  ['503 without Retry-After', response(503), hints(false)],
  ['500 with Retry-After: a wait, not a throttle', response(500, { 'retry-after': '3' }), hints(false, 3_000)],
  ['200 with quota headers', response(200, QUOTA_HEADERS), hints(false, undefined, false, QUOTA)],
  [
    '429 with quota headers: read too (the lane pacing decides which counts)',
    response(429, { 'retry-after': '1', ...QUOTA_HEADERS }),
    hints(true, 1_000, false, QUOTA),
  ],
  ['200 with nothing to say', response(200), hints(false)],
];

describe('#22: readHints', () => {
  for (const [name, answer, expected] of ANSWERS) {
    test(`#22: ${name}`, () => {
      assert.deepEqual(readHints(answer, NOW), expected);
    });
  }
});

/** Lanes that remember whether each settled request was read as a refusal. */
class RecordingLanes extends Lanes {
  readonly answers: string[] = [];
  override settled(lane: Lane, now: number, answer: AnswerEvidence): { isRefusal: boolean; change: LaneRateChange | undefined } {
    const reading = super.settled(lane, now, answer);
    this.answers.push(reading.isRefusal ? 'throttled' : 'accepted');
    return reading;
  }
}

/** One answer through the lane pacing of a fresh --rps 40 lane (its controller may cut), on a clock stopped at NOW. */
function paceOne(answer: ResponseOutcome, read: AnswerHints): { answer: string | undefined; events: RunEvent[]; hints: AnswerHints } {
  const clock: Clock = { now: () => NOW };
  const limiter = new TokenBucketLimiter(clock);
  const lanes = new RecordingLanes(resolveOptions({ rps: 40 }), limiter, clock.now);
  const events: RunEvent[] = [];
  const pacing = new LanePacing({ lanes, limiter, clock, emit: (e) => events.push(e), redactor: createRedactor(), onPaused: () => undefined });
  const lane = lanes.laneFor(new URL('http://api.test/items/1'));
  pacing.started(lane, NOW);
  const hints = pacing.settled(lane, NOW, answer, read);
  return { answer: lanes.answers[0], events, hints };
}

describe('#22: the retry policy and the lane pacing agree on every answer', () => {
  for (const [name, answer] of ANSWERS) {
    test(`#22: ${name}`, () => {
      const paced = paceOne(answer, readHints(answer, NOW));
      const decision = decideRetry(answer, paced.hints, 1, 'GET', POLICY, () => 0.5);
      // The host is paused exactly when the rate controller is told of a throttle.
      assert.equal(decision.retry && decision.pauseHost, paced.answer === 'throttled', JSON.stringify({ decision, answer: paced.answer }));
    });
  }

  test('#22: a 503 with an unparsable Retry-After is a plain 503: backoff, no host pause, no rate cut', () => {
    const answer = response(503, { 'retry-after': 'soon' });
    const read = readHints(answer, NOW);
    assert.deepEqual(
      decideRetry(answer, read, 1, 'GET', POLICY, () => 0.5),
      {
        retry: true,
        delayMs: 500,
        source: 'backoff',
        pauseHost: false,
        reason: '503 Service Unavailable, unparsable Retry-After ignored',
      },
    );
    const paced = paceOne(answer, read);
    assert.equal(paced.answer, 'accepted', 'the rate controller hears an accepted answer, not a throttle');
    assert.deepEqual(
      paced.events.filter((e) => e.type === 'pause' || (e.type === 'rate' && e.reason === 'throttled')),
      [],
    );
  });
});
