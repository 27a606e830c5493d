import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeOutcome, type AttemptOutcome } from '../../src/http/outcome.js';
import type { ErrorCode } from '../../src/record/error-codes.js';
import { computeBackoffMs, decideRetry, isRetryable, type RetryPolicy } from '../../src/retry/policy.js';
import { NO_HINTS, readHints, type AnswerHints } from '../../src/retry/hints.js';

const NOW = Date.UTC(2025, 0, 1);
const POLICY: RetryPolicy = { retries: 5, backoffBaseMs: 1_000, maxBackoffMs: 60_000, maxRetryAfterMs: 600_000 };

function response(status: number, headers: { [name: string]: string | string[] } = {}, statusText = ''): AttemptOutcome {
  return {
    kind: 'response',
    status,
    statusText,
    headers,
    contentType: null,
    bytes: 0,
    bodyEncoding: 'none',
    body: null,
    latencyMs: 1,
  };
}

function failure(code: ErrorCode, message = `failed: ${code}`): AttemptOutcome {
  return { kind: 'failure', code, message, latencyMs: 1 };
}

/** The hints the scheduler reads from each answer and hands to decideRetry (#22 §3). */
const read = (outcome: AttemptOutcome): AnswerHints => (outcome.kind === 'response' ? readHints(outcome, NOW) : NO_HINTS);
const fixed = (value: number) => (): number => value;
const noJitter = (): number => {
  throw new Error('a server-given delay must not be jittered');
};

describe('isRetryable: the table', () => {
  // [outcome, retried for idempotent methods, retried for any method]
  const rows: Array<[string, AttemptOutcome, boolean, boolean]> = [
    ['429', response(429), true, true],
    ['503', response(503), true, true],
    ['500', response(500), true, false],
    ['502', response(502), true, false],
    ['504', response(504), true, false],
    ['CONNECTION_RESET', failure('CONNECTION_RESET'), true, false],
    ['CONNECTION_REFUSED', failure('CONNECTION_REFUSED'), true, true],
    ['TIMEOUT', failure('TIMEOUT'), true, false],
    ['200', response(200), false, false],
    ['204', response(204), false, false],
    ['301', response(301), false, false],
    ['304', response(304), false, false],
    ['400', response(400), false, false],
    ['401', response(401), false, false],
    ['403', response(403), false, false],
    ['404', response(404), false, false],
    ['408', response(408), false, false],
    ['501', response(501), false, false],
    ['505', response(505), false, false],
    ['DNS_FAILURE', failure('DNS_FAILURE'), false, false],
    ['BODY_TOO_LARGE', failure('BODY_TOO_LARGE'), false, false],
    ['INVALID_URL', failure('INVALID_URL'), false, false],
    ['TLS_ERROR', failure('TLS_ERROR'), false, false],
    ['NETWORK_ERROR', failure('NETWORK_ERROR'), false, false],
    ['DECODE_ERROR', failure('DECODE_ERROR'), false, false],
    ['TOO_MANY_REDIRECTS', failure('TOO_MANY_REDIRECTS'), false, false],
  ];
  const idempotent = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'get', 'Delete'];
  const other = ['POST', 'PATCH', 'post', 'TRACE', 'PROPFIND'];

  for (const [name, outcome, forIdempotent, forAny] of rows) {
    test(`${name}: idempotent ${forIdempotent}, other methods ${forAny}`, () => {
      for (const method of idempotent) assert.equal(isRetryable(outcome, method), forIdempotent, method);
      for (const method of other) assert.equal(isRetryable(outcome, method), forAny, method);
    });
  }
});

describe('decideRetry: not retried', () => {
  const rows: Array<[string, AttemptOutcome, string, number]> = [
    ['2xx', response(200), 'GET', 1],
    ['2xx even with Retry-After', response(200, { 'retry-after': '5' }), 'GET', 1],
    ['404', response(404), 'GET', 1],
    ['POST 500 (may have been processed)', response(500), 'POST', 1],
    ['PATCH timeout', failure('TIMEOUT'), 'PATCH', 1],
    ['DNS failure', failure('DNS_FAILURE'), 'GET', 1],
    ['not retryable stays final when retries are used up', response(404), 'GET', 6],
  ];
  for (const [name, outcome, method, attempt] of rows) {
    test(name, () => {
      assert.deepEqual(decideRetry(outcome, read(outcome), attempt, method, POLICY, fixed(0.5)), { retry: false, final: true });
    });
  }
});

