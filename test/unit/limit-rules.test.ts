import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import { parseLimitRule, parseRate } from '../../src/rate/limit-rules.ts';

/** A UsageError of one line whose message matches every pattern given. */
function isUsageError(...patterns: RegExp[]) {
  return (error: unknown) => error instanceof UsageError && !error.message.includes('\n') && patterns.every((pattern) => pattern.test(error.message));
}

/** True when `rule` (PATTERN=1/s) matches `url`. */
function matches(pattern: string, url: string): boolean {
  return parseLimitRule(`${pattern}=1/s`).matches(new URL(url));
}

function near(actual: number, expected: number, label: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${label}: expected ${expected}, got ${actual}`);
}

describe('#11: parseRate', () => {
  test('#11: a bare number is starts per second, decimals included', () => {
    for (const [text, rps] of [
      ['5', 5],
      ['20', 20],
      ['0.5', 0.5],
      ['.25', 0.25],
      ['2.75', 2.75],
    ] as const) {
      near(parseRate(text, '--rps'), rps, text);
    }
  });

  test('#11: units convert to per second: /s, /min, /h, /day', () => {
    for (const [text, rps] of [
      ['5/s', 5],
      ['30/min', 0.5],
      ['1000/h', 1000 / 3600],
      ['10000/day', 10000 / 86400],
      ['0.5/s', 0.5],
      ['1/m', 1 / 60],
      ['1/d', 1 / 86400],
    ] as const) {
      near(parseRate(text, '--rps'), rps, text);
    }
  });

  test('#11: plural, long and short unit names, any case', () => {
    for (const [text, rps] of [
      ['2/sec', 2],
      ['2/secs', 2],
      ['2/second', 2],
      ['2/seconds', 2],
      ['3/minutes', 3 / 60],
      ['3/mins', 3 / 60],
      ['3/minute', 3 / 60],
      ['1/hr', 1 / 3600],
      ['1/hrs', 1 / 3600],
      ['1/hour', 1 / 3600],
      ['1/hours', 1 / 3600],
      ['2/days', 2 / 86400],
      ['5/S', 5],
      ['30/Min', 0.5],
    ] as const) {
      near(parseRate(text, '--rps'), rps, text);
    }
  });

  test('#11: spaces around the number, the slash and the unit are allowed', () => {
    for (const [text, rps] of [
      [' 5/s ', 5],
      ['5 / s', 5],
      ['30 /min', 0.5],
      ['30/ min', 0.5],
      ['\t7\t', 7],
    ] as const) {
      near(parseRate(text, '--rps'), rps, JSON.stringify(text));
    }
  });

  test('#11: 0, negatives, words, unknown units and the empty string are UsageErrors naming the flag', () => {
    for (const text of ['0', '0/s', '0.0', '-1', '-1/s', 'abc', '5/fortnight', '', ' ', '5/', '/s', '5s', '1e3', '5/s/s', 'Infinity', 'NaN']) {
      assert.throws(() => parseRate(text, '--rps'), isUsageError(/--rps/), JSON.stringify(text));
    }
  });

  test('#11: a malformed rate names the flag, echoes the value and shows an example', () => {
    for (const text of ['-1', 'abc', '5/fortnight', '']) {
      assert.throws(
        () => parseRate(text, '--rps-max'),
        isUsageError(/--rps-max/, /5\/s/, /30\/min/, new RegExp(`got \`${text.replace(/[/]/g, '\\/')}\``)),
        JSON.stringify(text),
      );
    }
  });

  test('#11: 0 names the flag, the value and that it must be above 0', () => {
    assert.throws(() => parseRate('0', '--rps'), isUsageError(/--rps/, /above 0/, /got `0`/));
    assert.throws(() => parseRate('0/min', '--rps'), isUsageError(/--rps/, /above 0/, /got `0\/min`/));
  });

  test('#11: requireUnit refuses a bare number and still takes one with a unit', () => {
    assert.throws(() => parseRate('5', 'the rate in --limit', true), isUsageError(/--limit/, /5\/s/));
    assert.equal(parseRate('5/s', 'the rate in --limit', true), 5);
    near(parseRate('30/min', 'the rate in --limit', true), 0.5, '30/min');
  });

  test('#11: `ms` is not milliseconds; it must not silently read as per minute', () => {
    assert.throws(() => parseRate('5/ms', '--rps'), isUsageError(/--rps/));
  });
});

