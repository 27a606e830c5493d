/**
 * Input item → the request to make, or the reason it cannot be made. Pure and synchronous:
 * bad data is a value, never an exception. The one exception: a template that names a column
 * the CSV header lacks is a usage error, thrown at the first row, before anything is sent.
 */
import { hash as digestOf } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { InputItem, RequestSpec } from '../input/item.js';
import { MAX_LINE_BYTES } from '../input/read-lines.js';
import type { RunOptions } from '../options.js';
import type { InputIdentity } from '../record/record.js';
import { escapeRegExp, toOneLine } from '../text.js';
import { REDACTED, SECRET_HEADERS, SECRET_PARAMS, safeDecode } from './secrets.js';
import { compileTextTemplate, literalText, compileUrlTemplate, type TextTemplate, type UrlTemplate } from './template.js';
import { SavePaths, compileSaveTemplate, type SaveTemplate } from './save-path.js';

export interface PlannedRequest {
  kind: 'request';
  line: number;
  method: string;
  /** The URL to fetch, credentials removed (they move into `headers` as Basic auth). */
  url: URL;
  /** Every header to send: defaults, the run-wide ones, then the input's own. */
  headers: Array<[string, string]>;
  body: string | Uint8Array | undefined;
  /** Stable identity of the request: method, URL, body and the headers that vary per input. */
  key: string;
  /** The URL as planned, for the record (redacted there); the WHATWG parser accepts it. */
  inputUrl: string;
  identity: InputIdentity;
  /** With --save: the file the body goes to, as the template made it (relative to the working directory). */
  save?: string | undefined;
  /** With --batch: the value that fills the template's one placeholder, not yet encoded. */
  batchValue?: string;
}

export interface InvalidInput {
  kind: 'invalid';
  line: number;
  code: 'INVALID_URL' | 'INVALID_INPUT' | 'TEMPLATE_MISSING_VALUE' | 'SAVE_PATH_REFUSED';
  message: string;
  key: string;
  /** The start of the raw text, for the record (redacted there). */
  text: string;
  identity: InputIdentity;
}

export type PlanResult = PlannedRequest | InvalidInput;

export type PlanOptions = Pick<RunOptions, 'method' | 'body' | 'headers' | 'userAgent'> &
  Partial<Pick<RunOptions, 'template' | 'redactParams' | 'literalHeaders' | 'save' | 'batch'>>;

export interface Planner {
  /** Every named placeholder in the URL template, header values and body. */
  readonly names: readonly string[];
  plan(item: InputItem): PlanResult;
}

// Control characters, spaces and U+FFFD (undecodable bytes) never belong in a URL someone means.
const UNSAFE_CHARACTERS = /[\u0000-\u0020\u007f\ufffd]/;
const SHOWN_TEXT_CHARS = 200;

