// Issue #28 part 2, the pure parts of --batch: the batch template, the options and what they
// refuse, which answers split a batch, cutting an answer by key, and the retries of a split part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import type { AttemptOutcome, ResponseOutcome } from '../../src/http/outcome.ts';
import { resolveOptions, type RunOptions } from '../../src/options.ts';
import { PendingBatch, createBatchPlanner } from '../../src/plan/batch-plan.ts';
import { batchingOf, type Batching } from '../../src/plan/batching.ts';
import { createPlanner, type PlannedRequest } from '../../src/plan/planner.ts';
import { compileBatchUrlTemplate } from '../../src/plan/template.ts';
import { cutAnswer, shouldSplit } from '../../src/run/batch-end.ts';
import { retrySettingsFor } from '../../src/run/batches.ts';
import { newJob, type Job } from '../../src/run/job.ts';
import type { Lane } from '../../src/rate/lanes.ts';
import type { FetchRecord } from '../../src/record/record.ts';
import { ResultsReporter } from '../../src/report/results-report.ts';

const BATCH: Partial<RunOptions> = { template: 'https://api.example.com/v1/tracks?ids={}', batch: 50, batchSplit: '.tracks', batchKey: '.id' };

function render(template: string, values: string[], join = ','): string {
  const compiled = compileBatchUrlTemplate(template);
  assert.ok('render' in compiled, `${template}: ${JSON.stringify(compiled)}`);
  return compiled.render(values, join);
}

test('#28: a batch template encodes each value for its place and joins them with the join text as it is', () => {
  assert.equal(render('https://a/v1/tracks?ids={}&market=DE', ['x', 'y z', 'p,q']), 'https://a/v1/tracks?ids=x,y%20z,p%2Cq&market=DE');
  assert.equal(render('https://a/items/{id}', ['a/b', 'c']), 'https://a/items/a%2Fb,c');
  assert.equal(render('https://a/x?ids={id:raw}', ['a b', 'c'], '|'), 'https://a/x?ids=a b|c');
  assert.equal(render('https://a/x?ids={}', ['1', '2'], '%2C'), 'https://a/x?ids=1%2C2');
});

test('#28: a batch template needs exactly one placeholder, in the path, query or fragment', () => {
  const cases: Array<[string, unknown]> = [
    ['https://a/x', { kind: 'count', count: 0 }],
    ['https://a/{}?ids={}', { kind: 'count', count: 2 }],
    ['https://a/{id}?x={id}', { kind: 'count', count: 2 }],
    ['https://{host}/x', { kind: 'position', position: 'host' }],
    ['{}', { kind: 'position', position: 'base' }],
  ];
  for (const [template, problem] of cases) assert.deepEqual(compileBatchUrlTemplate(template), problem, template);
});

test('#28: the batch options: defaults, `.` for the whole body, and every refusal in one sentence naming the flag', () => {
  assert.equal(batchingOf(resolveOptions({})), undefined);
  const batching = batchingOf(resolveOptions({ ...BATCH, batchSplit: '.', batchKey: '.data["track id"]' }))!;
  assert.deepEqual([batching.size, batching.join, batching.split, batching.key], [50, ',', [], ['data', 'track id']]);

  const cases: Array<[Partial<RunOptions>, RegExp]> = [
    [{ ...BATCH, batch: 0 }, /`batch` \(--batch\) to be a whole number from 1 to 1000, got `0`/],
    [{ ...BATCH, batch: 1001 }, /from 1 to 1000, got `1001`/],
    [{ ...BATCH, batch: 2.5 }, /got `2.5`/],
    [{ batchSplit: '.tracks' }, /^--batch-split goes with --batch/],
    [{ batchKey: '.id' }, /^--batch-key goes with --batch/],
    [{ batchJoin: '|' }, /^--batch-join goes with --batch/],
    [{ ...BATCH, batchJoin: '' }, /`batchJoin` \(--batch-join\)/],
    [{ ...BATCH, batchKey: undefined }, /--batch needs --batch-split <path> .* and --batch-key <path>/],
    [{ ...BATCH, batchSplit: 'tracks' }, /`batchSplit` \(--batch-split\) to be a path .* got `tracks`/],
    [{ ...BATCH, batchKey: '.a..b' }, /`batchKey` \(--batch-key\)/],
    [{ ...BATCH, paginate: true }, /^--batch and --paginate cannot go together/],
    [{ ...BATCH, nextPath: '.next' }, /^--batch and --next cannot go together/],
    [{ ...BATCH, cursor: 'c=.c' }, /^--batch and --cursor cannot go together/],
    [{ ...BATCH, bodyFormat: 'text' }, /--body-format must be auto or json, not text/],
    [{ ...BATCH, template: undefined }, /^--batch fills the one placeholder of a --template/],
    [{ ...BATCH, template: 'https://a/{}/{}' }, /exactly one placeholder .* this one has 2/],
    [{ ...BATCH, template: 'https://a/x' }, /this one has none/],
    [{ ...BATCH, template: 'https://{}/x' }, /its placeholder in the host/],
  ];
  for (const [partial, message] of cases) {
    assert.throws(
      () => resolveOptions(partial),
      (error: unknown) => error instanceof UsageError && message.test(error.message) && !error.message.includes('\n'),
      JSON.stringify(partial),
    );
  }
});

