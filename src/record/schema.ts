/**
 * `--schema`: compiles a JSON Schema with ajv into the BodyValidator that checks.ts applies.
 * Its own module because ajv takes about 0.1 s to load: index.ts imports it only for a run
 * that has a schema.
 */
import { Ajv, type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { NOT_JSON_ERROR, type BodyValidator, type SchemaError } from './checks.js';
import { UsageError } from '../errors.js';
import { toOneLine } from '../text.js';

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
  const name = toOneLine(source, 120);
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
    const message = toOneLine(args.map(String).join(' '), 300);
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
    const hint = /no schema with key or ref/.test(reason) && typeof declared === 'string' ? ' (supported $schema: draft-07, 2019-09, 2020-12)' : '';
    throw new UsageError(`\`--schema\` ${name} is not a valid JSON Schema: ${toOneLine(reason, 300).replace(/\.$/, '')}${hint}.`, { cause: error });
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
  return toOneLine(detail ? `${message}: ${detail}` : message, 300);
}

function quoteName(name: unknown): string {
  return typeof name === 'string' ? `'${toOneLine(name, 60)}'` : '';
}

// Allowed values come from the schema, not the body.
function listValues(values: unknown[]): string {
  const shown = values.slice(0, 5).map((value) => toOneLine(JSON.stringify(value) ?? String(value), 40));
  return shown.join(', ') + (values.length > 5 ? `, … (${values.length} in all)` : '');
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