describe('#11: parseLimitRule', () => {
  test('#11: a host-only rule: not a route, rps from the unit, no concurrency cap', () => {
    const rule = parseLimitRule('api.example.com=5/s');
    assert.equal(rule.text, 'api.example.com=5/s');
    assert.equal(rule.isRoute, false);
    assert.equal(rule.rps, 5);
    assert.equal(rule.concurrency, Infinity);
  });

  test('#11: a rule with a path is a route; the rate converts and the concurrency follows the comma', () => {
    const rule = parseLimitRule('api.example.com/media/*=30/min,2');
    assert.equal(rule.isRoute, true);
    near(rule.rps, 0.5, 'rps');
    assert.equal(rule.concurrency, 2);
    assert.equal(parseLimitRule('*.example.com=1000/h').rps, 1000 / 3600);
    assert.equal(parseLimitRule('a.com=10000/day, 3 ').concurrency, 3);
    assert.equal(parseLimitRule('a.com:8080=2/s').isRoute, false);
    assert.equal(parseLimitRule('a.com/=2/s').isRoute, true);
  });

  test('#11: missing `=`, or nothing before it, is a UsageError showing PATTERN=RATE and an example', () => {
    for (const text of ['api.example.com', 'api.example.com 5/s', '=5/s', '']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /PATTERN=RATE/, /api\.example\.com\/media\/\*=30\/min,2/), JSON.stringify(text));
    }
  });

  test('#11: a rate without a unit, or no rate at all, is a UsageError naming the rule', () => {
    for (const text of ['a.com=5', 'a.com=5,2', 'a.com=', 'a.com=fast', 'a.com=0/s', 'a.com=5/fortnight']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, new RegExp(text.replace(/[.*/]/g, '\\$&'))), text);
    }
  });

  test('#11: a concurrency that is not a whole number of 1 or more is a UsageError', () => {
    for (const [text, got] of [
      ['a.com=5/s,0', '0'],
      ['a.com=5/s,1.5', '1.5'],
      ['a.com=5/s,x', 'x'],
      ['a.com=5/s,-2', '-2'],
      ['a.com=5/s,', ''],
    ] as const) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /concurrency/, /whole number/, new RegExp(`got \`${got.replace('.', '\\.')}\``)), text);
    }
  });

  test('#11: a concurrency in hex or exponent form is refused like any other non-decimal text', () => {
    for (const text of ['a.com=5/s,0x10', 'a.com=5/s,1e1']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /concurrency/), text);
    }
  });

  test('#11: more than one comma after the rate is a UsageError', () => {
    for (const text of ['a.com=5/s,2,3', 'a.com=5/s,,', 'a.com=5/s,2,']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /at most one comma/), text);
    }
  });

  test('#11: an empty host (a bare path, or spaces) is a UsageError asking for a host glob', () => {
    for (const text of ['/media/*=5/s', ' =5/s', '  /x=1/s']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /host glob/), JSON.stringify(text));
    }
  });

  test('#11: a host with spaces or userinfo is a UsageError', () => {
    for (const text of ['a b.com=5/s', 'user@a.com=5/s']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /host glob/), text);
    }
  });

  test('#11: a scheme in the pattern (https://a.com=5/s) is a UsageError', () => {
    for (const text of ['https://a.com=5/s', 'http://a.com/x=5/s', 'HTTPS://a.com=5/s']) {
      assert.throws(() => parseLimitRule(text), isUsageError(/--limit/, /no scheme/), text);
    }
  });
});