test('#28: with --batch, a header or a body that varies per input is refused when the planner is made', () => {
  const base = { ...resolveOptions({ ...BATCH, template: 'https://a/x?ids={id}' }) };
  assert.throws(() => createPlanner({ ...base, headers: [['X-Id', '{id}']] }), /no -H header or -d body may vary per input/);
  assert.throws(() => createPlanner({ ...base, body: '{"id": "{id}"}' }), /no -H header or -d body may vary per input/);
  assert.doesNotThrow(() => createPlanner({ ...base, headers: [['X-Run', 'nightly']] }));
});

test('#28: a batch fills up on distinct values; its request takes each value once, in order', () => {
  const planner = createPlanner(resolveOptions({ ...BATCH, batch: 2 }));
  const plans = ['a', 'a', 'b', 'c'].map((text, i) => planner.plan({ line: i + 1, text }) as PlannedRequest);
  const pending = new PendingBatch(2);
  assert.deepEqual(
    plans.map((plan) => pending.add(plan)),
    [false, false, true, true],
  );
  const members = pending.take();
  assert.ok(pending.isEmpty);
  const request = createBatchPlanner(BATCH.template!, ',')(members);
  assert.deepEqual(request.values, ['a', 'b', 'c']);
  assert.equal(request.plan.url.href, 'https://api.example.com/v1/tracks?ids=a,b,c');
  assert.equal(request.plan.line, 1);
  assert.deepEqual(
    members.map((plan) => [plan.batchValue, plan.inputUrl]),
    [
      ['a', 'https://api.example.com/v1/tracks?ids=a'],
      ['a', 'https://api.example.com/v1/tracks?ids=a'],
      ['b', 'https://api.example.com/v1/tracks?ids=b'],
      ['c', 'https://api.example.com/v1/tracks?ids=c'],
    ],
  );
});

function response(status: number, body: unknown = null, bodyEncoding: ResponseOutcome['bodyEncoding'] = 'json'): ResponseOutcome {
  return { kind: 'response', status, statusText: '', headers: {}, contentType: 'application/json', bytes: 10, bodyEncoding, body, latencyMs: 1 };
}
const failure = (code: 'TIMEOUT' | 'CONNECTION_REFUSED' | 'BODY_TOO_LARGE'): AttemptOutcome => ({ kind: 'failure', code, message: code, latencyMs: 1 });

test('#28: which endings split a batch in halves, and which end it whole', () => {
  const cases: Array<[number, AttemptOutcome | null, boolean, string]> = [
    [8, response(400), true, 'a 4xx about the request: one ID may be bad'],
    [8, response(404), true, 'likewise'],
    [8, response(414), true, 'a URL too long for the server'],
    [8, response(500), true, 'a 5xx that outlived its retries'],
    [8, failure('TIMEOUT'), true, 'a smaller batch answers sooner'],
    [8, failure('BODY_TOO_LARGE'), true, 'a smaller batch has a smaller answer'],
    [1, response(400), false, 'a single value is its own answer'],
    [8, response(200), false, 'accepted'],
    [8, response(401), false, 'the credential, not an ID'],
    [8, response(403), false, 'likewise'],
    [8, response(429), false, 'a rate limit: waited out whole'],
    [8, response(503), false, 'likewise'],
    [8, response(302), false, 'a redirect not followed'],
    [8, failure('CONNECTION_REFUSED'), false, 'no server to ask'],
    [8, null, false, 'never sent'],
  ];
  for (const [values, outcome, split, why] of cases) {
    assert.equal(shouldSplit(values, outcome, null, {}), split, `${values} values, ${JSON.stringify(outcome)}: ${why}`);
  }
  assert.equal(shouldSplit(8, response(400), { code: 'INTERRUPTED', what: 'stopped' }, {}), false, 'a stop of the run never splits');
  assert.equal(shouldSplit(8, response(404), null, { expectStatus: (status) => status === 404 }), false, 'an expected status is accepted');
});

