/**
 * Response checks: `--expect-status` and `--schema`. Pure: parsing and compiling happen once,
 * before any request, and throw UsageError; checking a response returns a value.
 */
import { STATUS_CODES } from 'node:http';
import { Ajv, type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { UsageError } from './errors.js';

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
      /** At most MAX_SCHEMA_ERRORS, in ajv's order (SCHEMA_MISMATCH only). */
      schemaErrors?: SchemaError[];
      /** How many errors were left out of schemaErrors; absent when none were. */
      moreErrors?: number;
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
      throw new UsageError(`Expected \`--expect-status\` to list ${range}, got \`${oneLine(token, 40)}\` in \`${oneLine(text, 120)}\`.`);
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
// --schema

type CreateAjv = (options: AjvOptions) => { compile(schema: object | boolean): ValidateFunction };

// Ajv's default class speaks draft-07; the newer drafts need their own class. A schema without
// `$schema` is read as draft-07.
const DRAFTS: Array<[RegExp, CreateAjv]> = [
  [/\/draft\/2020-12\/schema#?$/, (options) => new Ajv2020(options)],
  [/\/draft\/2019-09\/schema#?$/, (options) => new Ajv2019(options)],
];
const createDraft07: CreateAjv = (options) => new Ajv(options);

export interface CompileSchemaOptions {
  /** Ajv's compile-time warnings (an unknown `format` is ignored, for one). Dropped when absent. */
  onWarning?: (message: string) => void;
}

/**
 * Compiles the schema once and returns the validator to call for every response.
 * `source` names the schema in messages (the file name as the user gave it).
 */
export function compileSchema(schema: unknown, source: string, options: CompileSchemaOptions = {}): BodyValidator {
  const name = oneLine(source, 120);
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    throw new UsageError(`Expected \`--schema\` ${name} to hold a JSON Schema (an object or a boolean), got ${describeType(schema)}.`);
  }
  const root = typeof schema === 'object' ? (schema as { $schema?: unknown; $async?: unknown }) : {};
  // An async schema's validator returns a promise, which every check below would read as valid.
  if (root.$async === true) {
    throw new UsageError(`\`--schema\` ${name} is an async schema ($async), which ratefetch does not support.`);
  }
  const declared = root.$schema;
  const draft = typeof declared === 'string' ? DRAFTS.find(([pattern]) => pattern.test(declared)) : undefined;
  const createAjv = draft?.[1] ?? createDraft07;
  // Ajv can give the same warning more than once for one schema.
  const warned = new Set<string>();
  const warn = (...args: unknown[]): void => {
    const message = oneLine(args.map(String).join(' '), 300);
    if (warned.has(message)) return;
    warned.add(message);
    options.onWarning?.(message);
  };
  // No `verbose`: errors then carry no data from the body. The logger keeps ajv off stderr.
  const ajv = createAjv({ allErrors: true, strict: false, logger: { log: () => {}, warn, error: warn } });

  let validator: ValidateFunction;
  try {
    validator = ajv.compile(schema as object | boolean);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = /no schema with key or ref/.test(reason) && typeof declared === 'string'
      ? ' (supported $schema: draft-07, 2019-09, 2020-12)'
      : '';
    throw new UsageError(`\`--schema\` ${name} is not a valid JSON Schema: ${oneLine(reason, 300).replace(/\.$/, '')}${hint}.`, { cause: error });
  }

  const validate = (body: unknown, bodyEncoding: string): SchemaError[] => {
    if (bodyEncoding !== 'json') return [{ ...NOT_JSON_ERROR }];
    if (validator(body)) return [];
    return toSchemaErrors(validator.errors ?? []);
  };
  return Object.assign(validate, { source: name });
}

function toSchemaErrors(errors: ErrorObject[]): SchemaError[] {
  const seen = new Set<string>();
  const result: SchemaError[] = [];
  for (const error of errors) {
    const path = flattenPath(error.instancePath) || '/';
    const message = describeSchemaError(error);
    // allErrors can report the same failure twice (through anyOf branches, for one).
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ path, message });
  }
  return result;
}

/**
 * Ajv's message, plus the parameter it leaves out where that is what the user needs. Only
 * names (a property name, a schema's allowed values) are added, never a value from the body:
 * ajv's `verbose` mode is off, so there is none to add.
 */
function describeSchemaError(error: ErrorObject): string {
  const message = error.message ?? `must pass "${error.keyword}" keyword validation`;
  const params = error.params as { [name: string]: unknown };
  let detail = '';
  switch (error.keyword) {
    case 'additionalProperties':
      detail = quoteName(params['additionalProperty']);
      break;
    case 'unevaluatedProperties':
      detail = quoteName(params['unevaluatedProperty']);
      break;
    case 'enum':
      detail = Array.isArray(params['allowedValues']) ? listValues(params['allowedValues']) : '';
      break;
    case 'const':
      detail = listValues([params['allowedValue']]);
      break;
  }
  return oneLine(detail ? `${message}: ${detail}` : message, 300);
}

function quoteName(name: unknown): string {
  return typeof name === 'string' ? `'${oneLine(name, 60)}'` : '';
}

// Allowed values come from the schema, not the body.
function listValues(values: unknown[]): string {
  const shown = values.slice(0, 5).map((value) => oneLine(JSON.stringify(value) ?? String(value), 40));
  return shown.join(', ') + (values.length > 5 ? `, … (${values.length} in all)` : '');
}

/**
 * For counting mismatches across records: array indexes (and numeric keys) become `*`, so
 * `/items/0/id` and `/items/7/id` count as one place, `/items/*\/id`.
 */
export function schemaPathPattern(path: string): string {
  return path.replace(/\/\d+(?=\/|$)/g, '/*');
}

// ---------------------------------------------------------------------------------------------
// Both

/** Status first; the schema applies only to a response whose status passed. */
export function checkResponse(status: number, statusText: string, body: unknown, bodyEncoding: string, checks: ResponseChecks): CheckResult {
  const isExpected = checks.expectStatus ?? isSuccess;
  if (!isExpected(status)) {
    const suffix = checks.expectStatus ? ', not in --expect-status' : '';
    return { ok: false, code: 'HTTP_STATUS', what: describeStatus(status, statusText) + suffix };
  }
  if (!checks.validate) return { ok: true };

  const errors = checks.validate(body, bodyEncoding);
  const first = errors[0];
  if (first === undefined) return { ok: true };
  const rest = errors.length - 1;
  const result: CheckResult = {
    ok: false,
    code: 'SCHEMA_MISMATCH',
    what: `body does not match ${checks.validate.source ?? 'the schema'}: ${first.path} ${first.message}${rest > 0 ? ` (+${rest} more)` : ''}`,
    schemaErrors: errors.slice(0, MAX_SCHEMA_ERRORS),
  };
  if (errors.length > MAX_SCHEMA_ERRORS) result.moreErrors = errors.length - MAX_SCHEMA_ERRORS;
  return result;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** `404 Not Found`: the server's phrase if it sent one, else Node's. */
function describeStatus(status: number, statusText: string): string {
  const phrase = oneLine(statusText, 80) || STATUS_CODES[status] || '';
  return phrase ? `${status} ${phrase}` : String(status);
}

// ---------------------------------------------------------------------------------------------

// Control characters and line separators become spaces, so what ends up in a message is one line.
function oneLine(text: string, maxChars: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

// A path is built from the body's keys: keep it one line but otherwise exact, as the summary
// counts by it.
function flattenPath(path: string): string {
  const flat = path.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
