/**
 * One place that keeps credentials out of records, messages and the terminal: URL userinfo,
 * secret query parameters, secret headers, `Bearer …`/`Basic …` credentials and any literal
 * the CLI registers (header values, URL passwords).
 *
 * Every function here is total: junk in (binary, NUL, megabytes) gives a string out, never an
 * exception, and every regex is linear-time (no nested or adjacent unbounded quantifiers that
 * could backtrack).
 */
import { REDACTED, SECRET_HEADERS, SECRET_PARAMS, safeDecode } from '../plan/secrets.js';
import { escapeRegExp } from '../text.js';

/** Registered literals shorter than this are ignored: they would shred every message. */
const MIN_SECRET_LENGTH = 4;

export type HeaderValue = string | string[] | number | undefined;
export interface HeaderRecord {
  readonly [name: string]: HeaderValue;
}
export type HeaderPairs = ReadonlyArray<readonly [name: string, value: string]>;

export interface Redactor {
  /**
   * Userinfo dropped, secret parameter values replaced; other bytes kept as written. `isValid`:
   * the caller knows the string is a URL the WHATWG parser accepts (the planner parsed it), so
   * it is not parsed again to tell.
   */
  url(u: string | URL, isValid?: boolean): string;
  /** A copy of the same shape with secret header values replaced (others pass through text()). */
  headers(h: HeaderPairs): Array<[string, string]>;
  headers(h: { readonly [name: string]: string | string[] }): { [name: string]: string | string[] };
  headers(h: HeaderRecord): { [name: string]: HeaderValue };
  /** Free text with embedded URLs, auth headers, bearer/basic credentials and literals scrubbed. */
  text(s: string): string;
  /** Registers a literal (a header value, a password) to scrub from everything this redactor returns. */
  value(secret: string): void;
}

