import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED, SECRET_HEADERS, SECRET_PARAMS } from '../../src/plan/secrets.js';
import { createRedactor } from '../../src/record/redact.js';

const R = REDACTED;
/** The built-in lists only, no literals registered: what every run's redactor starts from. */
const redact = createRedactor();

describe('the lists', () => {
  test('secret headers', () => {
    assert.deepEqual([...SECRET_HEADERS].sort(), ['authorization', 'cookie', 'proxy-authorization', 'set-cookie', 'x-api-key', 'x-auth-token']);
  });
  test('secret params', () => {
    for (const name of ['api_key', 'apikey', 'key', 'token', 'access_token', 'client_secret', 'signature', 'sig', 'password']) {
      assert.ok(SECRET_PARAMS.includes(name), name);
    }
  });
});

describe('url(): userinfo', () => {
  const rows: Array<[string, string]> = [
    ['https://user:pass@example.com/', 'https://example.com/'],
    ['https://user@example.com/p', 'https://example.com/p'],
    ['https://:pass@example.com/', 'https://example.com/'],
    ['http://u:p@example.com:8080/a?b=1', 'http://example.com:8080/a?b=1'],
    ['https://a%40b:c%3Ad@example.com/', 'https://example.com/'],
    ['https://a@b@example.com/', 'https://example.com/'],
    ['https://example.com/path@not-userinfo', 'https://example.com/path@not-userinfo'],
    ['https://example.com/?next=user:pass@host', 'https://example.com/?next=user:pass@host'],
    ['HTTPS://USER:PASS@EXAMPLE.COM/', 'HTTPS://EXAMPLE.COM/'],
  ];
  for (const [input, expected] of rows) {
    test(input, () => assert.equal(redact.url(input), expected));
  }

  // Forms the WHATWG parser reads as userinfo but a plain split would not: rebuilt from the parse.
  const odd = ['https:user:pass@example.com/p', 'https:\\\\user:pass@example.com/', ' https://user:pass@example.com/ ', 'ht\ttps://user:pass@example.com/'];
  for (const input of odd) {
    test(`odd form ${JSON.stringify(input)}`, () => {
      const out = redact.url(input);
      assert.ok(!out.includes('user') && !out.includes('pass'), out);
      assert.ok(out.includes('example.com'), out);
    });
  }

  test('a URL object', () => {
    assert.equal(redact.url(new URL('https://u:p@example.com/x?sig=abc')), `https://example.com/x?sig=${R}`);
  });
});

describe('url(): secret parameters', () => {
  const rows: Array<[string, string]> = [
    ['https://h/?api_key=abc&x=1', `https://h/?api_key=${R}&x=1`],
    ['https://h/?x=1&token=abc', `https://h/?x=1&token=${R}`],
    ['https://h/?API_KEY=abc', `https://h/?API_KEY=${R}`],
    ['https://h/?Token=abc&SIG=def', `https://h/?Token=${R}&SIG=${R}`],
    ['https://h/?to%6Ben=abc', `https://h/?to%6Ben=${R}`],
    ['https://h/?a=1;password=x;b=2', `https://h/?a=1;password=${R};b=2`],
    ['https://h/cb#access_token=abc&state=xyz', `https://h/cb#access_token=${R}&state=xyz`],
    ['https://h/#/route?token=abc', `https://h/#/route?token=${R}`],
    ['https://h/?token=a&token=b', `https://h/?token=${R}&token=${R}`],
    ['https://h/?user[password]=x&user[name]=me', `https://h/?user[password]=${R}&user[name]=me`],
    ['https://h/?token', 'https://h/?token'],
    ['https://h/?token=', 'https://h/?token='],
    ['https://h/?monkey=1&keyboard=2&tokens=3&xsig=4', 'https://h/?monkey=1&keyboard=2&tokens=3&xsig=4'],
    // Other parameters are kept byte for byte, not re-encoded.
    ['https://h/?q=a%20b+c&list=1,2&x=%E2%9C%93&e=&key=k', `https://h/?q=a%20b+c&list=1,2&x=%E2%9C%93&e=&key=${R}`],
    ['https://h/p?=x&&a==b&key=k', `https://h/p?=x&&a==b&key=${R}`],
  ];
  for (const [input, expected] of rows) {
    test(input, () => assert.equal(redact.url(input), expected));
  }

  test('every built-in name', () => {
    for (const name of SECRET_PARAMS) {
      assert.equal(redact.url(`https://h/?${name}=s3cret&a=1`), `https://h/?${name}=${R}&a=1`);
    }
  });

  test('extra names, case-insensitive', () => {
    const r = createRedactor(['Session', ' x-sig ']);
    assert.equal(r.url('https://h/?session=a&X-SIG=b&token=c&q=d'), `https://h/?session=${R}&X-SIG=${R}&token=${R}&q=d`);
    assert.equal(redact.url('https://h/?session=a'), 'https://h/?session=a');
  });
});

