import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTextTemplate, compileUrlTemplate, encodeUrlValue } from '../../src/plan/template.ts';

const url = (template: string, fields: Record<string, string>, line?: string): string => {
  const result = compileUrlTemplate(template).render({ line, fields });
  assert.ok(result.ok, `${template}: ${JSON.stringify(result)}`);
  return result.url;
};

test('names are listed once each, in order of first appearance; {} is reported apart', () => {
  const cases: Array<[string, string[], boolean]> = [
    ['https://a/{id}', ['id'], false],
    ['https://a/{b}/{a}?x={b}&y={a:raw}', ['b', 'a'], false],
    ['https://a/{}', [], true],
    ['https://a/{:raw}?id={id}', ['id'], true],
    ['https://a/x', [], false],
    ['https://a/{_x1}/{X_}', ['_x1', 'X_'], false],
  ];
  for (const [template, names, usesWholeLine] of cases) {
    const compiled = compileUrlTemplate(template);
    assert.deepEqual(compiled.names, names, template);
    assert.equal(compiled.usesWholeLine, usesWholeLine, template);
    assert.equal(compiled.source, template);
  }
});

test('values are encoded for the part of the URL they land in', () => {
  const value = "a/b c&d=e+f#g?h%i!'()*~-._é";
  const component = 'a%2Fb%20c%26d%3De%2Bf%23g%3Fh%25i%21%27%28%29%2A~-._%C3%A9';
  const cases: Array<[string, string]> = [
    ['https://api.example.com/items/{v}', `https://api.example.com/items/${component}`],
    ['https://api.example.com/items/{v}/sub', `https://api.example.com/items/${component}/sub`],
    ['https://api.example.com/search?q={v}&n=1', `https://api.example.com/search?q=${component}&n=1`],
    ['https://api.example.com/x#{v}', `https://api.example.com/x#${component}`],
    // `?` after `#` is still the fragment; a second `?` is still the query.
    ['https://api.example.com/x#a?{v}', `https://api.example.com/x#a?${component}`],
    ['https://api.example.com/x?a=?{v}', `https://api.example.com/x?a=?${component}`],
  ];
  for (const [template, expected] of cases) assert.equal(url(template, { v: value }), expected, template);
});

test('encodeUrlValue keeps only unreserved characters in every part', () => {
  for (const part of ['path', 'query', 'fragment'] as const) {
    assert.equal(encodeUrlValue('AZaz09-._~', part), 'AZaz09-._~');
    assert.equal(encodeUrlValue("/ ?#&=+!'()*:@$,;%", part), '%2F%20%3F%23%26%3D%2B%21%27%28%29%2A%3A%40%24%2C%3B%25');
    // A lone surrogate becomes U+FFFD instead of throwing (encodeURIComponent would).
    assert.equal(encodeUrlValue('a\ud800b', part), 'a%EF%BF%BDb');
  }
});

test('{name:raw} and {:raw} insert values as they are', () => {
  assert.equal(url('https://a/{p:raw}?q={q:raw}', { p: 'x/y', q: 'a=1&b=2' }), 'https://a/x/y?q=a=1&b=2');
  assert.equal(url('https://a/{:raw}', {}, 'x/y?z'), 'https://a/x/y?z');
  assert.equal(url('https://a/{}', {}, 'x/y?z'), 'https://a/x%2Fy%3Fz');
});

test('a placeholder before any literal scheme:// is the start of the URL and goes in as is', () => {
  assert.equal(url('{}', {}, 'https://a/b?c=d e'), 'https://a/b?c=d e');
  assert.equal(url('{base}/items/{id}', { base: 'https://api.example.com/v1', id: 'a/b' }), 'https://api.example.com/v1/items/a%2Fb');
  assert.equal(url('{base}?id={id}', { base: 'https://a/x', id: 'a&b' }), 'https://a/x?id=a%26b');
  assert.equal(url('{scheme}://{host}/{p}', { scheme: 'https', host: 'a.example', p: 'x y' }), 'https://a.example/x%20y');
});

test('in the authority: userinfo is encoded as a component; the host keeps : [ ] and encodes what would restructure it', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['https://{host}/x', { host: 'api.example.com' }, 'https://api.example.com/x'],
    ['https://{host}/x', { host: 'api.example.com:8443' }, 'https://api.example.com:8443/x'],
    ['http://{host}/x', { host: '[::1]:8080' }, 'http://[::1]:8080/x'],
    ['https://api.example.com:{port}/x', { port: '8443' }, 'https://api.example.com:8443/x'],
    ['https://{host}?q=1', { host: 'a.example' }, 'https://a.example?q=1'],
    ['https://{host}', { host: 'a.example' }, 'https://a.example'],
    ['https://{u}:{p}@{host}/x', { u: 'me@x', p: 'p:w/d', host: 'a.example' }, 'https://me%40x:p%3Aw%2Fd@a.example/x'],
    ['https://{host}/x', { host: 'evil.example/path?' }, 'https://evil.example%2Fpath%3F/x'],
    ['https://{host}/x', { host: 'user@evil.example' }, 'https://user%40evil.example/x'],
    ['https://{host}/x', { host: 'bücher.de' }, 'https://b%C3%BCcher.de/x'],
  ];
  for (const [template, fields, expected] of cases) assert.equal(url(template, fields), expected, template);
  // What the planner will do with them: good hosts parse, restructuring ones do not.
  assert.equal(new URL(url('https://{host}/x', { host: 'bücher.de' })).host, 'xn--bcher-kva.de');
  assert.throws(() => new URL(url('https://{host}/x', { host: 'evil.example/path?' })));
  assert.throws(() => new URL(url('https://{host}/x', { host: 'user@evil.example' })));
});

