// src/resume.ts: reading an earlier run's output (streamed, validated, a half-written last
// line cut off) and the rule that decides which inputs of a new run are already done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { DoneInputs, loadResume } from '../../src/output/resume.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-resume-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Fake {
  line: number;
  key: string;
  ok?: boolean;
  final?: boolean;
  code?: string;
  body?: unknown;
}

/** A record as the sink writes it: `line` first, then the schema's fields. */
function record({ line, key, ok = true, final = true, code, body = null }: Fake): string {
  return `${JSON.stringify({
    line,
    url: `http://127.0.0.1/${key}`,
    finalUrl: null,
    method: 'GET',
    key,
    ok,
    final,
    status: ok ? 200 : null,
    attempts: 1,
    body,
    error: ok ? null : { code: code ?? 'HTTP_STATUS', message: 'x' },
  })}\n`;
}

function writeOutput(t: TestContext, content: string | Buffer): string {
  const path = join(tempDir(t), 'out.ndjson');
  writeFileSync(path, content);
  return path;
}

/** isDone for each input, in order. */
function ask(resume: { isDone(input: { key: string; line: number }): boolean }, inputs: Array<[string, number]>): boolean[] {
  return inputs.map(([key, line]) => resume.isDone({ key, line }));
}

test('#12: an output that does not exist yet is a fresh start', async (t) => {
  const path = join(tempDir(t), 'nope.ndjson');
  const resume = await loadResume(path);
  assert.deepEqual([resume.done, resume.truncatedBytes], [0, 0]);
  assert.deepEqual(ask(resume, [['a', 1]]), [false]);
  assert.throws(() => statSync(path), /ENOENT/, 'loading does not create the file');
});

test('#12: an empty output is a resume with nothing done', async (t) => {
  const resume = await loadResume(writeOutput(t, ''));
  assert.equal(resume.done, 0);
});

test('#12: a final record makes its input done, ok or not; a non-final one does not', async (t) => {
  const path = writeOutput(
    t,
    record({ line: 1, key: 'a' }) + record({ line: 2, key: 'b', ok: false }) + record({ line: 3, key: 'c', ok: false, final: false, code: 'INTERRUPTED' }),
  );
  const resume = await loadResume(path);
  assert.equal(resume.done, 2);
  assert.deepEqual(
    ask(resume, [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]),
    [true, true, false, false],
  );
  assert.equal(resume.skipped, 2);
});

test('#12: with retryFailed only ok records count, but an input error stays done (it would only repeat)', async (t) => {
  const path = writeOutput(
    t,
    record({ line: 1, key: 'a' }) +
      record({ line: 2, key: 'b', ok: false }) +
      record({ line: 3, key: 'c', ok: false, code: 'INVALID_URL' }) +
      record({ line: 4, key: 'd', ok: false, code: 'TEMPLATE_MISSING_VALUE' }) +
      record({ line: 5, key: 'e', ok: false, code: 'TIMEOUT' }),
  );
  const resume = await loadResume(path, { retryFailed: true });
  assert.deepEqual(
    ask(resume, [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
      ['e', 5],
    ]),
    [true, false, true, true, false],
  );
});

test('#12: for each input the last record wins', async (t) => {
  const path = writeOutput(
    t,
    // a: interrupted, then fetched in a resumed run. b: failed, then retried and interrupted.
    record({ line: 1, key: 'a', ok: false, final: false, code: 'INTERRUPTED' }) +
      record({ line: 2, key: 'b', ok: false }) +
      record({ line: 1, key: 'a' }) +
      record({ line: 2, key: 'b', ok: false, final: false, code: 'INTERRUPTED' }),
  );
  const resume = await loadResume(path);
  assert.equal(resume.done, 1);
  assert.deepEqual(
    ask(resume, [
      ['a', 1],
      ['b', 2],
    ]),
    [true, false],
  );
});

test('#12: the same request on two lines: the line says which one is done', async (t) => {
  // Lines 6 and 9 are the same URL; 9 finished before a crash, 6 did not.
  const resume = await loadResume(writeOutput(t, record({ line: 9, key: 'k' }) + record({ line: 2, key: 'x' })));
  assert.deepEqual(
    ask(resume, [
      ['x', 2],
      ['k', 6],
      ['k', 9],
    ]),
    [true, false, true],
  );
});

test('#12: duplicates, each with its record, are each done once; the last-wins rule is per line', async (t) => {
  const content = [1, 3, 5].map((line) => record({ line, key: 'k' })).join('') + record({ line: 3, key: 'k', ok: false, final: false, code: 'INTERRUPTED' });
  const resume = await loadResume(writeOutput(t, content));
  assert.equal(resume.done, 2);
  assert.deepEqual(
    ask(resume, [
      ['k', 1],
      ['k', 3],
      ['k', 5],
      ['k', 7],
    ]),
    [true, false, true, false],
  );
});

test('#12: lines inserted above: a record whose line went by without its key vouches for the moved input', async (t) => {
  const resume = await loadResume(
    writeOutput(t, record({ line: 1, key: 'a' }) + record({ line: 2, key: 'b' }) + record({ line: 3, key: 'k' }) + record({ line: 4, key: 'k' })),
  );
  // New input: a new line on top pushes everything down by one.
  assert.deepEqual(
    ask(resume, [
      ['new', 1],
      ['a', 2],
      ['b', 3],
      ['k', 4],
      ['k', 5],
    ]),
    [false, true, true, true, true],
  );
  assert.equal(resume.skipped, 4);
});

test('#12: a record vouches for one input at most, and never for one above its own line', async (t) => {
  const single = await loadResume(writeOutput(t, record({ line: 2, key: 'a' })));
  // Line 1 may not take line 2's record: line 2 could be the same request (it is, here).
  assert.deepEqual(
    ask(single, [
      ['a', 1],
      ['a', 2],
      ['a', 3],
    ]),
    [false, true, false],
  );
  const moved = await loadResume(writeOutput(t, record({ line: 1, key: 'a' })));
  assert.deepEqual(
    ask(moved, [
      ['b', 1],
      ['a', 2],
      ['a', 3],
    ]),
    [false, true, false],
  );
});

test('DoneInputs: many inputs with one key stay fast (no scan per input)', () => {
  const done = new DoneInputs();
  const n = 100_000;
  for (let line = 1; line <= n; line += 1) done.add('same', line, line % 2 === 0);
  done.seal();
  assert.equal(done.size, n / 2);
  const started = performance.now();
  let taken = 0;
  for (let line = 1; line <= n; line += 1) if (done.take('same', line)) taken += 1;
  assert.equal(taken, n / 2, "each even line is done, and no odd line takes an even line's record");
  assert.ok(performance.now() - started < 1_000, 'linear, not quadratic');
});

test('#12: a half-written last line is cut off, and nothing before it changes', async (t) => {
  const whole = record({ line: 1, key: 'a' }) + record({ line: 2, key: 'b' });
  const cut = record({ line: 3, key: 'c', body: 'é'.repeat(50) }).slice(0, 60);
  const path = writeOutput(t, whole + cut);
  const resume = await loadResume(path);
  assert.equal(resume.truncatedBytes, Buffer.byteLength(cut));
  assert.equal(readFileSync(path, 'utf8'), whole);
  assert.deepEqual(
    ask(resume, [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]),
    [true, true, false],
  );
});

test('#12: a cut anywhere counts, even in the first bytes or just before the newline', async (t) => {
  const whole = record({ line: 1, key: 'a' });
  for (const fragment of ['{', '{"li', '{"line":', record({ line: 2, key: 'b' }).slice(0, -1)]) {
    const path = writeOutput(t, whole + fragment);
    const resume = await loadResume(path);
    assert.equal(resume.truncatedBytes, fragment.length, JSON.stringify(fragment));
    assert.equal(readFileSync(path, 'utf8'), whole);
    // A record that lost only its newline is not trusted: its input is fetched again.
    assert.deepEqual(
      ask(resume, [
        ['a', 1],
        ['b', 2],
      ]),
      [true, false],
    );
  }
  const onlyFragment = writeOutput(t, '{"line":1,"url":"http');
  assert.equal((await loadResume(onlyFragment)).truncatedBytes, 21);
  assert.equal(readFileSync(onlyFragment, 'utf8'), '');
});

/** The file is the same bytes with the same mtime after the failed load. */
async function assertRejectedUntouched(path: string, mentions: RegExp): Promise<void> {
  const before = readFileSync(path);
  const mtime = statSync(path).mtimeMs;
  await assert.rejects(loadResume(path), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, mentions);
    assert.doesNotMatch(error.message, /\n/, 'one sentence');
    return true;
  });
  assert.deepEqual(readFileSync(path), before);
  assert.equal(statSync(path).mtimeMs, mtime);
}

test('#12: a file that is not ratefetch records is a usage error and is left untouched', async (t) => {
  await assertRejectedUntouched(writeOutput(t, 'http://example.com/a\nhttp://example.com/b\n'), /line 1 is not a ratefetch record \(it is not JSON\)/);
  await assertRejectedUntouched(writeOutput(t, record({ line: 1, key: 'a' }) + '[1,2]\n'), /line 2 .*not a JSON object/);
  // --dry-run output: planned requests, not records (no "final").
  await assertRejectedUntouched(writeOutput(t, '{"line":1,"key":"a","ok":true,"method":"GET","url":"http://x/","error":null}\n'), /"final"/);
  await assertRejectedUntouched(writeOutput(t, record({ line: 1, key: 'a' }) + '\n' + record({ line: 2, key: 'b' })), /line 2 .*not JSON/);
  await assertRejectedUntouched(writeOutput(t, '{"id":1}\n'), /"line"/);
  // Whole records, then a last line that is no record start: not ours, so not cut either.
  await assertRejectedUntouched(writeOutput(t, record({ line: 1, key: 'a' }) + 'hello'), /line 2 is not a ratefetch record/);
  await assertRejectedUntouched(writeOutput(t, 'hello'), /line 1/);
});

test('#12: a directory is a usage error', async (t) => {
  const dir = join(tempDir(t), 'out.ndjson');
  mkdirSync(dir);
  await assert.rejects(loadResume(dir), (error: unknown) => error instanceof UsageError && /regular file/.test(error.message));
});

test('#12: records are read across chunk boundaries, large bodies and split UTF-8 included', async (t) => {
  const big = 'é'.repeat(700_000); // 1.4 MB: longer than one read, and a read ends inside a character
  const lines = [
    record({ line: 1, key: 'a', body: big }),
    ...Array.from({ length: 5000 }, (_, i) => record({ line: i + 2, key: `k${i + 2}` })),
    record({ line: 5002, key: 'z', body: big }),
  ];
  const path = writeOutput(t, lines.join(''));
  const resume = await loadResume(path);
  assert.equal(resume.done, 5002);
  assert.equal(resume.truncatedBytes, 0);
  assert.deepEqual(
    ask(resume, [
      ['a', 1],
      ['k2', 2],
      ['k5001', 5001],
      ['z', 5002],
    ]),
    [true, true, true, true],
  );
});

test('#27: a paginated input is done at its final last page; else it goes on after its last final page', async (t) => {
  const page = (line: number, key: string, n: number, last: boolean, extra: Partial<Fake> = {}) => {
    const text = record({ line, key, ...extra });
    return `${text.slice(0, -2)},"page":${n},"next":${last ? 'null' : `"http://127.0.0.1/${key}?page=${n + 1}"`},"last":${last}}\n`;
  };
  const path = writeOutput(
    t,
    [
      page(1, 'done', 1, false),
      page(1, 'done', 2, true),
      page(2, 'cut', 1, false),
      page(2, 'cut', 2, false),
      page(2, 'cut', 3, true, { ok: false, final: false, code: 'INTERRUPTED' }),
      page(3, 'open', 1, false),
      page(4, 'failed', 1, false),
      page(4, 'failed', 2, true, { ok: false, code: 'HTTP_STATUS' }),
      page(5, 'stopped', 1, true, { ok: false, final: false, code: 'BUDGET_EXHAUSTED' }),
    ].join(''),
  );
  const resume = await loadResume(path);
  assert.deepEqual(
    ask(resume, [
      ['done', 1],
      ['cut', 2],
      ['open', 3],
      ['failed', 4],
      ['stopped', 5],
    ]),
    [true, false, false, true, false],
  );
  assert.deepEqual(resume.continuationOf({ key: 'cut', line: 2 }), { page: 2, next: 'http://127.0.0.1/cut?page=3' });
  assert.deepEqual(resume.continuationOf({ key: 'open', line: 3 }), { page: 1, next: 'http://127.0.0.1/open?page=2' });
  assert.equal(resume.continuationOf({ key: 'stopped', line: 5 }), undefined, 'stopped before its first page: from the start');
  assert.equal(resume.continuationOf({ key: 'cut', line: 9 }), undefined, 'its own line only');
  const again = await loadResume(path, { retryFailed: true });
  assert.deepEqual(ask(again, [['failed', 4]]), [false]);
  assert.deepEqual(again.continuationOf({ key: 'failed', line: 4 }), { page: 1, next: 'http://127.0.0.1/failed?page=2' });
});