const BATCHING: Batching = { size: 50, join: ',', split: ['tracks'], key: ['id'], splitText: '.tracks', keyText: '.id' };

test('#28: an answer is cut by key, as strings; the first of two elements with one key wins', () => {
  const elements = [{ id: 'a' }, { id: 7 }, { id: 'a', copy: true }, { id: null }, { name: 'no id' }, null, { id: 1.5 }];
  const cut = cutAnswer(response(200, { tracks: elements }), BATCHING);
  assert.ok(cut instanceof Map);
  assert.deepEqual([...cut.keys()], ['a', '7', '1.5']);
  assert.deepEqual(cut.get('a'), { id: 'a' });
  const whole = cutAnswer(response(200, [{ id: 'x' }]), { ...BATCHING, split: [] });
  assert.ok(whole instanceof Map && whole.has('x'), 'split `.`: the body is the array');
});

test('#28: an answer without the array, or not JSON, cannot be cut and says why', () => {
  assert.deepEqual(cutAnswer(response(200, { items: [] }), BATCHING), { problem: 'the answer has no array at .tracks (--batch-split)' });
  assert.deepEqual(cutAnswer(response(200, { tracks: {} }), BATCHING), { problem: 'the answer has no array at .tracks (--batch-split)' });
  assert.deepEqual(cutAnswer(response(200, 'hello', 'text'), BATCHING), { problem: 'the answer is not JSON (application/json, 10 bytes)' });
});

test('#28: a part of a split batch retries a fault once, but keeps --retries for a 429 or 503', () => {
  const settings = { retries: 5, marker: 'same' };
  const job: Job = newJob(
    createPlanner(resolveOptions(BATCH)).plan({ line: 1, text: 'a' }) as PlannedRequest,
    { key: 'k', label: 'k', buckets: [], pauseBucket: 'k' } as unknown as Lane,
    0,
  );
  assert.equal(retrySettingsFor(job, response(500), settings), settings, 'not a batch');
  job.batch = { members: [], values: ['a'], faultRetries: undefined };
  assert.equal(retrySettingsFor(job, response(500), settings), settings, 'the first batch has all of --retries');
  job.batch.faultRetries = 1;
  assert.deepEqual(retrySettingsFor(job, response(500), settings), { retries: 1, marker: 'same' });
  assert.deepEqual(retrySettingsFor(job, failure('TIMEOUT'), settings), { retries: 1, marker: 'same' });
  assert.equal(retrySettingsFor(job, response(429), settings), settings);
  assert.equal(retrySettingsFor(job, response(503), settings), settings);
  assert.equal(retrySettingsFor(job, response(500), { retries: 0 }).retries, 0, 'never more than --retries');
});

test('#28: ratefetch report counts a batch request once, from batch.requests, not once per input it carried', () => {
  const reporter = new ResultsReporter();
  const record = (line: number, requests: number): FetchRecord =>
    ({
      line,
      key: `k${line}`,
      url: `https://a/x?ids=${line}`,
      finalUrl: 'https://a/x?ids=1,2,3',
      ok: true,
      final: true,
      status: 200,
      attempts: 2,
      latencyMs: 3,
      startedAt: 1_000,
      endedAt: 2_000,
      error: null,
      batch: { size: 3, index: line - 1, requests },
    }) as FetchRecord;
  for (const each of [record(1, 2), record(2, 0), record(3, 0)]) reporter.add(each);
  const report = reporter.report();
  assert.deepEqual([report.records, report.attempts, report.retries], [3, 2, 1]);
  assert.equal(
    report.perSecond.reduce((sum, second) => sum + second.starts, 0),
    2,
  );
});
