/**
 * Templates for `-t/--template`, `-H` values and `-d` bodies. Pure and synchronous.
 *
 * A placeholder is `{name}` or `{name:raw}`, where `name` is an identifier (letters, digits,
 * `_`, not starting with a digit). In a URL template `{}` and `{:raw}` stand for the whole
 * input line; in a header or body they are literal text. Any other `{` or `}` is literal, so
 * JSON bodies need no escaping. Globs (`[1-9]`, `{a,b}`) are src/glob.ts's business.
 *
 * Templates are parsed once into literal and placeholder segments, so rendering is one pass
 * and values are never scanned for placeholders: a value may hold any character, `{}` included.
 */

/** Where a placeholder sits in a URL, which decides how its value is encoded. */
export type UrlPart = 'path' | 'query' | 'fragment';

/**
 * Where a placeholder sits, including the parts before the path:
 * - `base`: before any literal `scheme://` (`{}`, `{base}/items/{id}`): the value is the start
 *   of the URL itself, so it goes in as is.
 * - `userinfo`: in the authority before a literal `@`: encoded as a component.
 * - `host`: in the authority otherwise (`https://{host}/`, `http://a:{port}/`).
 */
type Position = UrlPart | 'base' | 'userinfo' | 'host';

export interface UrlTemplate {
  readonly source: string;
  /** Named placeholders used, in order of first appearance. */
  readonly names: readonly string[];
  /** Whether `{}` (the whole line) appears. */
  readonly usesWholeLine: boolean;
  /** Fills the template; values are encoded for the URL part they land in unless `:raw`. */
  render(values: { line?: string; fields?: Readonly<Record<string, string>> }): { ok: true; url: string } | { ok: false; missing: string };
}

export interface TextTemplate {
  /** Named placeholders used, in order of first appearance. */
  readonly names: readonly string[];
  render(fields: Readonly<Record<string, string>> | undefined): { ok: true; text: string } | { ok: false; missing: string };
}

export interface Placeholder {
  /** `undefined` for `{}`, the whole line. */
  name: string | undefined;
  raw: boolean;
}

/** Literal text, or a placeholder. */
export type Segment = string | Placeholder;

/** `{`, an optional identifier, an optional `:raw`, `}`; tried only where a `{` stands. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)?(:raw)?\}/y;

/**
 * Splits `source` into literal text and placeholders, in one pass. `wholeLine` says whether
 * `{}` / `{:raw}` count as placeholders (URL templates) or stay literal (headers, bodies).
 */
export function parsePlaceholders(source: string, wholeLine: boolean): Segment[] {
  const segments: Segment[] = [];
  let literalStart = 0;
  let at = source.indexOf('{');
  while (at !== -1) {
    PLACEHOLDER.lastIndex = at;
    const match = PLACEHOLDER.exec(source);
    if (match && (match[1] !== undefined || wholeLine)) {
      if (at > literalStart) segments.push(source.slice(literalStart, at));
      segments.push({ name: match[1], raw: match[2] !== undefined });
      literalStart = PLACEHOLDER.lastIndex;
    }
    // The regex only reads identifier characters after the `{`, and those hold no `{`, so
    // resuming at the next `{` keeps the whole scan linear.
    at = source.indexOf('{', at + 1);
  }
  if (literalStart < source.length) segments.push(source.slice(literalStart));
  return segments;
}

export function compileUrlTemplate(source: string): UrlTemplate {
  const segments = parsePlaceholders(source, true);
  const positions = locatePlaceholders(segments);
  const names = namesOf(segments);
  const usesWholeLine = segments.some((s) => typeof s !== 'string' && s.name === undefined);

  function render(values: { line?: string; fields?: Readonly<Record<string, string>> }): { ok: true; url: string } | { ok: false; missing: string } {
    let url = '';
    for (const segment of segments) {
      if (typeof segment === 'string') {
        url += segment;
        continue;
      }
      const value = segment.name === undefined ? values.line : lookup(values.fields, segment.name);
      if (typeof value !== 'string') return { ok: false, missing: segment.name ?? '{}' };
      url += segment.raw ? value : encode(value, positions.get(segment) ?? 'path');
    }
    return { ok: true, url };
  }

  return { source, names, usesWholeLine, render };
}

/**
 * A template for a header value or a body. `{}` stays literal here (only named placeholders
 * fill in). With `json`, values are escaped as the inside of a JSON string (the template
 * supplies the quotes: `-d '{"isrc":"{isrc}"}'`); `{name:raw}` skips the escaping, for
 * numbers or whole JSON values.
 */
/** Text sent as it is: a token may hold braces that are not placeholders. */
export function literalText(text: string): TextTemplate {
  return { names: [], render: () => ({ ok: true, text }) };
}

export function compileTextTemplate(source: string, options: { json: boolean }): TextTemplate {
  const segments = parsePlaceholders(source, false);
  const names = namesOf(segments);

  function render(fields: Readonly<Record<string, string>> | undefined): { ok: true; text: string } | { ok: false; missing: string } {
    let text = '';
    for (const segment of segments) {
      if (typeof segment === 'string') {
        text += segment;
        continue;
      }
      // parsePlaceholders(…, false) yields named placeholders only.
      const name = segment.name as string;
      const value = lookup(fields, name);
      if (typeof value !== 'string') return { ok: false, missing: name };
      text += options.json && !segment.raw ? escapeJsonString(value) : value;
    }
    return { ok: true, text };
  }

  return { names, render };
}