describe('url(): not a URL', () => {
  const rows: Array<[string, string]> = [
    ['not a url', 'not a url'],
    ['', ''],
    ['token=abc', `token=${R}`],
    ['http://u:p@[bad', 'http://[bad'],
    ['example.com/?token=abc', `example.com/?token=${R}`],
  ];
  for (const [input, expected] of rows) {
    test(JSON.stringify(input), () => assert.equal(redact.url(input), expected));
  }
});

describe('headers()', () => {
  test('a plain object keeps its shape and names', () => {
    const input = {
      Authorization: 'Bearer abc',
      'proxy-authorization': 'Basic dXNlcjpwYXNz',
      COOKIE: 'a=b',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 'application/json',
      location: 'https://h/next?token=abc&page=2',
    };
    const copy = structuredClone(input);
    assert.deepEqual(redact.headers(input), {
      Authorization: R,
      'proxy-authorization': R,
      COOKIE: R,
      'set-cookie': [R, R],
      'content-type': 'application/json',
      location: `https://h/next?token=${R}&page=2`,
    });
    assert.deepEqual(input, copy, 'input not mutated');
  });

  test('pairs stay pairs, in order, repeated names kept', () => {
    const input: Array<[string, string]> = [
      ['Cookie', 'a=b'],
      ['X-Trace', '1'],
      ['authorization', 'Bearer t'],
      ['Cookie', 'c=d'],
    ];
    assert.deepEqual(redact.headers(input), [
      ['Cookie', R],
      ['X-Trace', '1'],
      ['authorization', R],
      ['Cookie', R],
    ]);
    assert.equal(input[0]?.[1], 'a=b', 'input not mutated');
  });

  test('loose values: numbers and undefined pass through', () => {
    assert.deepEqual(redact.headers({ 'content-length': 5, cookie: undefined, x: '1' }), {
      'content-length': 5,
      cookie: undefined,
      x: '1',
    });
  });

  test('a header named __proto__ stays an own header', () => {
    const input = JSON.parse('{"__proto__": "x", "cookie": "y"}') as { [name: string]: string };
    const out = redact.headers(input);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.entries(out), [
      ['__proto__', 'x'],
      ['cookie', R],
    ]);
  });

  test('registered literals are scrubbed from other headers too', () => {
    const r = createRedactor([], ['sk_live_12345']);
    assert.deepEqual(r.headers({ 'x-echo': 'key sk_live_12345 used' }), { 'x-echo': `key ${R} used` });
  });

  test('junk in, empty out', () => {
    assert.deepEqual(redact.headers(null as unknown as { [name: string]: string }), {});
    assert.deepEqual(redact.headers([['only-name'] as unknown as [string, string]]), [['only-name']]);
  });
});

describe('text()', () => {
  const rows: Array<[string, string, string]> = [
    ['a URL in a message, punctuation kept', 'GET https://u:p@h/x?sig=1: 503 Service Unavailable', `GET https://h/x?sig=${R}: 503 Service Unavailable`],
    ['two URLs', 'from http://a:b@one/ to https://two/?token=t.', `from http://one/ to https://two/?token=${R}.`],
    ['a URL in parentheses', 'see (https://h/?key=k)', `see (https://h/?key=${R})`],
    ['a quoted URL', 'url="https://u:p@h/"', 'url="https://h/"'],
    ['a proxy URL with credentials', 'connect socks5://me:pw@proxy:1080 failed', 'connect socks5://proxy:1080 failed'],
    ['Authorization header line', 'sent Authorization: Bearer abc.def', `sent Authorization: ${R}`],
    ['case-insensitive header name', 'authorization:Basic dXNlcjpwYXNz', `authorization:${R}`],
    ['Proxy-Authorization', 'Proxy-Authorization: Basic Zm9vOmJhcg==', `Proxy-Authorization: ${R}`],
    ['Cookie ends at the line end', 'Cookie: a=b; c=d\nnext line', `Cookie: ${R}\nnext line`],
    ['Set-Cookie', 'Set-Cookie: sid=1; HttpOnly', `Set-Cookie: ${R}`],
    ['JSON-shaped header', '{"authorization":"Bearer x","other":1}', `{"authorization":"${R}","other":1}`],
    ['bare Bearer token', 'rejected Bearer eyJhbGciOi.xx-yy_zz= (expired)', `rejected Bearer ${R} (expired)`],
    ['bare Basic credential', 'tried Basic dXNlcjpwYXNz', `tried Basic ${R}`],
    ['lower-case bearer', 'bearer abc123', `bearer ${R}`],
    [
      'a challenge realm is not a credential',
      'www-authenticate: Bearer realm="api", error="invalid_token"',
      'www-authenticate: Bearer realm="api", error="invalid_token"',
    ],
    ['a secret parameter outside a URL', 'body password=hunter22&user=me', `body password=${R}&user=me`],
    ['a dotted prefix is not a different name', 'config.password=abc', `config.password=${R}`],
    ['similar names are left alone', 'monkey=1 keys=2 api_keys=3', 'monkey=1 keys=2 api_keys=3'],
    ['nothing to do', 'timed out after 30s (attempt 3 of 6)', 'timed out after 30s (attempt 3 of 6)'],
  ];
  for (const [name, input, expected] of rows) {
    test(name, () => assert.equal(redact.text(input), expected));
  }
});

