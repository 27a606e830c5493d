// Issue #27: where the next page is (Link header, a URL or a cursor in the JSON body), the body
// path syntax, the options that choose it, and the secrets a resumed `next` gets back. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLink, parseLinkHeader } from '../../src/http/link-header.ts';
import { findNextPage, parseBodyPath, readBodyPath, type Paging } from '../../src/http/next-page.ts';
import type { ResponseOutcome } from '../../src/http/outcome.ts';
import { resolveOptions } from '../../src/options.ts';
import { UsageError } from '../../src/errors.ts';
import { restoreSecrets } from '../../src/run/pages.ts';

function response(body: unknown, headers: ResponseOutcome['headers'] = {}, bodyEncoding: ResponseOutcome['bodyEncoding'] = 'json'): ResponseOutcome {
  return { kind: 'response', status: 200, statusText: 'OK', headers, contentType: 'application/json', bytes: 10, bodyEncoding, body, latencyMs: 1 };
}

const PAGE = new URL('https://api.example.com/repos?per_page=100&page=2');
const INPUT = new URL('https://api.example.com/repos?per_page=100');

test('#27: Link header: every link with its rels, commas and semicolons inside <> kept', () => {
  const header = '<https://a.example/x?a=1,2;b>; rel="next", <https://a.example/last>; rel=last; title="a, b", </first>; REL="first prev"';
  assert.deepEqual(parseLinkHeader(header), [
    { target: 'https://a.example/x?a=1,2;b', rels: ['next'] },
    { target: 'https://a.example/last', rels: ['last'] },
    { target: '/first', rels: ['first', 'prev'] },
  ]);
  assert.equal(findLink(['<one>; rel="prev"', '<two>; rel="next"'], 'next'), 'two');
  for (const junk of [undefined, '', 'nonsense', '<unclosed; rel=next', '<>; rel=next', ';;;,,,<']) {
    assert.doesNotThrow(() => parseLinkHeader(junk));
  }
  assert.equal(findLink('<x>; rel="nextpage"', 'next'), undefined);
});

test('#27: body paths: .name, [n] and ["odd name"], and what is not a path', () => {
  assert.deepEqual(parseBodyPath('.next'), ['next']);
  assert.deepEqual(parseBodyPath('.paging.next'), ['paging', 'next']);
  assert.deepEqual(parseBodyPath('.links.next.href'), ['links', 'next', 'href']);
  assert.deepEqual(parseBodyPath('.data[0].next_url'), ['data', 0, 'next_url']);
  assert.deepEqual(parseBodyPath('.["next-page"].href'), ['next-page', 'href']);
  assert.deepEqual(parseBodyPath('.meta["a.b"]'), ['meta', 'a.b']);
  for (const bad of ['', '.', 'next', '..next', '.a..b', '.a[x]', '.a b', '$.next', '.a[']) assert.equal(parseBodyPath(bad), undefined, bad);
  const body = { data: [{ next_url: 'u' }], meta: { 'a.b': 1 }, list: [] };
  assert.equal(readBodyPath(body, ['data', 0, 'next_url']), 'u');
  assert.equal(readBodyPath(body, ['meta', 'a.b']), 1);
  assert.equal(readBodyPath(body, ['list', 3]), undefined);
  assert.equal(readBodyPath(body, ['data', 'length']), undefined);
  assert.equal(readBodyPath(body, ['toString']), undefined, 'own keys only');
  assert.equal(readBodyPath('text', ['a']), undefined);
});

test('#27: --paginate follows rel="next", resolved against the URL that answered', () => {
  const link: Paging = { kind: 'link' };
  const next = findNextPage(response(null, { link: '</repos?per_page=100&page=3>; rel="next", </repos?page=9>; rel="last"' }), link, PAGE, INPUT);
  assert.equal(next?.href, 'https://api.example.com/repos?per_page=100&page=3');
  assert.equal(findNextPage(response(null, { link: '</repos?page=9>; rel="last"' }), link, PAGE, INPUT), null);
  assert.equal(findNextPage(response(null), link, PAGE, INPUT), null);
  assert.equal(findNextPage(response(null, { link: '<ftp://x/y>; rel="next"' }), link, PAGE, INPUT), null, 'http(s) only');
  const noSecrets = findNextPage(response(null, { link: '<https://u:p@other.example/p#frag>; rel="next"' }), link, PAGE, INPUT);
  assert.equal(noSecrets?.href, 'https://other.example/p', 'userinfo and fragment dropped');
});