/**
 * Percent-encodes a value for the part of the URL it lands in. Path segments, query values
 * and fragments keep only RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), as
 * `encodeURIComponent` does plus `!'()*`: a value is one piece of data, so `/`, `&`, `=`, `+`,
 * `#` and `?` in it never restructure the URL. Lone surrogates become U+FFFD (as the URL
 * parser would make them) rather than throwing.
 */
export function encodeUrlValue(value: string, part: UrlPart): string {
  return encode(value, part);
}

function encode(value: string, position: Position): string {
  switch (position) {
    case 'base':
      return value;
    case 'host':
      // `:`, `[` and `]` stay so `host:port` and `[::1]` work. Anything else that could move
      // the value out of the host (`/ ? # @ \ %`, spaces) is encoded, and `new URL()` then
      // rejects the host: the planner reports INVALID_URL. Non-ASCII names come out
      // percent-encoded, which the URL parser decodes and turns into punycode.
      return encodeComponent(value).replace(/%(3A|5B|5D)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    default:
      return encodeComponent(value);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function encodeComponent(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD')).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The value as the inside of a JSON string: quotes, backslashes and control characters escaped. */
function escapeJsonString(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/** Own properties only, so a column named `constructor` or `__proto__` is not found on Object. */
function lookup(fields: Readonly<Record<string, string>> | undefined, name: string): unknown {
  return fields !== undefined && Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function namesOf(segments: readonly Segment[]): string[] {
  const names = new Set<string>();
  for (const s of segments) if (typeof s !== 'string' && s.name !== undefined) names.add(s.name);
  return [...names];
}

/**
 * Decides where each placeholder of a URL template sits, from the template's literal text only
 * (values never move a boundary): before a literal `scheme://` → `base`; after it, up to the
 * first `/`, `?` or `#` → the authority (`userinfo` if a literal `@` follows within it, else
 * `host`); then `path` up to the first `?`, `query` up to the first `#`, then `fragment`.
 */
function locatePlaceholders(segments: readonly Segment[]): Map<Placeholder, Position> {
  const positions = new Map<Placeholder, Position>();
  let state: 'scheme' | 'authority' | UrlPart = 'scheme';
  let inAuthority: Placeholder[] = [];
  const endAuthority = (next: UrlPart): void => {
    for (const p of inAuthority) positions.set(p, 'host');
    inAuthority = [];
    state = next;
  };

  for (const segment of segments) {
    if (typeof segment !== 'string') {
      if (state === 'scheme') positions.set(segment, 'base');
      else if (state === 'authority') inAuthority.push(segment);
      else positions.set(segment, state);
      continue;
    }
    for (let i = 0; i < segment.length; i++) {
      const c = segment[i];
      if (state === 'fragment') break;
      if (c === '#') {
        if (state === 'authority') endAuthority('fragment');
        state = 'fragment';
      } else if (c === '?' && state !== 'query') {
        if (state === 'authority') endAuthority('query');
        state = 'query';
      } else if (c === '/' && state === 'scheme') {
        if (segment[i - 1] === ':' && segment[i + 1] === '/') {
          state = 'authority';
          i++;
        } else {
          state = 'path';
        }
      } else if (c === '/' && state === 'authority') {
        endAuthority('path');
      } else if (c === '@' && state === 'authority') {
        for (const p of inAuthority) positions.set(p, 'userinfo');
        inAuthority = [];
      }
    }
  }
  for (const p of inAuthority) positions.set(p, 'host');
  return positions;
}

/**
 * A URL template whose one placeholder takes the values of many inputs at once (--batch): each
 * value is encoded for the part of the URL it lands in (unless `:raw`), and the encoded values
 * are joined by `join` as it is, so a `,` inside a value can never pass for a separator.
 */
export interface BatchUrlTemplate {
  render(values: readonly string[], join: string): string;
}

/** Why a template cannot take a batch: no placeholder or several, or one outside path, query and fragment. */
export type BatchTemplateProblem = { kind: 'count'; count: number } | { kind: 'position'; position: string };

export function compileBatchUrlTemplate(source: string): BatchUrlTemplate | BatchTemplateProblem {
  const segments = parsePlaceholders(source, true);
  const slots = segments.filter((segment): segment is Placeholder => typeof segment !== 'string');
  const slot = slots[0];
  if (slot === undefined || slots.length > 1) return { kind: 'count', count: slots.length };
  const position = locatePlaceholders(segments).get(slot) ?? 'path';
  if (position !== 'path' && position !== 'query' && position !== 'fragment') return { kind: 'position', position };
  return {
    render: (values, join) => {
      const filled = values.map((value) => (slot.raw ? value : encode(value, position))).join(join);
      return segments.map((segment) => (segment === slot ? filled : (segment as string))).join('');
    },
  };
}