test('a missing value makes render fail with the name, or {} for the whole line', () => {
  const template = compileUrlTemplate('https://a/{id}/{}');
  assert.deepEqual(template.render({ line: 'L', fields: {} }), { ok: false, missing: 'id' });
  assert.deepEqual(template.render({ line: 'L' }), { ok: false, missing: 'id' });
  assert.deepEqual(template.render({ fields: { id: '1' } }), { ok: false, missing: '{}' });
  assert.deepEqual(template.render({ line: 'L', fields: { id: '1' } }), { ok: true, url: 'https://a/1/L' });
  // An empty value is a value.
  assert.deepEqual(template.render({ line: '', fields: { id: '' } }), { ok: true, url: 'https://a//' });
  // Names are looked up as own properties only.
  const proto = compileUrlTemplate('https://a/{constructor}/{toString}');
  assert.deepEqual(proto.render({ fields: {} }), { ok: false, missing: 'constructor' });
  assert.deepEqual(compileTextTemplate('{__proto__}', { json: false }).render({}), { ok: false, missing: '__proto__' });
});

test('braces that do not form a placeholder are literal', () => {
  const cases = ['{"a": 1}', '{ x }', '{1abc}', '{a-b}', '{a:RAW}', '{a:raw }', '{a', 'a}', '}{', '{{', '{a.b}', '{:}', '{ }'];
  for (const text of cases) {
    const template = compileUrlTemplate(`https://a/${text}`);
    assert.deepEqual(template.names, [], text);
    assert.equal(template.usesWholeLine, false, text);
    assert.deepEqual(template.render({}), { ok: true, url: `https://a/${text}` }, text);
    assert.deepEqual(compileTextTemplate(text, { json: true }).render(undefined), { ok: true, text }, text);
  }
  // A placeholder right inside literal braces still counts.
  assert.equal(url('https://a/{{id}}', { id: '7' }), 'https://a/{7}');
});

test('values are never scanned for placeholders', () => {
  assert.equal(url('https://a/{a}/{b}', { a: '{b}', b: '{a}' }), 'https://a/%7Bb%7D/%7Ba%7D');
  assert.equal(url('https://a/{a:raw}', { a: '{}' }, 'LINE'), 'https://a/{}');
  const body = compileTextTemplate('{"a":"{a}"}', { json: true }).render({ a: '{a}{}' });
  assert.deepEqual(body, { ok: true, text: '{"a":"{a}{}"}' });
});

test('text templates: named placeholders only; {} and {:raw} stay literal', () => {
  const header = compileTextTemplate('Bearer {token} {} {:raw}', { json: false });
  assert.deepEqual(header.names, ['token']);
  assert.deepEqual(header.render({ token: 'a b"c' }), { ok: true, text: 'Bearer a b"c {} {:raw}' });
  assert.deepEqual(header.render(undefined), { ok: false, missing: 'token' });
  assert.deepEqual(compileTextTemplate('plain', { json: false }).render(undefined), { ok: true, text: 'plain' });
  assert.deepEqual(compileTextTemplate('', { json: true }).render(undefined), { ok: true, text: '' });
});

test('JSON bodies: values are escaped as the inside of a JSON string, braces of the JSON are literal', () => {
  const body = compileTextTemplate('{"isrc":"{isrc}","tags":{},"n":{n:raw},"nested":{"x":"{isrc}"}}', { json: true });
  assert.deepEqual(body.names, ['isrc', 'n']);
  const cases: Array<[string, string]> = [
    ['US1234567890', 'US1234567890'],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\\\slash'],
    ['line\nbreak\r\ttab', 'line\\nbreak\\r\\ttab'],
    ['\u0000\u001f\u007f', '\\u0000\\u001f\u007f'],
    ['é ü 日本 😀', 'é ü 日本 😀'],
    ['lone \ud800', 'lone \\ud800'],
    ['</script> / ', '</script> / '],
  ];
  for (const [value, escaped] of cases) {
    const result = body.render({ isrc: value, n: '42' });
    assert.deepEqual(result, { ok: true, text: `{"isrc":"${escaped}","tags":{},"n":42,"nested":{"x":"${escaped}"}}` }, value);
    if (result.ok) assert.equal((JSON.parse(result.text) as { isrc: string }).isrc, value, value);
  }
  // Without json, the same template inserts values as they are.
  const plain = compileTextTemplate('{"a":"{a}"}', { json: false });
  assert.deepEqual(plain.render({ a: 'x"y' }), { ok: true, text: '{"a":"x"y"}' });
});

test('JSON-escaped bodies parse back to the original values', () => {
  const body = compileTextTemplate('{"v":"{v}"}', { json: true });
  for (const v of ['"', '\\', '\n', '\u0001', '"}{"x":"', 'é😀', '{v}']) {
    const result = body.render({ v });
    assert.ok(result.ok);
    assert.deepEqual(JSON.parse(result.text), { v });
  }
});

test('long inputs compile and render in linear time', () => {
  const hostile = `https://a/${'{'.repeat(100_000)}${'{abc'.repeat(100_000)}${'{x:ra'.repeat(50_000)}`;
  const started = performance.now();
  const template = compileUrlTemplate(hostile);
  assert.deepEqual(template.names, []);
  assert.deepEqual(template.render({}), { ok: true, url: hostile });
  const many = compileUrlTemplate(`https://a/${'{id}/'.repeat(50_000)}`);
  const big = 'x'.repeat(1_000_000);
  assert.equal(compileTextTemplate('{v}', { json: true }).render({ v: big }).ok, true);
  assert.equal(many.render({ fields: { id: 'a' } }).ok, true);
  assert.ok(performance.now() - started < 2_000, 'took too long');
});
