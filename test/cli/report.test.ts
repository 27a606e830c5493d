// `ratefetch report` (issue #26) against results files whose figures are known: the last record
// of each input wins across files (a resumed run appends), gzipped files, a half-written last
// line, the stats file's 429s and pauses, --json, and what to fetch again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ErrorCode } from '../../src/record/error-codes.ts';
import type { FetchRecord } from '../../src/record/record.ts';
import type { ResultsReport } from '../../src/report/results-report.ts';
import { assertUsageError, runCli, tempDir } from './helpers.ts';

const T0 = Date.UTC(2026, 11, 7, 2, 15, 0);

function record(line: number, over: Partial<FetchRecord> = {}): FetchRecord {
  const startedAt = T0 + (line - 1) * 100; // ten a second
  return {
    line,
    url: `https://api.example.com/items/${line}`,
    finalUrl: `https://api.example.com/items/${line}`,
    method: 'GET',
    key: `k${line}`,
    ok: true,
    final: true,
    status: 200,
    attempts: 1,
    ms: 20,
    queuedMs: 0,
    latencyMs: 20,
    startedAt,
    endedAt: startedAt + 20,
    bytes: 2,
    contentType: 'application/json',
    bodyEncoding: 'json',
    body: {},
    error: null,
    ...over,
  };
}

const failed = (line: number, code: ErrorCode, status: number | null, final: boolean, over: Partial<FetchRecord> = {}) =>
  record(line, { ok: false, final, status, error: { code, message: `GET https://api.example.com/items/${line}: ${code}` }, ...over });

