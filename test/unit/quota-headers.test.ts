import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QUOTA_PACING, decideQuotaPacing } from '../../src/rate/quota-pacing.js';
import { type QuotaWindow, QuotaWindows } from '../../src/rate/quota-windows.js';
import { parseQuotaHeaders, parseReset, type QuotaState } from '../../src/retry/quota-headers.js';

const NOW = Date.UTC(2025, 0, 1, 0, 0, 0); // Wed, 01 Jan 2025 00:00:00 GMT
const NOW_S = NOW / 1000;
const SECOND = 1000;
const DAY_S = 86_400;
const YEAR_S = 365 * DAY_S;

type Headers = Record<string, string | string[] | undefined>;
type ParseCase = [name: string, headers: Headers, expected: QuotaState | undefined];

function checkParse(cases: ParseCase[]): void {
  for (const [name, headers, expected] of cases) {
    test(name, () => {
      assert.deepEqual(parseQuotaHeaders(headers, NOW), expected);
    });
  }
}

const X = 'x-ratelimit';
const DRAFT = 'ratelimit-draft';
const COMBINED = 'ratelimit-combined';
const STRUCTURED = 'ratelimit-structured';

describe('#11: X-RateLimit-* and X-Rate-Limit-*', () => {
  checkParse([
    [
      'GitHub: epoch-seconds reset',
      { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-reset': String(NOW_S + 3600), 'x-ratelimit-used': '1' },
      { source: X, limit: 5000, remaining: 4999, resetAtMs: NOW + 3600 * SECOND },
    ],
    [
      'Twitter spelling X-Rate-Limit-*',
      { 'x-rate-limit-limit': '900', 'x-rate-limit-remaining': '899', 'x-rate-limit-reset': String(NOW_S + 900) },
      { source: X, limit: 900, remaining: 899, resetAtMs: NOW + 900 * SECOND },
    ],
    [
      'Reddit: decimal remaining, delta-seconds reset',
      { 'x-ratelimit-remaining': '599.0', 'x-ratelimit-used': '1', 'x-ratelimit-reset': '280' },
      { source: X, remaining: 599, resetAtMs: NOW + 280 * SECOND },
    ],
    ['a fractional remaining rounds down', { 'x-ratelimit-remaining': '4.9' }, { source: X, remaining: 4 }],
    [
      'epoch-ms reset',
      { 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': String(NOW + 30 * SECOND) },
      { source: X, remaining: 5, resetAtMs: NOW + 30 * SECOND },
    ],
    ['epoch seconds with a fraction (Discord)', { 'x-ratelimit-reset': `${NOW_S + 1}.5` }, { source: X, resetAtMs: NOW + 1500 }],
    [
      'HTTP-date reset',
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'Wed, 01 Jan 2025 00:00:30 GMT' },
      { source: X, remaining: 0, resetAtMs: NOW + 30 * SECOND },
    ],
    ['HTTP-date in the past → now', { 'x-ratelimit-reset': 'Tue, 31 Dec 2024 23:59:00 GMT' }, { source: X, resetAtMs: NOW }],
    ['header names in any case', { 'X-RateLimit-Remaining': '5', 'X-RATELIMIT-LIMIT': '10' }, { source: X, remaining: 5, limit: 10 }],
    ['surrounding whitespace', { 'x-ratelimit-remaining': ' 5\t' }, { source: X, remaining: 5 }],
    ['a repeat that agrees counts once', { 'x-ratelimit-remaining': ['5', '5'] }, { source: X, remaining: 5 }],
    ['remaining without reset gives remaining only', { 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': 'soon' }, { source: X, remaining: 5 }],
    ['reset without remaining', { 'x-ratelimit-reset': '30' }, { source: X, resetAtMs: NOW + 30 * SECOND }],
  ]);
});

describe('#11: malformed X-RateLimit-Remaining is ignored', () => {
  const bad: Array<[string, string | string[]]> = [
    ['negative', '-1'],
    ['explicit plus', '+5'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['text', 'lots'],
    ['unit suffix', '5 requests'],
    ['empty', ''],
    ['blank', '   '],
    ['exponent', '1e3'],
    ['hex', '0x10'],
    ['huge', '9'.repeat(30)],
    ['beyond safe integers', '9007199254740993'],
    ['a repeat that disagrees', ['5', '6']],
    ['a joined repeat', '5, 6'],
    ['empty list', []],
  ];
  checkParse(bad.map(([name, value]): ParseCase => [name, { 'x-ratelimit-remaining': value }, undefined]));
  checkParse([
    ['no headers at all', {}, undefined],
    ['unrelated headers', { 'content-type': 'text/plain', 'retry-after': '5' }, undefined],
    ['undefined values', { 'x-ratelimit-remaining': undefined, ratelimit: undefined }, undefined],
  ]);
});

describe('#11: parseReset tells delta s, epoch s and epoch ms apart by magnitude', () => {
  const cases: Array<[name: string, text: string, expected: number | undefined, nowMs?: number]> = [
    ['0 → now', '0', NOW],
    ['delta 1 s', '1', NOW + SECOND],
    ['delta a fraction', '1.5', NOW + 1500],
    ['delta exactly 1 year (the largest delta)', String(YEAR_S), NOW + YEAR_S * SECOND],
    ['just over a year: not a delta, far from now: ignored', String(YEAR_S + 1), undefined],
    ['a 40-year "delta" is ignored', String(40 * YEAR_S), undefined],
    ['epoch s one day ago (edge) → now', String(NOW_S - DAY_S), NOW],
    ['epoch s a second before that edge → ignored', String(NOW_S - DAY_S - 1), undefined],
    ['epoch s now', String(NOW_S), NOW],
    ['epoch s one year ahead (edge)', String(NOW_S + YEAR_S), NOW + YEAR_S * SECOND],
    ['epoch s past that edge → ignored', String(NOW_S + YEAR_S + 1), undefined],
    ['between the s and ms ranges → ignored', String(NOW_S * 100), undefined],
    ['epoch ms one day ago (edge) → now', String(NOW - DAY_S * SECOND), NOW],
    ['epoch ms a ms before that edge → ignored', String(NOW - DAY_S * SECOND - 1), undefined],
    ['epoch ms ahead', String(NOW + 2500), NOW + 2500],
    ['epoch ms one year ahead (edge)', String(NOW + YEAR_S * SECOND), NOW + YEAR_S * SECOND],
    ['epoch ms past that edge → ignored', String(NOW + YEAR_S * SECOND + 1), undefined],
    ['epoch µs → ignored', String(NOW * 1000), undefined],
    ['IMF-fixdate', 'Wed, 01 Jan 2025 00:01:00 GMT', NOW + 60 * SECOND],
    ['asctime', 'Wed Jan  1 00:01:00 2025', NOW + 60 * SECOND],
    ['ISO 8601 is not an HTTP-date', '2025-01-01T00:01:00Z', undefined],
    ['negative', '-30', undefined],
    ['text', 'soon', undefined],
    ['empty', '', undefined],
    ['huge', '9'.repeat(30), undefined],
    ['a fake clock near zero still reads small values as deltas', '30', 5 * SECOND + 30 * SECOND, 5 * SECOND],
    ['a clock at 0', '30', 30 * SECOND, 0],
    ['no clock, no reset', '30', undefined, Number.NaN],
  ];
  for (const [name, text, expected, nowMs = NOW] of cases) {
    test(name, () => {
      assert.equal(parseReset(text, nowMs), expected);
    });
  }
});

describe('#11: early drafts, separate RateLimit-Limit/-Remaining/-Reset', () => {
  checkParse([
    [
      'the three fields, reset in delta seconds',
      { 'ratelimit-limit': '100', 'ratelimit-remaining': '50', 'ratelimit-reset': '30' },
      { source: DRAFT, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND },
    ],
    [
      'drafts 00–03: the window as a policy after the limit',
      { 'ratelimit-limit': '100, 100;w=60', 'ratelimit-remaining': '50', 'ratelimit-reset': '30' },
      { source: DRAFT, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND, windowMs: 60 * SECOND },
    ],
    [
      'drafts 00–03: several policies, the one matching the limit',
      { 'ratelimit-limit': '10, 10;w=1, 50;w=60, 1000;w=3600', 'ratelimit-remaining': '9', 'ratelimit-reset': '1' },
      { source: DRAFT, limit: 10, remaining: 9, resetAtMs: NOW + SECOND, windowMs: SECOND },
    ],
    [
      'drafts 05–06: the window in RateLimit-Policy',
      { 'ratelimit-limit': '100', 'ratelimit-policy': '100;w=60', 'ratelimit-remaining': '50', 'ratelimit-reset': '30' },
      { source: DRAFT, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND, windowMs: 60 * SECOND },
    ],
    [
      'a policy for another limit gives no window',
      { 'ratelimit-limit': '100', 'ratelimit-policy': '50;w=60', 'ratelimit-remaining': '50' },
      { source: DRAFT, limit: 100, remaining: 50 },
    ],
    ['remaining alone', { 'ratelimit-remaining': '7' }, { source: DRAFT, remaining: 7 }],
    [
      'a malformed limit keeps the rest',
      { 'ratelimit-limit': 'many', 'ratelimit-remaining': '7', 'ratelimit-reset': '3' },
      { source: DRAFT, remaining: 7, resetAtMs: NOW + 3 * SECOND },
    ],
    ['conflicting repeated limits are ignored', { 'ratelimit-limit': ['100', '200'], 'ratelimit-remaining': '7' }, { source: DRAFT, remaining: 7 }],
    ['negative reset ignored', { 'ratelimit-remaining': '7', 'ratelimit-reset': '-3' }, { source: DRAFT, remaining: 7 }],
  ]);
});

describe('#11: draft-07 combined RateLimit dictionary', () => {
  checkParse([
    [
      'with its policy',
      { ratelimit: 'limit=100, remaining=50, reset=30', 'ratelimit-policy': '100;w=60' },
      { source: COMBINED, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND, windowMs: 60 * SECOND },
    ],
    [
      'several policies: the window of the one matching the limit',
      { ratelimit: 'limit=1000, remaining=50, reset=300', 'ratelimit-policy': '100;w=60, 1000;w=3600' },
      { source: COMBINED, limit: 1000, remaining: 50, resetAtMs: NOW + 300 * SECOND, windowMs: 3600 * SECOND },
    ],
    [
      'a policy with extension parameters',
      { ratelimit: 'limit=12, remaining=3, reset=1', 'ratelimit-policy': '12;w=1;burst=1000;policy="leaky bucket"' },
      { source: COMBINED, limit: 12, remaining: 3, resetAtMs: NOW + SECOND, windowMs: SECOND },
    ],
    ['without a policy', { ratelimit: 'limit=100, remaining=50, reset=30' }, { source: COMBINED, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND }],
    [
      'members in any order, no spaces',
      { ratelimit: 'reset=30,remaining=0,limit=10' },
      { source: COMBINED, limit: 10, remaining: 0, resetAtMs: NOW + 30 * SECOND },
    ],
    [
      'parameters on members are ignored',
      { ratelimit: 'limit=100;x=1, remaining=50, reset=30' },
      { source: COMBINED, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND },
    ],
    [
      'split over two field lines',
      { ratelimit: ['limit=100, remaining=50', 'reset=30'] },
      { source: COMBINED, limit: 100, remaining: 50, resetAtMs: NOW + 30 * SECOND },
    ],
    ['remaining missing', { ratelimit: 'limit=100, reset=30' }, { source: COMBINED, limit: 100, resetAtMs: NOW + 30 * SECOND }],
    ['decimal remaining ignored', { ratelimit: 'limit=100, remaining=50.5, reset=30' }, { source: COMBINED, limit: 100, resetAtMs: NOW + 30 * SECOND }],
    ['string remaining ignored', { ratelimit: 'limit=100, remaining="50", reset=30' }, { source: COMBINED, limit: 100, resetAtMs: NOW + 30 * SECOND }],
    ['negative remaining ignored', { ratelimit: 'limit=100, remaining=-1, reset=30' }, { source: COMBINED, limit: 100, resetAtMs: NOW + 30 * SECOND }],
    ['a reset over a year ignored', { ratelimit: `remaining=5, reset=${YEAR_S + 1}` }, { source: COMBINED, remaining: 5 }],
    ['trailing comma: the field is malformed', { ratelimit: 'limit=100, remaining=50,' }, undefined],
    ['upper-case keys are not Structured Fields', { ratelimit: 'Limit=100, Remaining=50' }, undefined],
    ['no members we know', { ratelimit: 'foo=1, bar' }, undefined],
    ['a number too long for Structured Fields', { ratelimit: `remaining=${'9'.repeat(16)}` }, undefined],
  ]);
});

describe('#11: structured RateLimit and RateLimit-Policy (draft-08 on)', () => {
  checkParse([
    [
      'one named policy',
      { 'ratelimit-policy': '"default";q=100;w=60', ratelimit: '"default";r=50;t=30' },
      { source: STRUCTURED, limit: 100, windowMs: 60 * SECOND, remaining: 50, resetAtMs: NOW + 30 * SECOND },
    ],
    ['RateLimit without a policy', { ratelimit: '"default";r=50;t=30' }, { source: STRUCTURED, remaining: 50, resetAtMs: NOW + 30 * SECOND }],
    [
      'no t: remaining only (plus the policy)',
      { 'ratelimit-policy': '"trial";q=1000', ratelimit: '"trial";r=999;pk=:dHJpYWwxMjEzMjM=:' },
      { source: STRUCTURED, limit: 1000, remaining: 999 },
    ],
    [
      'a token name (IETF 117 proposal) is accepted',
      { ratelimit: 'protection;r=50; t=30' },
      { source: STRUCTURED, remaining: 50, resetAtMs: NOW + 30 * SECOND },
    ],
    [
      'a policy with partition key and qu="requests"',
      { 'ratelimit-policy': '"peruser";q=100;qu="requests";w=60;pk=:cHsdsRa894==:', ratelimit: '"peruser";r=1;t=10' },
      { source: STRUCTURED, limit: 100, windowMs: 60 * SECOND, remaining: 1, resetAtMs: NOW + 10 * SECOND },
    ],
    ['a content-bytes quota is not a request rate', { 'ratelimit-policy': '"bw";q=65535;qu="content-bytes";w=10', ratelimit: '"bw";r=10;t=10' }, undefined],
    [
      'policies only: the smallest q/w',
      { 'ratelimit-policy': '"permin";q=50;w=60,"perhr";q=1000;w=3600' },
      { source: STRUCTURED, limit: 1000, windowMs: 3600 * SECOND },
    ],
    ['an item without r says nothing', { ratelimit: '"default";t=30' }, undefined],
    ['negative r', { ratelimit: '"default";r=-1;t=30' }, undefined],
    ['decimal r', { ratelimit: '"default";r=5.5;t=30' }, undefined],
    ['negative t: remaining only', { ratelimit: '"default";r=5;t=-3' }, { source: STRUCTURED, remaining: 5 }],
    ['huge t: remaining only', { ratelimit: `"default";r=5;t=${'9'.repeat(15)}` }, { source: STRUCTURED, remaining: 5 }],
    [
      'w=0 is no window',
      { 'ratelimit-policy': '"d";q=10;w=0', ratelimit: '"d";r=5;t=3' },
      { source: STRUCTURED, limit: 10, remaining: 5, resetAtMs: NOW + 3 * SECOND },
    ],
    ['an unterminated string fails the field', { ratelimit: '"default;r=5;t=3' }, undefined],
    ['an inner list fails the field', { ratelimit: '("a" "b");r=5;t=3' }, undefined],
    ['free text', { ratelimit: 'please slow down' }, undefined],
    ['empty', { ratelimit: '', 'ratelimit-policy': '' }, undefined],
  ]);
});

describe('#11: several quotas → the tightest', () => {
  checkParse([
    [
      'the smallest remaining/secondsLeft wins',
      {
        'ratelimit-policy': '"burst";q=100;w=60, "daily";q=1000;w=86400',
        ratelimit: '"burst";r=50;t=30, "daily";r=10;t=3600',
      },
      { source: STRUCTURED, limit: 1000, windowMs: 86_400 * SECOND, remaining: 10, resetAtMs: NOW + 3600 * SECOND },
    ],
    [
      'split over several field lines',
      { 'ratelimit-policy': ['"burst";q=100;w=60', '"daily";q=1000;w=86400'], ratelimit: ['"burst";r=2;t=30', '"daily";r=900;t=3600'] },
      { source: STRUCTURED, limit: 100, windowMs: 60 * SECOND, remaining: 2, resetAtMs: NOW + 30 * SECOND },
    ],
    ['remaining 0 beats any positive rate', { ratelimit: '"a";r=1;t=86400, "b";r=0;t=1' }, { source: STRUCTURED, remaining: 0, resetAtMs: NOW + SECOND }],
    ['among zeros, the longest reset', { ratelimit: '"a";r=0;t=5, "b";r=0;t=60, "c";r=0' }, { source: STRUCTURED, remaining: 0, resetAtMs: NOW + 60 * SECOND }],
    [
      'a timed quota beats an untimed one (it can be paced by)',
      { ratelimit: '"trial";r=3, "burst";r=500;t=10' },
      { source: STRUCTURED, remaining: 500, resetAtMs: NOW + 10 * SECOND },
    ],
    [
      'a malformed item is skipped, the rest still count',
      { ratelimit: '"a";r=-1;t=30, "b";r=5;t=30' },
      { source: STRUCTURED, remaining: 5, resetAtMs: NOW + 30 * SECOND },
    ],
    [
      'across families',
      { 'x-ratelimit-remaining': '100', 'x-ratelimit-reset': '60', ratelimit: '"d";r=5;t=60' },
      { source: STRUCTURED, remaining: 5, resetAtMs: NOW + 60 * SECOND },
    ],
    [
      'across families, the other way',
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW_S + 60), ratelimit: '"d";r=5;t=60' },
      { source: X, remaining: 0, resetAtMs: NOW + 60 * SECOND },
    ],
    [
      'both X spellings',
      { 'x-ratelimit-remaining': '50', 'x-ratelimit-reset': '10', 'x-rate-limit-remaining': '5', 'x-rate-limit-reset': '10' },
      { source: X, remaining: 5, resetAtMs: NOW + 10 * SECOND },
    ],
    [
      'a reset that is due now is not tight',
      { ratelimit: '"a";r=1;t=0, "b";r=100;t=10' },
      { source: STRUCTURED, remaining: 100, resetAtMs: NOW + 10 * SECOND },
    ],
  ]);
});

describe('#11: decideQuotaPacing', () => {
  const cases: Array<[name: string, quota: Omit<QuotaState, 'source'>, inFlight: number, expected: ReturnType<typeof decideQuotaPacing>]> = [
    ['remaining 0 → pause until reset', { remaining: 0, resetAtMs: NOW + 30 * SECOND }, 0, { pauseUntilMs: NOW + 30 * SECOND }],
    ['remaining 0, no reset, a window → pause one window', { remaining: 0, windowMs: 60 * SECOND }, 0, { pauseUntilMs: NOW + 60 * SECOND }],
    ['remaining 0, no time at all → no decision', { remaining: 0, limit: 100 }, 0, undefined],
    ['remaining 0 but the reset is due → no decision', { remaining: 0, resetAtMs: NOW }, 0, undefined],
    ['no remaining → no decision', { limit: 100, resetAtMs: NOW + 30 * SECOND }, 0, undefined],
    ['plenty → no change', { remaining: 500, limit: 1000, resetAtMs: NOW + 60 * SECOND }, 4, undefined],
    ['just above 10% → no change', { remaining: 11, limit: 100, resetAtMs: NOW + 20 * SECOND }, 0, undefined],
    ['exactly 10% → spread', { remaining: 10, limit: 100, resetAtMs: NOW + 20 * SECOND }, 0, { rps: 0.5 }],
    ['low, with requests in flight counted', { remaining: 10, limit: 100, resetAtMs: NOW + 20 * SECOND }, 4, { rps: 0.3 }],
    ['in flight uses up all that remains → pause', { remaining: 3, limit: 1000, resetAtMs: NOW + 5 * SECOND }, 3, { pauseUntilMs: NOW + 5 * SECOND }],
    ['more in flight than remains → pause', { remaining: 3, limit: 1000, resetAtMs: NOW + 5 * SECOND }, 8, { pauseUntilMs: NOW + 5 * SECOND }],
    ['low against in flight (remaining ≤ inFlight + 1)', { remaining: 6, limit: 1000, resetAtMs: NOW + 4 * SECOND }, 5, { rps: 0.25 }],
    ['no limit, one left → spread', { remaining: 1, resetAtMs: NOW + 2 * SECOND }, 0, { rps: 0.5 }],
    ['no limit, two left, nothing in flight → no change', { remaining: 2, resetAtMs: NOW + 2 * SECOND }, 0, undefined],
    ['the spread rate has a floor', { remaining: 1, limit: 100, resetAtMs: NOW + 3600 * SECOND }, 0, { rps: 0.1 }],
    ['a reset about to happen allows a high rate', { remaining: 10, limit: 100, resetAtMs: NOW + 500 }, 0, { rps: 20 }],
    ['window stands in for a missing reset when spreading', { remaining: 5, limit: 100, windowMs: 50 * SECOND }, 0, { rps: 0.1 }],
    ['negative in-flight counts as none', { remaining: 10, limit: 100, resetAtMs: NOW + 20 * SECOND }, -3, { rps: 0.5 }],
    ['NaN in-flight counts as none', { remaining: 10, limit: 100, resetAtMs: NOW + 20 * SECOND }, Number.NaN, { rps: 0.5 }],
  ];
  for (const [name, quota, inFlight, expected] of cases) {
    test(name, () => {
      assert.deepEqual(decideQuotaPacing({ source: X, ...quota }, inFlight, NOW), expected);
    });
  }

  test('parse then decide: GitHub exhausted', () => {
    const quota = parseQuotaHeaders({ 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '5000', 'x-ratelimit-reset': String(NOW_S + 120) }, NOW);
    assert.ok(quota);
    assert.deepEqual(decideQuotaPacing(quota, 2, NOW), { pauseUntilMs: NOW + 120 * SECOND });
  });
});

describe('#23: QuotaWindows: the turns of windows bound their length', () => {
  /** Answers to requests arriving every `everyMs` from `from` to `to` at a server of `limit` per `windowMs` windows on the clock. */
  function clockWindows(windows: QuotaWindows, limit: number, windowMs: number, everyMs: number, from: number, to: number): QuotaWindow | undefined {
    let seen: QuotaWindow | undefined;
    const counts = new Map<number, number>();
    for (let t = from; t < to; t += everyMs) {
      const window = Math.floor(t / windowMs);
      const used = (counts.get(window) ?? 0) + 1;
      counts.set(window, used);
      if (used <= limit) seen = windows.note(limit, limit - used, t);
    }
    return seen;
  }

  test('#23: nothing known before a first answer of a window; no bound before two turns', () => {
    const windows = new QuotaWindows();
    assert.equal(windows.note(5, 3, 100), undefined, 'no opening seen');
    assert.deepEqual(windows.note(5, 4, 200), { openedAt: 200, longestMs: undefined });
    assert.deepEqual(windows.note(undefined, undefined, 300), { openedAt: 200, longestMs: undefined }, 'an answer without a quota changes nothing');
  });

  const CASES: Array<[string, number, number]> = [
    ['250 ms windows, one request every 40 ms', 250, 40],
    ['250 ms windows, one request every 110 ms', 250, 110],
    ['1.5 s windows, one request every 60 ms', 1_500, 60],
  ];
  for (const [name, windowMs, everyMs] of CASES) {
    test(`#23: ${name}: the bound is never under the window, and closes in on it`, () => {
      const windows = new QuotaWindows();
      const seen = clockWindows(windows, 5, windowMs, everyMs, 17, 40 * windowMs);
      assert.ok(seen?.longestMs !== undefined && seen.longestMs > windowMs, JSON.stringify(seen));
      // Within 5%: the gap around each turn counts once over the turns the bound spans.
      assert.ok(seen.longestMs < windowMs * 1.05, `${seen.longestMs} ms for ${windowMs} ms windows`);
    });
  }

  test('#23: windows opened by the first request (INCR + EXPIRE) with idle gaps: the bound is never under the window', () => {
    const windows = new QuotaWindows();
    // Each window opens at its first request and takes 3; the client idles a while between windows.
    let t = 0;
    for (let i = 0; i < 20; i++) {
      for (let used = 1; used <= 3; used++) windows.note(3, 3 - used, t + used * 10);
      t += 400 + (i % 3) * 50; // windows of 400 ms, then 0–100 ms idle
    }
    const seen = windows.note(3, 2, t + 10);
    // Each window opens at its first request (10 ms into each step of the loop) and lasts 400 ms.
    assert.ok(seen!.longestMs! > 400, JSON.stringify(seen));
  });
});

describe('#23: decideQuotaPacing with the turns of windows', () => {
  const reset = NOW + 800; // rounded up to the next whole second
  test('#23: a window bound under a second paces evenly at limit ÷ bound, and the pause for a used-up one ends at its turn, not the rounded reset', () => {
    const window = { openedAt: NOW - 100, longestMs: 260 };
    const quota: QuotaState = { source: X, limit: 5, remaining: 3, resetAtMs: reset };
    assert.deepEqual(decideQuotaPacing(quota, 0, NOW, window), { rps: (5_000 / 260) * QUOTA_PACING.paceShare });
    assert.deepEqual(decideQuotaPacing({ ...quota, remaining: 0 }, 0, NOW, window), { pauseUntilMs: NOW + 160, rps: (5_000 / 260) * QUOTA_PACING.paceShare });
  });

  test('#23: the pause for a used-up window ends half a round trip before its turn, reckoned in arrivals as the turns are; a stated reset is waited for whole', () => {
    const window = { openedAt: NOW - 100, longestMs: 260 };
    const quota: QuotaState = { source: X, limit: 5, remaining: 0, resetAtMs: reset };
    const even = { rps: (5_000 / 260) * QUOTA_PACING.paceShare };
    assert.deepEqual(decideQuotaPacing(quota, 0, NOW, window, 31), { pauseUntilMs: NOW + 160 - 31, ...even });
    // Never before now, however long the way to the server.
    assert.deepEqual(decideQuotaPacing(quota, 0, NOW, window, 500), { pauseUntilMs: NOW, ...even });
    // Without a turn sooner than it, the reset the server stated holds as it is.
    assert.deepEqual(decideQuotaPacing({ ...quota, resetAtMs: NOW + 100 }, 0, NOW, window, 31), { pauseUntilMs: NOW + 100, ...even });
  });

  test('#23: before a bound, the first window is spread to its stated reset', () => {
    const quota: QuotaState = { source: X, limit: 5, remaining: 4, resetAtMs: reset };
    assert.deepEqual(decideQuotaPacing(quota, 0, NOW, { openedAt: NOW, longestMs: undefined }), { rps: (5_000 / 800) * QUOTA_PACING.paceShare });
  });

  test('#23: windows longer than a second are not paced; a policy window (w=) leaves the turns aside', () => {
    const quota: QuotaState = { source: X, limit: 30, remaining: 20, resetAtMs: NOW + 2_000 };
    assert.equal(decideQuotaPacing(quota, 0, NOW, { openedAt: NOW - 200, longestMs: 1_600 }), undefined);
    const policy: QuotaState = { source: X, limit: 20, remaining: 0, resetAtMs: NOW + 1_000, windowMs: 1_000 };
    assert.deepEqual(decideQuotaPacing(policy, 0, NOW, { openedAt: NOW - 900, longestMs: 300 }), { pauseUntilMs: NOW + 1_000 });
  });
});
