/**
 * Response checks: `--expect-status` and `--schema`. Pure: parsing and compiling happen once,
 * before any request, and throw UsageError; checking a response returns a value. Compiling a
 * schema is in schema.ts, so that a run without one never loads ajv.
 */
import { UsageError } from '../errors.js';
import { describeStatus } from '../http/outcome.js';
import { toOneLine } from '../text.js';

/** One way the body does not match the schema. */
export interface SchemaError {
  /** JSON Pointer into the body (ajv's instancePath); the whole body is `/`. */
  path: string;
  /** Ajv's message, with the offending keyword's parameter where ajv leaves it out. One line. */
  message: string;
}

/** Returns [] when the body is valid. */
export interface BodyValidator {
  (body: unknown, bodyEncoding: string): SchemaError[];
  /** Names the schema in `what` (compileSchema sets it to its `source`). */
  readonly source?: string;
}

export interface ResponseChecks {
  /** Which statuses are ok. @default 2xx */
  expectStatus?: (status: number) => boolean;
  /** From compileSchema; returns [] when the body is valid. */
  validate?: BodyValidator;
}

export type CheckResult =
  | { ok: true }
  | {
      ok: false;
      code: 'HTTP_STATUS' | 'SCHEMA_MISMATCH';
      /** One line for the record's message, after `METHOD url: `. */
      what: string;
      /** At most MAX_SCHEMA_ERRORS, in ajv's order (SCHEMA_MISMATCH only); `what` counts the rest. */
      schemaErrors?: SchemaError[];
    };

/** Schema errors kept per record; the rest are only counted. */
export const MAX_SCHEMA_ERRORS = 10;

export const NOT_JSON_ERROR: SchemaError = { path: '/', message: 'the body is not JSON' };

// ---------------------------------------------------------------------------------------------
// --expect-status

const SINGLE = /^(\d{3})$/;
const RANGE = /^(\d{3})\s*-\s*(\d{3})$/;
const CLASS = /^([1-9])xx$/i;

/**
 * `200,404`, `200-299`, `2xx` and any mix, commas between, spaces allowed.
 * Statuses are three digits from 100 to 999 (some servers do send 999).
 */
export function parseExpectStatus(text: string): (status: number) => boolean {
  const ranges: Array<[number, number]> = [];
  const tokens = text.split(',').map((token) => token.trim());
  if (tokens.every((token) => token === '')) {
    throw new UsageError('Expected `--expect-status` to list statuses (404), ranges (200-299) or classes (2xx), got an empty list.');
  }
  for (const token of tokens) {
    const range = parseToken(token);
    if (typeof range === 'string') {
      throw new UsageError(`Expected \`--expect-status\` to list ${range}, got \`${toOneLine(token, 40)}\` in \`${toOneLine(text, 120)}\`.`);
    }
    ranges.push(range);
  }
  return (status) => ranges.some(([low, high]) => status >= low && status <= high);
}

/** A token as an inclusive range, or what was expected instead. */
function parseToken(token: string): [number, number] | string {
  const expected = 'statuses (404), ranges (200-299) or classes (2xx)';
  let match = SINGLE.exec(token);
  if (match) {
    const status = Number(match[1]);
    return isStatus(status) ? [status, status] : 'statuses from 100 to 999';
  }
  match = RANGE.exec(token);
  if (match) {
    const low = Number(match[1]);
    const high = Number(match[2]);
    if (!isStatus(low) || !isStatus(high)) return 'statuses from 100 to 999';
    return low <= high ? [low, high] : 'ranges from low to high (200-299)';
  }
  match = CLASS.exec(token);
  if (match) {
    const hundreds = Number(match[1]) * 100;
    return [hundreds, hundreds + 99];
  }
  return expected;
}

function isStatus(n: number): boolean {
  return Number.isInteger(n) && n >= 100 && n <= 999;
}

// ---------------------------------------------------------------------------------------------
// Both

/** Status first; the schema applies only to a response whose status passed. */
export function checkResponse(status: number, statusText: string, body: unknown, bodyEncoding: string, checks: ResponseChecks): CheckResult {
  const isExpected = expectedStatus(checks);
  if (!isExpected(status)) {
    const suffix = checks.expectStatus ? ', not in --expect-status' : '';
    return { ok: false, code: 'HTTP_STATUS', what: describeStatus(status, statusText) + suffix };
  }
  if (!checks.validate) return { ok: true };

  const errors = checks.validate(body, bodyEncoding);
  const first = errors[0];
  if (first === undefined) return { ok: true };
  const rest = errors.length - 1;
  return {
    ok: false,
    code: 'SCHEMA_MISMATCH',
    what: `body does not match ${checks.validate.source ?? 'the schema'}: ${first.path} ${first.message}${rest > 0 ? ` (+${rest} more)` : ''}`,
    schemaErrors: errors.slice(0, MAX_SCHEMA_ERRORS),
  };
}

/** Which statuses pass: --expect-status's, else 2xx. */
export function expectedStatus(checks: ResponseChecks): (status: number) => boolean {
  return checks.expectStatus ?? isSuccess;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}