describe('#11: LimitRule.matches', () => {
  test('#11: an exact host matches that host at any path, and no other host', () => {
    assert.equal(matches('api.example.com', 'https://api.example.com/'), true);
    assert.equal(matches('api.example.com', 'http://api.example.com/a/b?c=d'), true);
    assert.equal(matches('api.example.com', 'https://example.com/'), false);
    assert.equal(matches('api.example.com', 'https://xapi.example.com/'), false);
    assert.equal(matches('api.example.com', 'https://api.example.com.evil.net/'), false);
  });

  test('#11: *.example.com matches every subdomain, at any depth, but not example.com itself', () => {
    assert.equal(matches('*.example.com', 'https://api.example.com/'), true);
    assert.equal(matches('*.example.com', 'https://a.b.example.com/'), true);
    // Documented behaviour: the dot is literal, so the bare domain needs its own rule.
    assert.equal(matches('*.example.com', 'https://example.com/'), false);
    assert.equal(matches('*.example.com', 'https://notexample.com/'), false);
    assert.equal(matches('*.example.com', 'https://example.com.evil.net/'), false);
  });

  test('#11: hosts compare case-insensitively, in the pattern and in the URL', () => {
    assert.equal(matches('API.Example.COM', 'https://api.example.com/'), true);
    assert.equal(matches('api.example.com', 'https://API.EXAMPLE.com/'), true);
    assert.equal(matches('*.EXAMPLE.com', 'https://Api.Example.Com/'), true);
  });

  test('#11: paths compare case-sensitively', () => {
    assert.equal(matches('a.com/Media/*', 'https://a.com/Media/1'), true);
    assert.equal(matches('a.com/Media/*', 'https://a.com/media/1'), false);
  });

  test('#11: a pattern without a port matches every port', () => {
    for (const url of ['http://a.com/', 'https://a.com/', 'http://a.com:8080/', 'https://a.com:8443/x']) {
      assert.equal(matches('a.com', url), true, url);
    }
  });

  test('#11: a pattern with a port matches only that port, default ports filled in by scheme', () => {
    assert.equal(matches('a.com:443', 'https://a.com/'), true);
    assert.equal(matches('a.com:443', 'https://a.com:443/'), true);
    assert.equal(matches('a.com:443', 'http://a.com/'), false);
    assert.equal(matches('a.com:443', 'https://a.com:8443/'), false);
    assert.equal(matches('a.com:80', 'http://a.com/'), true);
    assert.equal(matches('a.com:80', 'https://a.com/'), false);
    assert.equal(matches('a.com:8080', 'http://a.com:8080/x'), true);
    assert.equal(matches('a.com:8080', 'http://a.com/'), false);
    assert.equal(matches('a.com:808', 'http://a.com:8080/'), false);
    assert.equal(matches('a.com:*', 'http://a.com/'), true);
    assert.equal(matches('a.com:*', 'http://a.com:9/'), true);
  });

  test('#11: a path glob /media/* covers /media/1 and /media/a/b, not /mediax, /other or /media', () => {
    assert.equal(matches('a.com/media/*', 'https://a.com/media/1'), true);
    assert.equal(matches('a.com/media/*', 'https://a.com/media/a/b'), true);
    assert.equal(matches('a.com/media/*', 'https://a.com/media/'), true);
    assert.equal(matches('a.com/media/*', 'https://a.com/mediax'), false);
    assert.equal(matches('a.com/media/*', 'https://a.com/mediax/1'), false);
    assert.equal(matches('a.com/media/*', 'https://a.com/other'), false);
    // Documented behaviour: the slash before * is literal, so /media itself is not covered.
    assert.equal(matches('a.com/media/*', 'https://a.com/media'), false);
    assert.equal(matches('a.com/media/*', 'https://b.com/media/1'), false);
  });

  test('#11: a path without a glob matches that path exactly', () => {
    assert.equal(matches('a.com/search', 'https://a.com/search'), true);
    assert.equal(matches('a.com/search', 'https://a.com/search/'), false);
    assert.equal(matches('a.com/search', 'https://a.com/search/x'), false);
  });

  test('#11: ? matches exactly one character, in the host and in the path', () => {
    assert.equal(matches('a.com/v?/x', 'https://a.com/v1/x'), true);
    assert.equal(matches('a.com/v?/x', 'https://a.com/v2/x'), true);
    assert.equal(matches('a.com/v?/x', 'https://a.com/v12/x'), false);
    assert.equal(matches('a.com/v?/x', 'https://a.com/v/x'), false);
    assert.equal(matches('s?.a.com', 'https://s1.a.com/'), true);
    assert.equal(matches('s?.a.com', 'https://s12.a.com/'), false);
  });

  test('#11: the query string is not part of the path a rule sees', () => {
    assert.equal(matches('a.com/media/*', 'https://a.com/media/1?size=large'), true);
    assert.equal(matches('a.com/search', 'https://a.com/search?q=cats'), true);
    assert.equal(matches('a.com/search', 'https://a.com/search#top'), true);
    assert.equal(matches('a.com/*=x', 'https://a.com/?q=x'), false);
  });

  test('#11: regex metacharacters in patterns are literal: a+b.com, /v1/(x)', () => {
    assert.equal(matches('a+b.com', 'https://a+b.com/'), true);
    assert.equal(matches('a+b.com', 'https://aab.com/'), false);
    assert.equal(matches('a+b.com', 'https://ab.com/'), false);
    assert.equal(matches('a.com', 'https://abcom/'), false);
    assert.equal(matches('a.com/v1/(x)', 'https://a.com/v1/(x)'), true);
    assert.equal(matches('a.com/v1/(x)', 'https://a.com/v1/x'), false);
    assert.equal(matches('a.com/a|b', 'https://a.com/a|b'), true);
    assert.equal(matches('a.com/a|b', 'https://a.com/a'), false);
    assert.equal(matches('a.com/$x^', 'https://a.com/$x^'), true);
    assert.equal(matches('a.com/x.y', 'https://a.com/xzy'), false);
    assert.equal(matches('a.com/{1,2}', 'https://a.com/{1,2}'), false, 'the URL parser encodes braces; the pattern is compared with the encoded path');
    assert.equal(matches('a.com/%7B1,2%7D', 'https://a.com/{1,2}'), true);
  });

  test('#11: an IPv6 literal with a port matches that port', () => {
    assert.equal(matches('[::1]:8080', 'http://[::1]:8080/'), true);
    assert.equal(matches('[::1]:8080', 'http://[::1]:9090/'), false);
    assert.equal(matches('[::1]:80', 'http://[::1]/'), true);
  });

  test('#11: an IPv6 literal without a port matches every port, as a name does', () => {
    assert.equal(matches('[::1]', 'http://[::1]:8080/'), true);
    assert.equal(matches('[::1]', 'http://[::1]/'), true);
  });
});