export function createPlanner(options: PlanOptions): Planner {
  const urlTemplate = options.template === undefined ? undefined : compileUrlTemplate(options.template);
  const literal = new Set((options.literalHeaders ?? []).map((name) => name.toLowerCase()));
  const headerTemplates = options.headers.map(([name, value]) => ({
    name,
    template: literal.has(name.toLowerCase()) ? literalText(value) : compileTextTemplate(value, { json: false }),
  }));
  const bodyTemplate = typeof options.body === 'string' ? compileTextTemplate(options.body, { json: isJsonBody(options.body, options.headers) }) : undefined;
  const secretNames = findSecretNames(options.template, headerTemplates, options.redactParams ?? []);
  const saving =
    options.save === undefined
      ? undefined
      : { template: saveTemplateOf(options.save, options.template, secretNames, options.redactParams ?? []), paths: new SavePaths() };
  const names = unique([
    ...(urlTemplate?.names ?? []),
    ...headerTemplates.flatMap((h) => h.template.names),
    ...(bodyTemplate?.names ?? []),
    ...(saving?.template.names ?? []),
  ]);
  let columnsChecked = false;
  const batchValueOf = options.batch === undefined ? undefined : batchSlot(urlTemplate, headerTemplates, bodyTemplate);

  function plan(item: InputItem): PlanResult {
    const identity = identityOf(item, secretNames);
    const invalid = (code: InvalidInput['code'], why: string): InvalidInput => ({
      kind: 'invalid',
      line: item.line,
      code,
      message: `line ${item.line}: ${why}`,
      key: hash(['invalid', item.text]),
      text: shownText(item, secretNames).slice(0, SHOWN_TEXT_CHARS),
      identity,
    });
    // Checked at the first row, even a malformed one, so no record comes before the error.
    if (item.columns && !columnsChecked) {
      checkColumns(names, item.columns);
      columnsChecked = true;
    }
    if (item.invalid) return invalid('INVALID_INPUT', item.invalid.message.replace(/^line \d+: /, ''));
    // readLines caps lines already; strings handed to the library directly are checked here.
    if (item.tooLong || item.text.length > MAX_LINE_BYTES) return invalid('INVALID_URL', 'the line is too long to be a URL');
    if (item.spec) return finish(item, specRequest(item.spec, options), identity, invalid);

    const rendered = render(item, urlTemplate, headerTemplates, bodyTemplate, options);
    if ('missing' in rendered) return invalid('TEMPLATE_MISSING_VALUE', `no value for {${rendered.missing}}`);
    const planned = finish(item, rendered, identity, invalid);
    if (batchValueOf !== undefined && planned.kind === 'request') planned.batchValue = batchValueOf(item);
    return planned;
  }

  /** With --save: the input's file, or why it has none (and then nothing is sent). */
  function withSavePath(item: InputItem, planned: PlannedRequest, invalid: (code: InvalidInput['code'], why: string) => InvalidInput): PlanResult {
    if (saving === undefined) return planned;
    const path = saving.template.render({ line: item.text, lineNumber: item.line, fields: item.fields });
    if (!path.ok) {
      return 'missing' in path
        ? invalid('TEMPLATE_MISSING_VALUE', `no value for {${path.missing}} in --save`)
        : invalid('SAVE_PATH_REFUSED', `--save path refused: ${path.refused}`);
    }
    const owner = saving.paths.claim(path.path, item.line);
    if (owner !== undefined) return invalid('SAVE_PATH_REFUSED', `--save path refused: ${toOneLine(path.path, 200)} is line ${owner}'s file already`);
    planned.save = path.path;
    return planned;
  }

  function finish(
    item: InputItem,
    request: RenderedRequest,
    identity: InputIdentity,
    invalid: (code: InvalidInput['code'], why: string) => InvalidInput,
  ): PlanResult {
    const text = request.url;
    if (text.length > MAX_LINE_BYTES) return invalid('INVALID_URL', 'the URL is too long');
    if (UNSAFE_CHARACTERS.test(text)) return invalid('INVALID_URL', 'not a URL: it contains spaces, control characters or bytes that are not UTF-8');
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return invalid('INVALID_URL', 'not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return invalid('INVALID_URL', `only http and https URLs are fetched, not ${url.protocol.slice(0, 20)}`);
    }
    if (url.hostname === '') return invalid('INVALID_URL', 'the URL has no host');

    const headers = withDefaultHeaders(request.headers, options.userAgent);
    const userSetAuthorization = request.headers.some(([name]) => name.toLowerCase() === 'authorization');
    if ((url.username !== '' || url.password !== '') && !userSetAuthorization) {
      // Sent as curl does; undici would drop the credentials silently.
      const credentials = `${safeDecode(url.username)}:${safeDecode(url.password)}`;
      headers.push(['authorization', `Basic ${Buffer.from(credentials).toString('base64')}`]);
    }
    const key = requestKey(request.method, text, request.body, request.varyingHeaders);
    // Each setter serializes the whole URL again: only a URL with credentials pays for it.
    if (url.username !== '') url.username = '';
    if (url.password !== '') url.password = '';
    const planned: PlannedRequest = {
      kind: 'request',
      line: item.line,
      method: request.method,
      url,
      headers,
      body: request.body,
      key,
      inputUrl: text,
      identity,
      save: undefined,
    };
    return withSavePath(item, planned, invalid);
  }

  return { names, plan };
}

/** What fetchAll reads: input items, or plain strings taken as lines. */
export type InputSource = AsyncIterable<InputItem | string> | Iterable<InputItem | string>;

/** Plans every item of `input`, its strings numbered from 1 (see itemOf). */
export async function* planAll(input: InputSource, planner: Planner): AsyncGenerator<PlanResult> {
  let line = 0;
  for await (const entry of input) {
    const item = itemOf(entry, ++line);
    if (item !== undefined) yield planner.plan(item);
  }
}