describe('value(): registered literals', () => {
  test('a header value and its credential part', () => {
    const r = createRedactor();
    r.value('Bearer sk_live_abcdef');
    assert.equal(r.text('token sk_live_abcdef leaked'), `token ${R} leaked`);
    assert.equal(r.text('x Bearer sk_live_abcdef y'), `x ${R} y`);
  });

  test('a URL password, encoded and decoded', () => {
    const r = createRedactor([], ['p%40ss%20word']);
    assert.equal(r.text('auth failed for p@ss word'), `auth failed for ${R}`);
    assert.equal(r.text('raw p%40ss%20word'), `raw ${R}`);
  });

  test('regex metacharacters are literal', () => {
    const r = createRedactor([], ['a.b*c+(d)']);
    assert.equal(r.text('x a.b*c+(d) y aXbbc'), `x ${R} y aXbbc`);
  });

  test('literals shorter than 4 characters are ignored', () => {
    const r = createRedactor([], ['', 'a', 'abc']);
    assert.equal(r.text('a abc'), 'a abc');
  });

  test('also applied by url()', () => {
    const r = createRedactor([], ['tenant-secret']);
    assert.equal(r.url('https://h/tenant-secret/x'), `https://h/${R}/x`);
  });

  test('the longer of two overlapping literals wins', () => {
    const r = createRedactor([], ['abcd', 'abcdefgh']);
    assert.equal(r.text('abcdefgh'), R);
  });
});

describe('totality', () => {
  const junk = ['\u0000\u0001\u00ff\ud800\udfff\ud800', 'https://\u0000:\u0000@\u0000/', 'https://h/?%E0%A4%A=1&token=%ZZ', 'http://[::1]:80/?token=x', '%'];
  for (const input of junk) {
    test(`junk ${JSON.stringify(input)}`, () => {
      assert.equal(typeof redact.text(input), 'string');
      assert.equal(typeof redact.url(input), 'string');
      assert.equal(typeof redact.headers({ x: input, cookie: input }).x, 'string');
      assert.doesNotThrow(() => createRedactor([input], [input]));
    });
  }

  test('non-strings at run time', () => {
    assert.equal(redact.text(undefined as unknown as string), '');
    assert.equal(redact.url(null as unknown as string), '');
    assert.equal(redact.text(42 as unknown as string), '42');
  });

  // A quadratic pattern takes minutes on these; linear ones take well under a second.
  const big: Array<[string, string]> = [
    ['letters and dots', 'a.'.repeat(1_000_000)],
    ['repeated schemes', 'a://.'.repeat(400_000)],
    ['repeated Bearer', 'Bearer '.repeat(300_000)],
    ['header names then spaces', `${'authorization'.repeat(100_000)}${' '.repeat(700_000)}`],
    ['a huge query', `https://h/?${'key=a&'.repeat(300_000)}`],
    ['trailing punctuation run', `https://h/?token=x${'.'.repeat(2_000_000)}`],
    ['NUL bytes', '\u0000'.repeat(2_000_000)],
  ];
  for (const [name, input] of big) {
    test(`2 MB: ${name}`, () => {
      const r = createRedactor([], ['some-secret']);
      const started = performance.now();
      r.text(input);
      r.url(input);
      r.headers({ x: input });
      assert.ok(performance.now() - started < 10_000);
    });
  }
});

test('#9: a URL carried in a query parameter has its secrets removed, and only then is re-encoded', () => {
  const nested = `https://h/r?url=${encodeURIComponent('https://u:pw@x/y?token=abc&a=1')}&b=2`;
  const out = redact.url(nested);
  assert.ok(!out.includes('pw') && !out.includes('abc'), out);
  assert.match(out, /&b=2$/);
  const relative = `https://h/r?next=${encodeURIComponent('/p?api_key=k123')}`;
  assert.ok(!redact.url(relative).includes('k123'));
  const plain = 'https://h/r?q=a%20b&next=%2Fhome';
  assert.equal(redact.url(plain), plain);
});