describe('decideRetry: retries used up', () => {
  const rows: Array<[string, AttemptOutcome, number, RetryPolicy]> = [
    ['503 after retries + 1 attempts', response(503), 6, POLICY],
    ['timeout after retries + 1 attempts', failure('TIMEOUT'), 6, POLICY],
    ['beyond the budget', response(429), 9, POLICY],
    ['retries 0: the first attempt is the last', response(503), 1, { ...POLICY, retries: 0 }],
    ['exhausted wins over a too-long Retry-After', response(429, { 'retry-after': '99999' }), 6, POLICY],
  ];
  for (const [name, outcome, attempt, policy] of rows) {
    test(name, () => {
      const decision = decideRetry(outcome, read(outcome), attempt, 'GET', policy, fixed(0.5));
      assert.equal(decision.retry, false);
      assert.ok(!decision.retry && decision.final === false && decision.code === undefined);
    });
  }

  test('#8: out of retries, a 429 still pauses its host for the others', () => {
    const [told, untold, unavailable] = [response(429, { 'retry-after': '2' }), response(429), response(503)];
    assert.deepEqual(decideRetry(told, read(told), 6, 'GET', POLICY, fixed(0.5)), {
      retry: false,
      final: false,
      hostPause: { delayMs: 2_000, source: 'server', reason: '429 Too Many Requests, Retry-After 2s' },
    });
    const bare = decideRetry(untold, read(untold), 6, 'GET', POLICY, fixed(0.5));
    assert.ok(!bare.retry && bare.hostPause?.source === 'backoff');
    assert.deepEqual(decideRetry(unavailable, read(unavailable), 6, 'GET', POLICY, fixed(0.5)), { retry: false, final: false });
  });

  test('the last allowed retry is still taken', () => {
    const unavailable = response(503);
    assert.equal(decideRetry(unavailable, read(unavailable), 5, 'GET', POLICY, fixed(0.5)).retry, true);
  });
});