test('#27: --next reads a URL from the JSON body; null, empty, missing or not JSON ends the input', () => {
  const paging: Paging = { kind: 'next', path: ['paging', 'next'], text: '.paging.next' };
  assert.equal(
    findNextPage(response({ paging: { next: 'https://api.example.com/b?after=x' } }), paging, PAGE, INPUT)?.href,
    'https://api.example.com/b?after=x',
  );
  assert.equal(findNextPage(response({ paging: { next: '?page=3' } }), paging, PAGE, INPUT)?.href, 'https://api.example.com/repos?page=3');
  for (const body of [{ paging: { next: null } }, { paging: { next: '' } }, { paging: {} }, {}, { paging: { next: 3 } }]) {
    assert.equal(findNextPage(response(body), paging, PAGE, INPUT), null, JSON.stringify(body));
  }
  assert.equal(findNextPage(response('{"paging":{"next":"x"}}', {}, 'text'), paging, PAGE, INPUT), null);
});

test('#27: --cursor puts the cursor into a query parameter of the input request, until it is empty or missing', () => {
  const paging: Paging = { kind: 'cursor', param: 'cursor', path: ['meta', 'next_cursor'], text: '.meta.next_cursor' };
  assert.equal(
    findNextPage(response({ meta: { next_cursor: 'abc=' } }), paging, PAGE, INPUT)?.href,
    'https://api.example.com/repos?per_page=100&cursor=abc%3D',
  );
  assert.equal(findNextPage(response({ meta: { next_cursor: 42 } }), paging, PAGE, INPUT)?.searchParams.get('cursor'), '42');
  const again = new URL('https://api.example.com/repos?per_page=100&cursor=old');
  assert.equal(
    findNextPage(response({ meta: { next_cursor: 'new' } }), paging, PAGE, again)
      ?.searchParams.getAll('cursor')
      .join(),
    'new',
  );
  for (const body of [{ meta: { next_cursor: '' } }, { meta: { next_cursor: null } }, { meta: {} }, { meta: { next_cursor: false } }]) {
    assert.equal(findNextPage(response(body), paging, PAGE, INPUT), null, JSON.stringify(body));
  }
});

test('#27: the pagination options: one of --paginate, --next, --cursor; each bad value names its flag', () => {
  const fails = (partial: Parameters<typeof resolveOptions>[0], flag: RegExp) =>
    assert.throws(
      () => resolveOptions(partial),
      (error: unknown) => error instanceof UsageError && flag.test(error.message),
    );
  fails({ paginate: true, nextPath: '.next' }, /--paginate and --next/);
  fails({ nextPath: '.next', cursor: 'c=.c' }, /--next and --cursor/);
  fails({ nextPath: 'next' }, /--next\) .* got `next`/);
  fails({ cursor: '.meta.cursor' }, /--cursor\) to be PARAM=PATH/);
  fails({ cursor: 'cursor=meta' }, /--cursor/);
  fails({ maxPages: 3 }, /--max-pages goes with/);
  fails({ paginate: true, maxPages: 0 }, /maxPages/);
  assert.equal(resolveOptions({ cursor: 'after = .paging.cursors.after', maxPages: 2 }).maxPages, 2);
  assert.equal(resolveOptions({}).paginate, false);
});

test('#27: a resumed next URL gets its secret query values back from the input URL, or none at all', () => {
  const input = new URL('https://api.example.com/items?api_key=s3cret&q=1');
  assert.equal(
    restoreSecrets('https://api.example.com/items?api_key=[REDACTED]&q=1&page=4', input)?.href,
    'https://api.example.com/items?api_key=s3cret&q=1&page=4',
  );
  assert.equal(restoreSecrets('https://api.example.com/items?q=1&page=4', input)?.href, 'https://api.example.com/items?q=1&page=4');
  assert.equal(restoreSecrets('https://api.example.com/items?token=[REDACTED]&page=4', input), undefined, 'no value of its own to restore');
  assert.equal(restoreSecrets('https://api.example.com/[REDACTED]/items', input), undefined);
  assert.equal(restoreSecrets('not a url', input), undefined);
});