/** An entry of an InputSource as an item: a string is line `line`, trimmed; blank and `#` lines are none, as readLines skips them. */
export function itemOf(entry: InputItem | string, line: number): InputItem | undefined {
  if (typeof entry !== 'string') return entry;
  const text = entry.trim();
  return text !== '' && !text.startsWith('#') ? { line, text } : undefined;
}

/**
 * With --batch: where an input's value comes from (the whole line for `{}`, else its field).
 * One request carries many inputs, so a header or body that varies per input has no place.
 */
function batchSlot(
  urlTemplate: UrlTemplate | undefined,
  headers: Array<{ template: TextTemplate }>,
  body: TextTemplate | undefined,
): ((item: InputItem) => string) | undefined {
  if (headers.some(({ template }) => template.names.length > 0) || (body?.names.length ?? 0) > 0) {
    throw new UsageError('--batch sends one request for many inputs, so no -H header or -d body may vary per input ({name} in it).');
  }
  const name = urlTemplate?.names[0];
  if (urlTemplate === undefined) return undefined;
  return urlTemplate.usesWholeLine || name === undefined ? (item) => item.text : (item) => item.fields?.[name] ?? '';
}

/** Convenience for one item (tests, one-off use). */
export function planRequest(item: InputItem, options: PlanOptions): PlanResult {
  return createPlanner(options).plan(item);
}

interface RenderedRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  /** Headers filled from the item: they make two requests different, so they are in the key. */
  varyingHeaders: Array<[string, string]>;
  body: string | Uint8Array | undefined;
}

function render(
  item: InputItem,
  urlTemplate: UrlTemplate | undefined,
  headerTemplates: Array<{ name: string; template: TextTemplate }>,
  bodyTemplate: TextTemplate | undefined,
  options: PlanOptions,
): RenderedRequest | { missing: string } {
  let url = item.text;
  if (urlTemplate) {
    const result = urlTemplate.render({ line: item.text, fields: item.fields });
    if (!result.ok) return { missing: result.missing };
    url = result.url;
  }
  const headers: Array<[string, string]> = [];
  const varyingHeaders: Array<[string, string]> = [];
  for (const { name, template } of headerTemplates) {
    const result = template.render(item.fields);
    if (!result.ok) return { missing: result.missing };
    headers.push([name, result.text]);
    if (template.names.length > 0) varyingHeaders.push([name, result.text]);
  }
  let body = options.body;
  if (bodyTemplate) {
    const result = bodyTemplate.render(item.fields);
    if (!result.ok) return { missing: result.missing };
    body = result.text;
  }
  return { method: options.method, url, headers, varyingHeaders, body };
}

/** An NDJSON request spec: its own method, headers and body on top of the run's. */
function specRequest(spec: RequestSpec, options: PlanOptions): RenderedRequest {
  const own = Object.entries(spec.headers ?? {});
  const ownNames = new Set(own.map(([name]) => name.toLowerCase()));
  const headers = [...options.headers.filter(([name]) => !ownNames.has(name.toLowerCase())), ...own];
  let body = options.body;
  if (typeof spec.body === 'string') body = spec.body;
  else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    if (!headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.push(['content-type', 'application/json']);
  }
  return { method: (spec.method ?? options.method).toUpperCase(), url: spec.url, headers, varyingHeaders: own, body };
}

/**
 * The --save template, refused when a placeholder of it fills a secret: the file's name would
 * show the secret on disk and in every record.
 */
function saveTemplateOf(source: string, urlTemplate: string | undefined, secretNames: ReadonlySet<string>, extraParams: readonly string[]): SaveTemplate {
  const template = compileSaveTemplate(source);
  const secret = template.names.find((name) => secretNames.has(name));
  if (secret !== undefined) throw new UsageError(`--save uses {${secret}}, which fills a secret: a file name would show it. Name files by another value.`);
  if (template.usesWholeLine && urlTemplate !== undefined && wholeLineIsSecret(urlTemplate, extraParams)) {
    throw new UsageError('--save uses {}, which fills a secret in the URL template: a file name would show it. Name files by another value.');
  }
  return template;
}