describe('decideRetry: Retry-After', () => {
  const rows: Array<[string, AttemptOutcome, unknown]> = [
    [
      '429 with seconds: server delay, no jitter, pause the host',
      response(429, { 'retry-after': '5' }),
      { retry: true, delayMs: 5_000, source: 'server', pauseHost: true, reason: '429 Too Many Requests, Retry-After 5s' },
    ],
    [
      "#23: 503 with seconds: its own retry waits; the host pauses only once the lane's 503s prove load shedding",
      response(503, { 'retry-after': '120' }),
      { retry: true, delayMs: 120_000, source: 'server', pauseHost: false, reason: '503 Service Unavailable, Retry-After 2m00s' },
    ],
    [
      '429 with an HTTP-date',
      response(429, { 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }),
      { retry: true, delayMs: 30_000, source: 'server', pauseHost: true, reason: '429 Too Many Requests, Retry-After 30s' },
    ],
    [
      'HTTP-date in the past retries at once',
      response(503, { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' }),
      { retry: true, delayMs: 0, source: 'server', pauseHost: false, reason: '503 Service Unavailable, Retry-After 0ms' },
    ],
    [
      'repeated header: the first value counts',
      response(429, { 'retry-after': ['2', '30'] }),
      { retry: true, delayMs: 2_000, source: 'server', pauseHost: true, reason: '429 Too Many Requests, Retry-After 2s' },
    ],
    [
      'exactly the maximum is still honoured',
      response(429, { 'retry-after': '600' }),
      { retry: true, delayMs: 600_000, source: 'server', pauseHost: true, reason: '429 Too Many Requests, Retry-After 10m00s' },
    ],
    [
      '500 with Retry-After: server delay, no host pause',
      response(500, { 'retry-after': '3' }),
      { retry: true, delayMs: 3_000, source: 'server', pauseHost: false, reason: '500 Internal Server Error, Retry-After 3s' },
    ],
    [
      'the server reason phrase is used when given',
      response(429, { 'retry-after': '1' }, 'Slow Down'),
      { retry: true, delayMs: 1_000, source: 'server', pauseHost: true, reason: '429 Slow Down, Retry-After 1s' },
    ],
  ];
  for (const [name, outcome, expected] of rows) {
    test(name, () => {
      assert.deepEqual(decideRetry(outcome, read(outcome), 1, 'GET', POLICY, noJitter), expected);
    });
  }

  const tooLong: Array<[string, AttemptOutcome, number]> = [
    ['one second over the maximum', response(429, { 'retry-after': '601' }), 601_000],
    ['an HTTP-date a day ahead', response(503, { 'retry-after': 'Thu, 02 Jan 2025 00:00:00 GMT' }), 86_400_000],
    ['a huge number', response(429, { 'retry-after': '9'.repeat(40) }), Number.MAX_SAFE_INTEGER],
  ];
  for (const [name, outcome, waitMs] of tooLong) {
    test(`too long: ${name}`, () => {
      for (const method of ['GET', 'POST']) {
        assert.deepEqual(decideRetry(outcome, read(outcome), 1, method, POLICY, fixed(0.5)), {
          retry: false,
          final: false,
          code: 'RETRY_AFTER_TOO_LONG',
          waitMs,
        });
      }
    });
  }
});

describe('decideRetry: backoff', () => {
  // random 0.5, base 1 s: attempt 1 → 500 ms, attempt 3 → 2000 ms for a refusal; a fault's
  // backoff stops growing after the second step (faultBackoffMs): attempt 3 → 1000 ms.
  const rows: Array<[string, AttemptOutcome, string, number, unknown]> = [
    [
      '429 without Retry-After still pauses the host',
      response(429),
      'GET',
      1,
      { retry: true, delayMs: 500, source: 'backoff', pauseHost: true, reason: '429 Too Many Requests' },
    ],
    [
      '429 with a malformed Retry-After falls back to backoff',
      response(429, { 'retry-after': 'soon' }),
      'POST',
      1,
      {
        retry: true,
        delayMs: 500,
        source: 'backoff',
        pauseHost: true,
        reason: '429 Too Many Requests, unparsable Retry-After ignored',
      },
    ],
    [
      '429 without Retry-After: the backoff goes on growing',
      response(429),
      'GET',
      3,
      { retry: true, delayMs: 2_000, source: 'backoff', pauseHost: true, reason: '429 Too Many Requests' },
    ],
    [
      '503 without Retry-After does not pause the host, and its backoff stops growing after two steps',
      response(503),
      'POST',
      3,
      { retry: true, delayMs: 1_000, source: 'backoff', pauseHost: false, reason: '503 Service Unavailable' },
    ],
    [
      '503 with a malformed Retry-After does not pause the host',
      response(503, { 'retry-after': '-1' }),
      'GET',
      1,
      {
        retry: true,
        delayMs: 500,
        source: 'backoff',
        pauseHost: false,
        reason: '503 Service Unavailable, unparsable Retry-After ignored',
      },
    ],
    ['502', response(502), 'GET', 1, { retry: true, delayMs: 500, source: 'backoff', pauseHost: false, reason: '502 Bad Gateway' }],
    [
      'connection reset',
      failure('CONNECTION_RESET', 'other side closed'),
      'PUT',
      1,
      { retry: true, delayMs: 500, source: 'backoff', pauseHost: false, reason: 'connection reset' },
    ],
    [
      'connection refused, even for POST',
      failure('CONNECTION_REFUSED'),
      'POST',
      1,
      { retry: true, delayMs: 500, source: 'backoff', pauseHost: false, reason: 'connection refused' },
    ],
    [
      'timeout: a fault, whose backoff stops growing after two steps',
      failure('TIMEOUT', 'timed out after 30s'),
      'GET',
      5,
      { retry: true, delayMs: 1_000, source: 'backoff', pauseHost: false, reason: 'timed out' },
    ],
  ];
  for (const [name, outcome, method, attempt, expected] of rows) {
    test(name, () => {
      assert.deepEqual(decideRetry(outcome, read(outcome), attempt, method, POLICY, fixed(0.5)), expected);
    });
  }
});

describe('computeBackoffMs: full jitter', () => {
  // [attempt, random, expected] with base 1 s, cap 60 s
  const rows: Array<[number, number, number]> = [
    [1, 0, 0],
    [1, 0.5, 500],
    [1, 0.999, 999],
    [2, 0.999, 1_998],
    [3, 0.5, 2_000],
    [6, 0.999, 31_968],
    [7, 0.999, 59_940], // 64 s capped to 60 s
    [7, 0, 0],
    [100, 0.5, 30_000],
    [5_000, 0.5, 30_000], // 2^4999 is Infinity: the cap still applies
    [0, 0.5, 500], // treated as the first attempt
  ];
  for (const [attempt, random, expected] of rows) {
    test(`attempt ${attempt}, random ${random} → ${expected}`, () => {
      assert.equal(computeBackoffMs(attempt, POLICY, fixed(random)), expected);
    });
  }

  test('stays within [0, min(cap, base × 2^(attempt−1))) for every attempt', () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      const ceiling = Math.min(POLICY.maxBackoffMs, POLICY.backoffBaseMs * 2 ** (attempt - 1));
      assert.equal(computeBackoffMs(attempt, POLICY, fixed(0)), 0);
      const high = computeBackoffMs(attempt, POLICY, fixed(0.999));
      assert.ok(high < ceiling && high >= ceiling * 0.99, `attempt ${attempt}: ${high} vs ${ceiling}`);
    }
  });

  const odd: Array<[string, RetryPolicy, () => number, number]> = [
    ['base 0 at a huge attempt is 0, not NaN', { ...POLICY, backoffBaseMs: 0 }, fixed(0.5), 0],
    ['cap 0', { ...POLICY, maxBackoffMs: 0 }, fixed(0.5), 0],
    ['random returning NaN', POLICY, fixed(Number.NaN), 0],
    ['random below 0', POLICY, fixed(-1), 0],
  ];
  for (const [name, policy, random, expected] of odd) {
    test(name, () => {
      assert.equal(computeBackoffMs(5_000, policy, random), expected);
    });
  }
});