const ndjson = (records: FetchRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

test('#26: report adds up a night: the last record per input wins across files, gzip, a cut last line, the stats file', async (t) => {
  const dir = tempDir(t);
  // The first run: 30 inputs; 25 ok, line 26 a 404, 27 timed out (not final), 28 invalid,
  // 29 and 30 interrupted (the run was stopped). Line 5 took 3 attempts, slowly, on another route.
  const first = [
    ...Array.from({ length: 25 }, (_, i) => record(i + 1)),
    failed(26, 'HTTP_STATUS', 404, true),
    failed(27, 'TIMEOUT', null, false, { attempts: 6, latencyMs: 2_000 }),
    failed(28, 'INVALID_URL', null, true, { attempts: 0, startedAt: null, endedAt: null, latencyMs: null, url: 'nope', finalUrl: null }),
    failed(29, 'INTERRUPTED', null, false, { attempts: 0, startedAt: null, endedAt: null, latencyMs: null, finalUrl: null }),
    failed(30, 'INTERRUPTED', null, false, { attempts: 0, startedAt: null, endedAt: null, latencyMs: null, finalUrl: null }),
  ];
  first[4] = record(5, {
    attempts: 3,
    latencyMs: 900,
    url: 'https://slow.example.com/search/5',
    finalUrl: 'https://slow.example.com/search/5',
    endedAt: T0 + 2_500,
  });
  const firstPath = join(dir, 'night.ndjson.gz');
  writeFileSync(firstPath, gzipSync(ndjson(first)));
  // The resumed run appended 29 and 30 (ok now), and was killed while writing one more line.
  const secondPath = join(dir, 'resumed.ndjson');
  writeFileSync(
    secondPath,
    `${ndjson([record(29, { startedAt: T0 + 10_000, endedAt: T0 + 10_020 }), record(30, { startedAt: T0 + 10_100, endedAt: T0 + 10_120 })])}{"line":31,"ok":tr`,
  );
  const statsPath = join(dir, 'stats.json');
  writeFileSync(
    statsPath,
    JSON.stringify({
      version: 1,
      startedAt: new Date(T0).toISOString(),
      wallMs: 10_200,
      received429: 4,
      laneRates: [{ lane: 'api.example.com', rps: 9.7, found: true, settledRps: 9.7 }],
      rateTimeline: [],
      perSecond: [{ atS: 1, starts: 10, answers: { '2xx': 9, '3xx': 0, '4xx': 1, '5xx': 0, failed: 0 }, received429: 4, pauses: 1 }],
      pauseTimeline: [{ atMs: 1_200, host: 'api.example.com', forMs: 2_000, source: 'server', reason: '429 Too Many Requests, Retry-After 2s' }],
    }),
  );

  const json = await runCli(['report', firstPath, secondPath, '--stats', statsPath, '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.match(json.stderr, /resumed\.ndjson ends in a half-written record, left out/);
  const report = JSON.parse(json.stdout) as ResultsReport;
  assert.equal(report.records, 32);
  assert.equal(report.inputs, 30);
  assert.equal(report.ok, 27, '25 + the two finished by the resumed run');
  assert.equal(report.failed, 3);
  assert.deepEqual(report.failedByCode, { HTTP_STATUS: 1, TIMEOUT: 1, INVALID_URL: 1 });
  assert.deepEqual(report.failedByStatus, { '404': 1 });
  assert.deepEqual(report.failureExamples, {
    HTTP_STATUS: ['GET https://api.example.com/items/26: HTTP_STATUS'],
    TIMEOUT: ['GET https://api.example.com/items/27: TIMEOUT'],
    INVALID_URL: ['GET https://api.example.com/items/28: INVALID_URL'],
  });
  assert.equal(report.attempts, 24 + 3 + 1 + 6 + 2);
  assert.equal(report.retries, 2 + 5);
  assert.equal(report.latencyMs.p99 !== null && report.latencyMs.p99 >= 1_900, true, JSON.stringify(report.latencyMs));
  assert.equal(report.startedAt, T0);
  assert.equal(report.endedAt, T0 + 10_120);
  assert.deepEqual(
    report.perSecond.map((second) => [second.atS - T0 / 1000, second.starts, second.received429]),
    [
      [0, 10, 0],
      [1, 10, 4],
      [2, 7 + 2 + 5, 0],
      [10, 2, 0],
    ],
    "starts by second (line 5's two retries at its end), 429s from the stats file",
  );
  assert.equal(report.slowestRoutes[0]!.name, 'slow.example.com/search/*');
  assert.deepEqual(
    report.slowestHosts.map((host) => host.name),
    ['slow.example.com', 'api.example.com'],
  );
  assert.deepEqual(report.worthRetrying.byCode, { HTTP_STATUS: 1, TIMEOUT: 1 }, 'an input error is not worth fetching again');
  assert.equal(report.worthRetrying.notFinal, 1);
  assert.equal(report.worthRetrying.failedFinal, 1);
  assert.equal(report.run?.received429, 4);

  const text = await runCli(['report', firstPath, secondPath, '--stats', statsPath]);
  assert.equal(text.code, 0, text.stderr);
  for (const expected of [
    /32 records, 30 inputs/,
    /ran {10}2026-12-07 02:15:00 → 02:15:10 UTC \(10\.1s\)/,
    /ok {11}27 \(90% success rate\)/,
    /failed {7}3 · by code: HTTP_STATUS ×1, INVALID_URL ×1, TIMEOUT ×1 · by status: 404 ×1/,
    /retries 7 · 429 received: 4/,
    /rate found {3}settled at 9\.7\/s for api\.example\.com/,
    /pauses {7}1, 2s in all \(429 Too Many Requests, Retry-After 2s\)/,
    /02:15:01 +10\.0\/s +█+ +429 ×4/,
    /slow\.example\.com\/search\/\* +p50 +900ms/,
    /Worth fetching again: 2 inputs/,
    /line 27 {2}TIMEOUT/,
    /ratefetch <input> -o .*night\.ndjson\.gz --resume --retry-failed/,
  ]) {
    assert.match(text.stdout, expected);
  }
});

test('#26: report says in one sentence what is wrong with its input', async (t) => {
  const dir = tempDir(t);
  const notRecords = join(dir, 'other.ndjson');
  writeFileSync(notRecords, '{"id": 1}\n{"id": 2}\n');
  assertUsageError(await runCli(['report', notRecords]), /other\.ndjson line 1 is not a ratefetch record/);
  const notJson = join(dir, 'text.txt');
  writeFileSync(notJson, 'hello\nworld\n');
  assertUsageError(await runCli(['report', notJson]), /text\.txt line 1 is not JSON/);
  assertUsageError(await runCli(['report', join(dir, 'missing.ndjson')]), /report cannot read .*missing\.ndjson: no such file/);
  assertUsageError(await runCli(['report']), /report: missing required argument/);
  const results = join(dir, 'ok.ndjson');
  writeFileSync(results, ndjson([record(1)]));
  assertUsageError(await runCli(['report', results, '--stats', notJson]), /--stats .*text\.txt is not a ratefetch --stats-file/);
  // Read from stdin, and nothing to fetch again.
  const fromStdin = await runCli(['report', '-'], { stdin: ndjson([record(1), record(2)]) });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.match(fromStdin.stdout, /Nothing worth fetching again/);
});
