/**
 * --dry-run: every input planned, nothing sent. One NDJSON line per input, the same line
 * numbers and keys a real run would use, secrets redacted.
 */
import { resolveOptions, type RunOptions } from '../options.js';
import { createPlanner, planAll, type InputSource } from './planner.js';
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
  vars?: { [name: string]: string };
  meta?: unknown;
  error: { code: ErrorCode; message: string } | null;
}

export async function* planOnly(input: InputSource, partial: Partial<RunOptions> = {}): AsyncGenerator<PlannedLine> {
  const options = resolveOptions(partial);
  const redactor = createRunRedactor(options.headers, options.redactParams, options.secretHeaders);
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
    const line: PlannedLine = {
      line: plan.line,
      key: plan.key,
      ok: true,
      method: plan.method,
      url: redactor.url(plan.inputUrl, true),
      headers: Object.fromEntries(redactor.headers(plan.headers)),
      ...identity,
      error: null,
    };
    if (plan.body !== undefined) line.body = typeof plan.body === 'string' ? plan.body : Buffer.from(plan.body).toString('base64');
    yield line;
  }
}
