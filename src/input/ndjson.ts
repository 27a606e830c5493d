/**
 * Turns NDJSON bytes into input items, one per line that is an input. Lines are split by
 * readLines, so CRLF, blank lines, `#` comment lines and the length cap behave exactly as
 * for plain line input.
 *
 * With a template, an object's top-level values fill its placeholders (`fields`). Without
 * one, each object is a whole request (`spec`). A line that is not a JSON object, or a spec
 * with a field of the wrong type, yields an item marked invalid that names the line and field.
 */

import type { InputItem, RequestSpec } from './item.js';
import { MAX_LINE_BYTES, formatByteCap, readLines } from './read-lines.js';

export interface NdjsonOptions {
  /** True when a template is given: objects fill placeholders instead of being requests. */
  hasTemplate: boolean;
  /** Must match read-lines' cap. @default MAX_LINE_BYTES */
  maxLineBytes?: number;
}

const SPEC_KEYS: readonly string[] = ['url', 'method', 'headers', 'body', 'meta'];

export async function* readNdjson(source: AsyncIterable<Uint8Array | string>, options: NdjsonOptions): AsyncGenerator<InputItem> {
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  for await (const { line, text, tooLong } of readLines(source, maxLineBytes)) {
    const invalid = (why: string): InputItem => ({ line, text, invalid: { code: 'INVALID_INPUT', message: `line ${line}: ${why}` } });
    if (tooLong) {
      yield invalid(`the line is longer than ${formatByteCap(maxLineBytes)}`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      // V8's message quotes the line itself, which may hold a token; keep only the position.
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      yield invalid(`not valid JSON${position === undefined ? '' : ` (at column ${Number(position) + 1})`}`);
      continue;
    }
    if (!isObject(value)) {
      yield invalid(`expected a JSON object, got ${describeJson(value)}`);
      continue;
    }
    if (options.hasTemplate) {
      yield { line, text, fields: toFields(value) };
      continue;
    }
    const spec = toSpec(value);
    yield typeof spec === 'string' ? invalid(spec) : { line, text, spec };
  }
}

/** Top-level values as placeholder text: strings as they are, other values as JSON. */
function toFields(object: { [key: string]: unknown }): { [name: string]: string } {
  // fromEntries defines own properties, so a key like `__proto__` stays a plain field.
  return Object.fromEntries(Object.entries(object).map(([name, value]) => [name, toFieldText(value)]));
}

function toFieldText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value); // number or boolean
}

/** The request the object describes, or why it describes none. */
function toSpec(object: { [key: string]: unknown }): RequestSpec | string {
  const unknown = Object.keys(object).find((key) => !SPEC_KEYS.includes(key));
  if (unknown !== undefined) {
    // A misspelt "headers" would otherwise send the request without them.
    return `unknown field ${JSON.stringify(unknown)}: a request has only ${SPEC_KEYS.join(', ')} (put your own data in "meta")`;
  }
  const { url, method, headers } = object;
  if (url === undefined) return 'the "url" field is missing';
  if (typeof url !== 'string') return `"url" must be a string, got ${describeJson(url)}`;
  const spec: RequestSpec = { url };
  if (method !== undefined) {
    if (typeof method !== 'string') return `"method" must be a string, got ${describeJson(method)}`;
    spec.method = method;
  }
  if (headers !== undefined) {
    if (!isObject(headers)) return `"headers" must be an object of strings, got ${describeJson(headers)}`;
    const bad = Object.entries(headers).find(([, value]) => typeof value !== 'string');
    if (bad !== undefined) {
      return `"headers" must be an object of strings, but ${JSON.stringify(bad[0])} is ${describeJson(bad[1])}`;
    }
    spec.headers = Object.fromEntries(Object.entries(headers)) as { [name: string]: string };
  }
  if (Object.hasOwn(object, 'body')) spec.body = object['body'];
  if (Object.hasOwn(object, 'meta')) spec.meta = object['meta'];
  return spec;
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value's kind, for messages; never the value itself (it may be a secret). */
function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}
