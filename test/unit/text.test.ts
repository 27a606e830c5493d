// src/text.ts: the one-line rule every message, reason and log line goes through, and the
// regex escape behind the redactor's and the limit rules' patterns.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeRegExp, toOneLine } from '../../src/text.ts';

describe('toOneLine', () => {
  const rows: Array<[name: string, text: string, maxChars: number | undefined, expected: string]> = [
    ['CR LF and a header injection', 'Down\r\nX-Evil: 1', undefined, 'Down X-Evil: 1'],
    ['an escape sequence and a NUL', 'bad\u001b[2J\u0000news', undefined, 'bad [2J news'],
    ['DEL and C1 controls', 'a\u007fb\u0085c\u009bd', undefined, 'a b c d'],
    ['Unicode line and paragraph separators', 'a\u2028b\u2029c', undefined, 'a b c'],
    ['a run of controls is one space', 'a\t\r\n\u0000b', undefined, 'a b'],
    ['trimmed', ' \t padded \r\n', undefined, 'padded'],
    ['only controls and spaces', ' \t ', undefined, ''],
    ['no cap by default', 'x'.repeat(5000), undefined, 'x'.repeat(5000)],
    ['at the cap, kept whole', 'x'.repeat(80), 80, 'x'.repeat(80)],
    ['past the cap, cut with an ellipsis', 'x'.repeat(81), 80, `${'x'.repeat(79)}…`],
    ['the cap counts after flattening', `${' '.repeat(10)}${'y'.repeat(40)}\r\n`, 40, 'y'.repeat(40)],
    ['other text untouched', 'café ✓ 503 Service Unavailable', undefined, 'café ✓ 503 Service Unavailable'],
  ];
  for (const [name, text, maxChars, expected] of rows) {
    test(name, () => assert.equal(toOneLine(text, maxChars), expected));
  }
});

describe('escapeRegExp', () => {
  test('every special character matches itself', () => {
    const text = 'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o';
    assert.ok(new RegExp(`^${escapeRegExp(text)}$`).test(text));
    assert.ok(!new RegExp(`^${escapeRegExp('a.b')}$`).test('axb'));
  });
});
