import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deduplicator } from '../../src/run/dedupe.ts';
import { RecordSpill } from '../../src/run/record-spill.ts';
import { createRunRedactor } from '../../src/record/redact.ts';
import type { PlannedRequest } from '../../src/plan/planner.ts';
import type { FetchRecord } from '../../src/record/record.ts';

function plan(line: number, key: string): PlannedRequest {
  const url = `http://127.0.0.1:9/items/${key}`;
  return { kind: 'request', line, key, url: new URL(url), inputUrl: url, identity: {} } as unknown as PlannedRequest;
}

function record(line: number, body: unknown): FetchRecord {
  return { line, url: 'http://127.0.0.1:9/items/a', ok: true, final: true, status: 200, body, error: null } as unknown as FetchRecord;
}

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-spill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('#24: the spill file gives back each record as it was put, and leaves no name behind', (t) => {
  const dir = tempDir(t);
  const spill = new RecordSpill(dir);
  assert.deepEqual(readdirSync(dir), [], 'unlinked once open');
  const first = record(1, { id: 'a', text: 'é ✓ 𝄞' });
  const second = record(2, 'plain text');
  const at1 = spill.put(first);
  const at2 = spill.put(second);
  assert.deepEqual(spill.get(at2), second);
  assert.deepEqual(spill.get(at1), first);
  spill.close();
  assert.deepEqual(readdirSync(dir), []);
});

test('#24: a duplicate read after its first has settled is a copy of the first record, read back from the spill', (t) => {
  const dedupe = new Deduplicator(createRunRedactor([], []), new RecordSpill(tempDir(t)));
  t.after(() => dedupe.close());
  assert.deepEqual(dedupe.admit(plan(1, 'k')), { fetch: true });
  const waiting = dedupe.admit(plan(2, 'k'));
  assert.deepEqual(waiting, { fetch: false });
  const copies = dedupe.settle(plan(1, 'k'), record(1, { id: 'a' }));
  assert.deepEqual(
    copies.map((copy) => [copy.line, copy.duplicateOf, copy.body]),
    [[2, 1, { id: 'a' }]],
  );
  const later = dedupe.admit(plan(3, 'k'));
  assert.equal(later.fetch, false);
  assert.deepEqual(later.fetch === false && [later.record?.line, later.record?.duplicateOf, later.record?.body], [3, 1, { id: 'a' }]);
  assert.deepEqual(dedupe.admit(plan(4, 'other')), { fetch: true });
});

test('#24: a temporary directory that cannot hold the spill is a usage error naming TMPDIR', () => {
  assert.throws(() => new RecordSpill('/nonexistent/ratefetch'), /--dedupe keeps records in a temporary file .*TMPDIR/);
});