const URL_IN_TEXT = /\b[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s<>"'`]+/g;
const URL_HEAD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#\\]*)/;
const PARAM_SEPARATORS = /([&;?])/;
/** An absolute http(s) URL with nothing a redaction reads: userinfo, a query, a fragment. */
const PLAIN_URL = /^https?:\/\/[^@?#\\\s]*$/i;
// `Bearer <token68>` / `Basic <token68>`, but not the auth-params of a WWW-Authenticate challenge.
const CREDENTIALS = /(?<![A-Za-z0-9_-])(Bearer|Basic)([ \t]+)(?!(?:realm|charset|scope|error_description|error_uri|error)[ \t]*=)[A-Za-z0-9._~+/-]+=*/gi;

export function createRedactor(extraParams: string[] = [], secrets: string[] = []): Redactor {
  const secretParams = new Set([...SECRET_PARAMS, ...extraParams].map((name) => String(name).trim().toLowerCase()).filter(Boolean));
  const isSecretParam = (name: string): boolean => {
    const decoded = decodeParamName(name);
    // Form-style nesting (`user[password]`) is judged by its last key.
    const nested = decoded.endsWith(']') ? decoded.slice(decoded.lastIndexOf('[') + 1, -1) : decoded;
    return secretParams.has(decoded) || secretParams.has(nested);
  };

  const headerPattern = new RegExp(`(?<![A-Za-z0-9_-])(${alternation([...SECRET_HEADERS])})("?[ \\t]*[:=][ \\t]*)("[^"\\r\\n]*"?|[^\\r\\n]*)`, 'gi');
  const paramPattern = new RegExp(`(?<![A-Za-z0-9_-])(${alternation([...secretParams])})=([^\\s&;#"'<>]+)`, 'gi');

  const literals = new Set<string>();
  let literalPattern: RegExp | undefined;
  const scrubLiterals = (s: string): string => (literalPattern ? s.replace(literalPattern, REDACTED) : s);

  function value(secret: string): void {
    const raw = toText(secret);
    const variants = [raw, raw.trim(), afterScheme(raw), safeDecode(raw), safeEncode(raw)];
    let added = false;
    for (const variant of variants) {
      if (variant.length >= MIN_SECRET_LENGTH && variant !== REDACTED && !literals.has(variant)) {
        literals.add(variant);
        added = true;
      }
    }
    // Longest first, so a secret that contains another is replaced whole.
    if (added) literalPattern = new RegExp(alternation([...literals]), 'g');
  }

  function text(s: string): string {
    let out = scrubLiterals(toText(s));
    out = out.replace(headerPattern, (_m, name: string, sep: string, val: string) => {
      if (val === '' || val === '"') return `${name}${sep}${val}`;
      return `${name}${sep}${val.startsWith('"') ? `"${REDACTED}"` : REDACTED}`;
    });
    out = out.replace(CREDENTIALS, (_m, scheme: string, space: string) => `${scheme}${space}${REDACTED}`);
    // Sentence punctuation after a URL or value (`…?sig=x: timed out`) stays outside it.
    out = out.replace(URL_IN_TEXT, (m) => {
      const end = withoutTrailingPunctuation(m);
      return scrubUrlString(m.slice(0, end), isSecretParam) + m.slice(end);
    });
    return out.replace(paramPattern, (m, name: string, val: string) => {
      const end = withoutTrailingPunctuation(val);
      return end === 0 ? m : `${name}=${REDACTED}${val.slice(end)}`;
    });
  }

  function url(u: string | URL, isValid = false): string {
    const isParsed = u instanceof URL;
    const s = isParsed ? u.href : toText(u);
    if (!isParsed && !isValid && !URL.canParse(s)) return text(s);
    // No userinfo, query or fragment (no `@`, `?`, `#` or `\\`): nothing to scrub but literals.
    if (PLAIN_URL.test(s)) return scrubLiterals(s);
    // Keep the bytes as written when our split agrees with the WHATWG parser about what is
    // userinfo and what is a parameter; otherwise rebuild from the parsed URL.
    const quick = scrubUrlString(s, isSecretParam);
    const out = isScrubbed(quick, isSecretParam) ? quick : scrubParsedUrl(s, isSecretParam);
    return scrubLiterals(out);
  }

  function headers(h: HeaderPairs): Array<[string, string]>;
  function headers(h: { readonly [name: string]: string | string[] }): { [name: string]: string | string[] };
  function headers(h: HeaderRecord): { [name: string]: HeaderValue };
  function headers(h: HeaderPairs | HeaderRecord): Array<[string, string]> | { [name: string]: HeaderValue } {
    const scrub = (name: unknown, v: HeaderValue): HeaderValue => {
      const secret = SECRET_HEADERS.has(toText(name).toLowerCase());
      if (Array.isArray(v)) return v.map((item) => (secret ? REDACTED : text(item)));
      if (typeof v === 'string') return secret ? REDACTED : text(v);
      return v;
    };
    if (Array.isArray(h)) {
      return h.map((pair): [string, string] => {
        if (!Array.isArray(pair) || pair.length < 2) return pair as unknown as [string, string];
        const [name, v] = pair;
        return [name, scrub(name, v) as string];
      });
    }
    if (h === null || typeof h !== 'object') return {};
    // fromEntries defines own properties, so a header named `__proto__` stays a header.
    return Object.fromEntries(Object.entries(h as HeaderRecord).map(([name, v]) => [name, scrub(name, v)]));
  }

  for (const secret of secrets) value(secret);
  return { url, headers, text, value };
}

/** A run's redactor: the values of its secret headers are scrubbed wherever they appear. */
export function createRunRedactor(
  headers: ReadonlyArray<readonly [string, string]>,
  redactParams: readonly string[],
  secretHeaders: readonly string[] = [],
): Redactor {
  const extra = new Set(secretHeaders.map((name) => name.toLowerCase()));
  const secrets = headers.filter(([name]) => SECRET_HEADERS.has(name.toLowerCase()) || extra.has(name.toLowerCase())).map(([, value]) => value);
  return createRedactor([...redactParams], secrets);
}

/**
 * String-level scrub of `scheme://authority/path?query#fragment`: drops everything up to the
 * last `@` of the authority, and the values of secret parameters in the query and fragment
 * (OAuth puts `access_token` in the fragment). Other bytes are kept as written.
 */
function scrubUrlString(s: string, isSecretParam: (name: string) => boolean): string {
  const head = URL_HEAD.exec(s);
  let prefix = '';
  let rest = s;
  if (head) {
    const authority = head[2] ?? '';
    prefix = (head[1] ?? '') + authority.slice(authority.lastIndexOf('@') + 1);
    rest = s.slice(head[0].length);
  }
  const hashAt = rest.indexOf('#');
  const beforeHash = hashAt < 0 ? rest : rest.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  let out = prefix + (queryAt < 0 ? beforeHash : beforeHash.slice(0, queryAt));
  if (queryAt >= 0) out += `?${scrubParams(beforeHash.slice(queryAt + 1), isSecretParam)}`;
  if (hashAt >= 0) out += `#${scrubParams(rest.slice(hashAt + 1), isSecretParam)}`;
  return out;
}

/** The fallback: rebuild from what the WHATWG parser saw (normalises host, path and escapes). */
function scrubParsedUrl(s: string, isSecretParam: (name: string) => boolean): string {
  try {
    const parsed = new URL(s);
    parsed.username = '';
    parsed.password = '';
    const { search, hash } = parsed;
    parsed.search = '';
    parsed.hash = '';
    let out = parsed.href;
    if (search) out += `?${scrubParams(search.slice(1), isSecretParam)}`;
    if (hash) out += `#${scrubParams(hash.slice(1), isSecretParam)}`;
    return out;
  } catch {
    return REDACTED;
  }
}

/** Whether the WHATWG parser agrees that no userinfo and no secret parameter value is left. */
function isScrubbed(candidate: string, isSecretParam: (name: string) => boolean): boolean {
  try {
    const parsed = new URL(candidate);
    if (parsed.username !== '' || parsed.password !== '') return false;
    for (const [name, v] of parsed.searchParams) {
      if (v !== '' && v !== REDACTED && isSecretParam(name)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** `a=1&token=x;sig=y` → `a=1&token=[REDACTED];sig=[REDACTED]`; separators and other parts kept. */
function scrubParams(query: string, isSecretParam: (name: string) => boolean): string {
  return query
    .split(PARAM_SEPARATORS)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0 || eq === part.length - 1) return part;
      const name = part.slice(0, eq);
      if (isSecretParam(name)) return `${name}=${REDACTED}`;
      return `${name}=${scrubNestedUrl(part.slice(eq + 1), isSecretParam)}`;
    })
    .join('');
}

/**
 * A parameter whose value is itself a URL (`?next=`, `redirect_uri=`, `url=`) can carry a
 * password or a token: scrub the decoded URL, and re-encode only when something changed.
 */
function scrubNestedUrl(value: string, isSecretParam: (name: string) => boolean): string {
  const decoded = safeDecode(value.replace(/\+/g, ' '));
  // Absolute URLs and relative ones with a query (`/next?token=…`) are both worth a look.
  if (!decoded.includes('://') && !decoded.includes('?')) return value;
  const scrubbed = scrubUrlString(decoded, isSecretParam);
  return scrubbed === decoded ? value : safeEncode(scrubbed);
}

function decodeParamName(name: string): string {
  return safeDecode(name.replace(/\+/g, ' ')).toLowerCase();
}

function safeEncode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s; // lone surrogates
  }
}

/** `Bearer abc` → `abc`, so the credential is caught without its scheme too. */
function afterScheme(s: string): string {
  const space = s.trim().search(/\s/);
  return space < 0 ? '' : s.trim().slice(space).trim();
}

/** Length of `s` without trailing `.,:;!?)` (a loop, not a regex: `[…]+$` is quadratic on a run). */
function withoutTrailingPunctuation(s: string): number {
  let end = s.length;
  while (end > 0 && '.,:;!?)'.includes(s.charAt(end - 1))) end--;
  return end;
}

/** Longest first, regex-escaped, joined with `|`. */
function alternation(words: string[]): string {
  return [...words]
    .sort((a, b) => b.length - a.length)
    .map(escapeRegExp)
    .join('|');
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  try {
    return String(value);
  } catch {
    return '';
  }
}
