/**
 * --dry-run: every input planned, nothing sent. One NDJSON line per input, the same line
 * numbers and keys a real run would use, secrets redacted. With --batch, one line per batch
 * request instead, with the `lines` it carries (invalid inputs still get a line each).
 */
import { resolveOptions, type RunOptions } from '../options.js';
import { createPlanner, planAll, type InputSource, type PlannedRequest } from './planner.js';
import { batchingOf } from './batching.js';
import { PendingBatch, createBatchPlanner } from './batch-plan.js';
import type { Redactor } from '../record/redact.js';
import { createRunRedactor } from '../record/redact.js';
import type { ErrorCode } from '../record/error-codes.js';

export interface PlannedLine {
  line: number;
  key: string;
  ok: boolean;
  method: string;
  url: string;
  headers?: { [name: string]: string };
  body?: string;
  /** With --batch: the input lines this one request carries (`line` is the first). */
  lines?: number[];
  vars?: { [name: string]: string };
  meta?: unknown;
  /** With --save: the file the body would go to. */
  save?: string;
  error: { code: ErrorCode; message: string } | null;
}

export async function* planOnly(input: InputSource, partial: Partial<RunOptions> = {}): AsyncGenerator<PlannedLine> {
  const options = resolveOptions(partial);
  const redactor = createRunRedactor(options.headers, options.redactParams, options.secretHeaders);
  const batching = batchingOf(options);
  const planBatch = batching && createBatchPlanner(options.template!, batching.join);
  const pending = batching && new PendingBatch(batching.size);
  const batchLine = (members: PlannedRequest[]): PlannedLine => {
    const { plan } = planBatch!(members);
    return requestLine(plan, redactor, { lines: members.map((member) => member.line) });
  };
  for await (const plan of planAll(input, createPlanner(options))) {
    const identity = { ...(plan.identity.vars && { vars: plan.identity.vars }), ...(plan.identity.meta !== undefined && { meta: plan.identity.meta }) };
    if (plan.kind === 'invalid') {
      yield {
        line: plan.line,
        key: plan.key,
        ok: false,
        method: '',
        url: redactor.text(plan.text),
        ...identity,
        error: { code: plan.code, message: redactor.text(plan.message) },
      };
      continue;
    }
    if (pending === undefined) yield requestLine(plan, redactor, identity);
    else if (pending.add(plan)) yield batchLine(pending.take());
  }
  if (pending !== undefined && !pending.isEmpty) yield batchLine(pending.take());
}

/** `extra`: the input's vars and meta, or a batch's lines. */
function requestLine(plan: PlannedRequest, redactor: Redactor, extra: Pick<PlannedLine, 'vars' | 'meta' | 'lines'>): PlannedLine {
  const line: PlannedLine = {
    line: plan.line,
    key: plan.key,
    ok: true,
    method: plan.method,
    url: redactor.url(plan.inputUrl, true),
    headers: Object.fromEntries(redactor.headers(plan.headers)),
    ...extra,
    error: null,
  };
  if (plan.body !== undefined) line.body = typeof plan.body === 'string' ? plan.body : Buffer.from(plan.body).toString('base64');
  if (plan.save !== undefined) line.save = redactor.text(plan.save);
  return line;
}