describe('describeOutcome', () => {
  const rows: Array<[AttemptOutcome, string]> = [
    [response(503), '503 Service Unavailable'],
    [response(429), '429 Too Many Requests'],
    [response(404, {}, 'Nope'), '404 Nope'],
    [response(599), '599'],
    [response(500, {}, 'Bad\r\nInjected: yes'), '500 Bad Injected: yes'],
    [response(500, {}, ' \t '), '500 Internal Server Error'],
    [failure('TIMEOUT', 'timed out after 30s'), 'timed out after 30s'],
    [failure('NETWORK_ERROR', ''), 'NETWORK_ERROR'],
  ];
  for (const [outcome, expected] of rows) {
    test(expected, () => {
      assert.equal(describeOutcome(outcome), expected);
    });
  }
});

describe('decideRetry: a fault on a lane paced at a rate (#23)', () => {
  // The pace already spaces every start of the lane: a fault's retry takes its next turn in it.
  const paced = (outcome: AttemptOutcome): AnswerHints => ({ ...read(outcome), lanePaced: true });
  const rows: Array<[string, AttemptOutcome, number, unknown]> = [
    ['a reset, first retry', failure('CONNECTION_RESET'), 1, { retry: true, delayMs: 0, source: 'backoff', pauseHost: false, reason: 'connection reset' }],
    [
      'a timeout, fifth retry',
      failure('TIMEOUT', 'timed out after 2s'),
      5,
      { retry: true, delayMs: 0, source: 'backoff', pauseHost: false, reason: 'timed out' },
    ],
    ['a 502', response(502), 3, { retry: true, delayMs: 0, source: 'backoff', pauseHost: false, reason: '502 Bad Gateway' }],
    ['a 503 without Retry-After', response(503), 1, { retry: true, delayMs: 0, source: 'backoff', pauseHost: false, reason: '503 Service Unavailable' }],
    // What the server asked for still holds: that input waits it out.
    [
      "a 503's Retry-After delays that input",
      response(503, { 'retry-after': '1' }),
      1,
      { retry: true, delayMs: 1_000, source: 'server', pauseHost: false, reason: '503 Service Unavailable, Retry-After 1s' },
    ],
    // A refusal is not a fault: its backoff pauses the host as before.
    ['a bare 429 keeps its backoff', response(429), 3, { retry: true, delayMs: 2_000, source: 'backoff', pauseHost: true, reason: '429 Too Many Requests' }],
  ];
  for (const [name, outcome, attempt, expected] of rows) {
    test(name, () => {
      assert.deepEqual(decideRetry(outcome, paced(outcome), attempt, 'GET', POLICY, fixed(0.5)), expected);
    });
  }

  test('the retry budget holds: past --retries a fault is not retried, paced or not', () => {
    const outcome = failure('TIMEOUT');
    assert.deepEqual(decideRetry(outcome, paced(outcome), POLICY.retries + 1, 'GET', POLICY, fixed(0.5)), { retry: false, final: false });
  });

  test('with no rate on the lane, a fault backs off as before', () => {
    const outcome = failure('CONNECTION_RESET');
    assert.deepEqual(decideRetry(outcome, { ...NO_HINTS, lanePaced: false }, 1, 'GET', POLICY, fixed(0.5)), {
      retry: true,
      delayMs: 500,
      source: 'backoff',
      pauseHost: false,
      reason: 'connection reset',
    });
  });
});