/** Whether `{}` fills the userinfo or a secret query parameter of the URL template. */
function wholeLineIsSecret(urlTemplate: string, extraParams: readonly string[]): boolean {
  const params = [...SECRET_PARAMS, ...extraParams].map(escapeRegExp).join('|');
  if (new RegExp(`[?&#;](?:${params})=[^&#]*?\\{(?::raw)?\\}`, 'i').test(urlTemplate)) return true;
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(urlTemplate)?.[1] ?? '';
  return /\{(?::raw)?\}/.test(userinfo);
}

function checkColumns(names: readonly string[], columns: readonly string[]): void {
  const missing = names.filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    throw new UsageError(
      `the template uses ${missing.map((n) => `{${n}}`).join(', ')}, but the input has no such column (it has ${columns.join(', ') || 'none'}).`,
    );
  }
}

/** The identity of an input with no fields and no meta (most): one object for all of them. */
const NO_IDENTITY: InputIdentity = Object.freeze({});

function identityOf(item: InputItem, secretNames: ReadonlySet<string>): InputIdentity {
  if (item.fields === undefined && item.spec?.meta === undefined) return NO_IDENTITY;
  const identity: InputIdentity = {};
  if (item.fields) {
    identity.vars = Object.fromEntries(Object.entries(item.fields).map(([name, value]) => [name, secretNames.has(name) ? REDACTED : value]));
  }
  if (item.spec?.meta !== undefined) identity.meta = item.spec.meta;
  return identity;
}

/**
 * Names whose values fill a secret header, a secret query parameter or the URL's userinfo:
 * redacted in `vars` and in any raw text a record shows.
 */
function findSecretNames(
  urlTemplate: string | undefined,
  headers: Array<{ name: string; template: TextTemplate }>,
  extraParams: readonly string[],
): Set<string> {
  const secret = new Set<string>();
  for (const { name, template } of headers) {
    if (SECRET_HEADERS.has(name.toLowerCase())) for (const used of template.names) secret.add(used);
  }
  if (urlTemplate !== undefined) {
    const params = [...SECRET_PARAMS, ...extraParams].map(escapeRegExp).join('|');
    const inParam = new RegExp(`[?&#;](?:${params})=[^&#]*?\\{([A-Za-z_][A-Za-z0-9_]*)(?::raw)?\\}`, 'gi');
    for (const match of urlTemplate.matchAll(inParam)) if (match[1]) secret.add(match[1]);
    const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(urlTemplate)?.[1] ?? '';
    for (const match of userinfo.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)(?::raw)?\}/g)) if (match[1]) secret.add(match[1]);
  }
  return secret;
}

/** The item's raw text as a record may show it: secret values masked, or none of it when they cannot be found. */
function shownText(item: InputItem, secretNames: ReadonlySet<string>): string {
  if (secretNames.size === 0) return item.text;
  if (!item.fields) return '[not shown: this input has secret columns]';
  let text = item.text;
  for (const name of secretNames) {
    const value = item.fields[name];
    if (value) text = text.split(value).join(REDACTED);
  }
  return text;
}

function isJsonBody(body: string, headers: Array<[string, string]>): boolean {
  const type = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  if (type !== undefined) return /\bjson\b/i.test(type);
  return /^\s*[[{]/.test(body);
}

/** Our User-Agent and Accept-Encoding unless the user set them, then the user's headers. */
function withDefaultHeaders(given: Array<[string, string]>, userAgent: string): Array<[string, string]> {
  const has = (name: string) => given.some(([header]) => header.toLowerCase() === name);
  const headers: Array<[string, string]> = [];
  if (!has('user-agent')) headers.push(['user-agent', userAgent]);
  if (!has('accept-encoding')) headers.push(['accept-encoding', 'gzip, deflate, br']);
  return [...headers, ...given];
}

/** A request's stable key: its method, URL, body and the headers that vary per input. */
export function requestKey(method: string, url: string, body: string | Uint8Array | undefined, varyingHeaders: Array<[string, string]> = []): string {
  return hash([method, url, bodyText(body), ...varyingHeaders.flat()]);
}

/**
 * Run-wide headers (a bearer token that changes between runs) are left out on purpose. The
 * one-shot digest costs a third of a Hash object's per input (profiled: 4.7% of a fast run).
 */
function hash(parts: string[]): string {
  return digestOf('sha256', `${parts.join('\u0000')}\u0000`, 'hex').slice(0, 32);
}

function bodyText(body: string | Uint8Array | undefined): string {
  if (body === undefined) return '';
  return typeof body === 'string' ? body : Buffer.from(body).toString('base64');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
