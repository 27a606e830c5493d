/**
 * What a response says about the client's quota, from any of the header families in use, and
 * a pure pacing decision from it (issue #11). Pure: the caller passes the clock; nothing here
 * sets a timer or touches the limiter.
 *
 * Families, newest first (the order also breaks ties between equally tight quotas):
 * - `ratelimit-structured` (draft-ietf-httpapi-ratelimit-headers-08 and later):
 *   `RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400` and
 *   `RateLimit: "burst";r=50;t=30`: Structured Field Lists, one item per named policy; `r` and
 *   `t` (delta seconds) per policy, matched to `q` and `w` by name.
 * - `ratelimit-combined` (draft-07): `RateLimit: limit=100, remaining=50, reset=30`, a
 *   Dictionary about the one limit closest to running out, with
 *   `RateLimit-Policy: 100;w=60, 1000;w=3600` (integer items) giving its window.
 * - `ratelimit-draft` (drafts 00–06): `RateLimit-Limit`, `RateLimit-Remaining`,
 *   `RateLimit-Reset` (delta seconds). Drafts 00–03 may append policies to the limit
 *   (`RateLimit-Limit: 100, 100;w=60`); 05–06 put them in `RateLimit-Policy` (integer items).
 * - `x-ratelimit`: `X-RateLimit-*` and `X-Rate-Limit-*`, with the reset in any unit (see
 *   `parseReset`).
 *
 * The drafts say malformed fields MUST be ignored; so do we, field by field, never throwing.
 */
import { parseHttpDate } from './retry-after.js';

export interface QuotaState {
  /** Requests left in the current window, if the server said. */
  remaining?: number;
  /** Epoch ms when the window resets (remaining refills), if said. Never before `nowMs`. */
  resetAtMs?: number;
  /** Window size limit, if said. */
  limit?: number;
  /** Window length in ms, if a policy said (w=60 → 60000). */
  windowMs?: number;
  /** Which header family it came from, for --verbose: 'x-ratelimit' | 'ratelimit-draft' | 'ratelimit-combined' | 'ratelimit-structured'. */
  source: string;
}

export type QuotaPacing = { pauseUntilMs: number } | { rps: number };

/** Tuning for `decideQuotaPacing`, in one table. */
export const QUOTA_PACING = {
  /** Remaining at or below this share of the limit counts as low. */
  lowFraction: 0.1,
  /** The spread rate never drops below this (one request per 10 s): with so little left, the
   * next response's `remaining: 0` turns into a pause until reset anyway. */
  minRps: 0.1,
} as const;

const SECOND_MS = 1000;
const DAY_S = 86_400;
const YEAR_S = 365 * DAY_S;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The tightest quota the response states, or undefined when it states none (or only garbage). */
export function parseQuotaHeaders(headers: Headers, nowMs: number): QuotaState | undefined {
  const fields = collectFields(headers);
  // Every response passes here: most carry no quota at all.
  if (fields.size === 0) return undefined;
  const candidates = [
    ...readStructured(fields, nowMs),
    ...readCombined(fields, nowMs),
    ...readSeparate(fields, 'ratelimit-', 'ratelimit-draft', nowMs),
    ...readSeparate(fields, 'x-ratelimit-', 'x-ratelimit', nowMs),
    ...readSeparate(fields, 'x-rate-limit-', 'x-ratelimit', nowMs),
  ];
  let best: QuotaState | undefined;
  let bestRank: Rank | undefined;
  for (const candidate of candidates) {
    const rank = rankTightness(candidate, nowMs);
    if (bestRank === undefined || rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
      best = candidate;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * A pure pacing decision from a quota. `inFlight` counts the requests still on the wire,
 * not the one whose response carried the headers; they will all be charged against what
 * remains. Without a reset time, one window from now stands in for it (the latest a window
 * can end); without either there is no time to spread over, and the decision is undefined.
 * - nothing left (remaining, less what is in flight, ≤ 0) → pause until the reset;
 * - low (≤ `lowFraction` of the limit, or ≤ inFlight + 1) → the rate that spreads what is
 *   left over the time left, at least `minRps`. It is a ceiling: the scheduler takes the
 *   lower of it and the configured rate;
 * - otherwise, or when the window has already reset → undefined (no change).
 */
export function decideQuotaPacing(quota: QuotaState, inFlight: number, nowMs: number): QuotaPacing | undefined {
  const { remaining, limit } = quota;
  const resetAtMs = effectiveResetMs(quota, nowMs);
  if (remaining === undefined || resetAtMs === undefined || !(resetAtMs > nowMs)) return undefined;
  const pending = Number.isFinite(inFlight) && inFlight > 0 ? inFlight : 0;
  const available = remaining - pending;
  if (available <= 0) return { pauseUntilMs: resetAtMs };
  const isLow = (limit !== undefined && remaining <= limit * QUOTA_PACING.lowFraction) || remaining <= pending + 1;
  if (!isLow) return undefined;
  const secondsLeft = (resetAtMs - nowMs) / SECOND_MS;
  return { rps: Math.max(QUOTA_PACING.minRps, available / secondsLeft) };
}

// ---- Tightness ----------------------------------------------------------------------------

/** [tier, key]: lower is tighter, compared tier first. */
type Rank = [tier: number, key: number];

/**
 * Tightest = the smallest rate the quota still allows, remaining / seconds to reset:
 * - tier 0: remaining 0; the longest wait first (an unknown reset last);
 * - tier 1: remaining > 0 with a time → remaining / secondsLeft (a reset already due → ∞);
 * - tier 2: remaining > 0 with no time → fewest remaining (nothing to pace with, so a timed
 *   quota, which can be acted on, wins over it);
 * - tier 3: no remaining, only a policy → limit / window; tier 4: anything else.
 */
function rankTightness(quota: QuotaState, nowMs: number): Rank {
  const { remaining, limit, windowMs } = quota;
  const resetAtMs = effectiveResetMs(quota, nowMs);
  const msLeft = resetAtMs === undefined ? undefined : resetAtMs - nowMs;
  if (remaining === 0) return [0, msLeft === undefined ? Infinity : -msLeft];
  if (remaining !== undefined) {
    if (msLeft === undefined) return [2, remaining];
    return [1, msLeft > 0 ? remaining / (msLeft / SECOND_MS) : Infinity];
  }
  if (limit !== undefined && windowMs !== undefined) return [3, limit / (windowMs / SECOND_MS)];
  return [4, 0];
}

function effectiveResetMs(quota: QuotaState, nowMs: number): number | undefined {
  if (quota.resetAtMs !== undefined) return quota.resetAtMs;
  return quota.windowMs === undefined ? undefined : nowMs + quota.windowMs;
}

// ---- Header families ----------------------------------------------------------------------

/** Header values by lower-cased name; a name spelled in two cases contributes both. */
type Fields = Map<string, string[]>;

function collectFields(headers: Headers): Fields {
  const fields: Fields = new Map();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    const key = name.toLowerCase();
    if (!key.includes('ratelimit') && !key.includes('rate-limit')) continue;
    fields.set(key, [...(fields.get(key) ?? []), ...values]);
  }
  return fields;
}

function readStructured(fields: Fields, nowMs: number): QuotaState[] {
  const policies = new Map<string, Omit<QuotaState, 'source'> & { isRequests: boolean }>();
  for (const item of parseSfList(joinField(fields.get('ratelimit-policy'))) ?? []) {
    const name = nameOf(item);
    if (name === undefined || policies.has(name)) continue; // a repeated name: the first counts
    const limit = count(item.params.get('q'));
    const windowMs = windowOf(item.params.get('w'));
    policies.set(name, { limit, windowMs, isRequests: countsRequests(item) });
  }
  const states: QuotaState[] = [];
  const parsed = parseSfDictionaryOrList(joinField(fields.get('ratelimit')));
  for (const item of parsed?.kind === 'list' ? parsed.items : []) {
    const name = nameOf(item);
    const remaining = count(item.params.get('r')); // REQUIRED: an item without it says nothing
    const policy = name === undefined ? undefined : policies.get(name);
    if (name === undefined || remaining === undefined || policy?.isRequests === false) continue;
    policies.delete(name); // matched; a second item for the same name (another partition) stands alone
    const resetAtMs = afterSeconds(nowMs, count(item.params.get('t')));
    states.push(compact({ ...policy, remaining, resetAtMs }, 'ratelimit-structured'));
  }
  // A policy with no RateLimit item still states a limit and a window.
  for (const policy of policies.values()) {
    if (policy.isRequests && policy.limit !== undefined) states.push(compact(policy, 'ratelimit-structured'));
  }
  return states;
}

function readCombined(fields: Fields, nowMs: number): QuotaState[] {
  const parsed = parseSfDictionaryOrList(joinField(fields.get('ratelimit')));
  if (parsed?.kind !== 'dictionary') return [];
  const member = (key: string): number | undefined => count(parsed.members.get(key));
  const limit = member('limit');
  const state = compact(
    {
      limit,
      remaining: member('remaining'),
      resetAtMs: afterSeconds(nowMs, member('reset')),
      windowMs: windowForLimit(limit, integerPolicies(joinField(fields.get('ratelimit-policy')))),
    },
    'ratelimit-combined',
  );
  return hasQuota(state) ? [state] : [];
}

/** The three separate fields, `<prefix>limit`, `<prefix>remaining` and `<prefix>reset`. */
function readSeparate(fields: Fields, prefix: string, source: string, nowMs: number): QuotaState[] {
  const limitText = singleValue(fields.get(`${prefix}limit`));
  let limit = count(limitText);
  let windowMs: number | undefined;
  if (source === 'ratelimit-draft') {
    // Drafts 00–03 append the policies to the limit (`RateLimit-Limit: 100, 100;w=60`);
    // 05–06 send them in RateLimit-Policy.
    const first = limitText === undefined ? undefined : parseSfList(limitText)?.[0];
    if (limit === undefined && first?.kind === 'integer') limit = count(first);
    const policies = [...integerPolicies(limitText), ...integerPolicies(joinField(fields.get('ratelimit-policy')))];
    windowMs = windowForLimit(limit, policies);
  }
  const resetText = singleValue(fields.get(`${prefix}reset`));
  const state = compact(
    {
      limit,
      remaining: count(singleValue(fields.get(`${prefix}remaining`))),
      resetAtMs: resetText === undefined ? undefined : parseReset(resetText, nowMs),
      windowMs,
    },
    source,
  );
  return hasQuota(state) ? [state] : [];
}

/**
 * A reset value as epoch ms (never before `nowMs`), told apart by magnitude, which works
 * because the three numeric readings live orders of magnitude apart (now is ~1.7e9 s, ~1.7e12 ms):
 * - ≤ 1 year (31,536,000) → delta seconds (Reddit; the IETF drafts). Checked first, so a fake
 *   clock near 0 still reads small values as deltas;
 * - within [now − 1 day, now + 1 year] in seconds → epoch seconds (GitHub, Twitter; a fraction
 *   as Discord sends is kept); the day of slack absorbs clock skew, and a past time means "now";
 * - within the same window in ms → epoch ms;
 * - an HTTP-date (any of its three forms) → that time;
 * - anything else (negative, text, a timestamp years off, a 40-year "delta") → undefined.
 */
export function parseReset(text: string, nowMs: number): number | undefined {
  if (!Number.isFinite(nowMs)) return undefined;
  const value = parseNonNegative(text);
  if (value === undefined) {
    const dateMs = parseHttpDate(text.trim(), nowMs);
    return dateMs === undefined ? undefined : Math.max(nowMs, dateMs);
  }
  if (value <= YEAR_S) return afterSeconds(nowMs, value);
  const nowS = nowMs / SECOND_MS;
  if (value >= nowS - DAY_S && value <= nowS + YEAR_S) return Math.max(nowMs, Math.round(value * SECOND_MS));
  if (value >= nowMs - DAY_S * SECOND_MS && value <= nowMs + YEAR_S * SECOND_MS) return Math.max(nowMs, Math.round(value));
  return undefined;
}

// ---- Values -------------------------------------------------------------------------------

interface Policy {
  limit: number;
  windowMs: number;
}

/** Draft 00–07 policies: integer items with a `w` parameter (`100;w=60, 1000;w=3600`). */
function integerPolicies(text: string | undefined): Policy[] {
  const policies: Policy[] = [];
  for (const item of parseSfList(text) ?? []) {
    const limit = item.kind === 'integer' ? count(item) : undefined;
    const windowMs = windowOf(item.params.get('w'));
    if (limit !== undefined && windowMs !== undefined) policies.push({ limit, windowMs });
  }
  return policies;
}

/** The window of the policy whose quota is the stated limit (the drafts forbid two policies with the same quota); a lone policy also stands for a missing limit. */
function windowForLimit(limit: number | undefined, policies: Policy[]): number | undefined {
  if (limit === undefined) return policies.length === 1 ? policies[0]?.windowMs : undefined;
  return policies.find((p) => p.limit === limit)?.windowMs;
}

/** `qu` absent or "requests": a quota in content-bytes or concurrent requests is not a request rate. */
function countsRequests(item: SfItem): boolean {
  const unit = item.params.get('qu');
  return unit === undefined || (typeof unit.value === 'string' && unit.value === 'requests');
}

function nameOf(item: SfItem): string | undefined {
  return item.kind === 'string' || item.kind === 'token' ? String(item.value) : undefined;
}

/** A count from a Structured Field integer, or a plain decimal string (Reddit sends "599.0"); fractions round down. */
function count(value: SfBare | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const n = parseNonNegative(value);
    return n === undefined ? undefined : Math.floor(n);
  }
  return value.kind === 'integer' && typeof value.value === 'number' && value.value >= 0 ? value.value : undefined;
}

/** A policy window (`w`, seconds): zero or longer than a year is not a window we can pace by. */
function windowOf(value: SfBare | undefined): number | undefined {
  const seconds = count(value);
  return seconds === undefined || seconds === 0 || seconds > YEAR_S ? undefined : seconds * SECOND_MS;
}

/** `nowMs` plus a delta in seconds; a delta over a year is garbage, not a reset. */
function afterSeconds(nowMs: number, seconds: number | undefined): number | undefined {
  if (seconds === undefined || seconds > YEAR_S || !Number.isFinite(nowMs)) return undefined;
  return nowMs + Math.round(seconds * SECOND_MS);
}

const PLAIN_NUMBER = /^\d{1,16}(?:\.\d{1,6})?$/;

/** Digits with an optional fraction; no sign, exponent or units; at most 16 integer digits. */
function parseNonNegative(text: string): number | undefined {
  const trimmed = text.trim();
  if (!PLAIN_NUMBER.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return n <= Number.MAX_SAFE_INTEGER ? n : undefined;
}

/** One value of a field that must not repeat: a repeat that agrees is fine; one that disagrees is ambiguous, so ignored. */
function singleValue(values: string[] | undefined): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const first = values[0]?.trim();
  return values.every((v) => v.trim() === first) ? first : undefined;
}

/** Structured Fields combine repeated field lines with commas (RFC 9651 §4.2). */
function joinField(values: string[] | undefined): string | undefined {
  return values === undefined || values.length === 0 ? undefined : values.join(', ');
}

function compact(state: Omit<QuotaState, 'source'>, source: string): QuotaState {
  const out: QuotaState = { source };
  if (state.remaining !== undefined) out.remaining = state.remaining;
  if (state.resetAtMs !== undefined) out.resetAtMs = state.resetAtMs;
  if (state.limit !== undefined) out.limit = state.limit;
  if (state.windowMs !== undefined) out.windowMs = state.windowMs;
  return out;
}

function hasQuota(state: QuotaState): boolean {
  return state.remaining !== undefined || state.resetAtMs !== undefined || state.limit !== undefined;
}

// ---- Structured Fields (RFC 9651), the subset these headers use --------------------------

interface SfBare {
  kind: 'integer' | 'decimal' | 'string' | 'token' | 'bytes' | 'boolean';
  value: number | string | boolean;
}
interface SfItem extends SfBare {
  params: Map<string, SfBare>;
}
type SfParsed = { kind: 'list'; items: SfItem[] } | { kind: 'dictionary'; members: Map<string, SfItem> };

/** `RateLimit` is a List from draft-08 on and a Dictionary in draft-07; try the List first. */
function parseSfDictionaryOrList(text: string | undefined): SfParsed | undefined {
  const items = parseSfList(text);
  if (items !== undefined && items.some((item) => item.params.has('r'))) return { kind: 'list', items };
  const members = parseSfDictionary(text);
  return members === undefined ? undefined : { kind: 'dictionary', members };
}

class SfError extends Error {}

/** Inner lists, Dates and Display Strings are not used by these fields and fail the parse. */
function parseSfList(text: string | undefined): SfItem[] | undefined {
  return parseSf(text, (p) => p.item());
}

function parseSfDictionary(text: string | undefined): Map<string, SfItem> | undefined {
  const members = parseSf(text, (p) => {
    const key = p.key();
    if (p.peek() === '=') {
      p.pos++;
      return [key, p.item()] as const;
    }
    return [key, { kind: 'boolean', value: true, params: p.params() } satisfies SfItem] as const;
  });
  return members === undefined ? undefined : new Map(members); // a repeated key: the last wins
}

function parseSf<T>(text: string | undefined, member: (p: SfParser) => T): T[] | undefined {
  if (text === undefined) return undefined;
  const p = new SfParser(text.replace(/^[ \t]+|[ \t]+$/g, ''));
  const out: T[] = [];
  try {
    while (!p.atEnd()) {
      out.push(member(p));
      p.skip(/[ \t]/);
      if (p.atEnd()) break;
      p.expect(',');
      p.skip(/[ \t]/);
      if (p.atEnd()) throw new SfError('trailing comma');
    }
  } catch (error) {
    if (error instanceof SfError) return undefined;
    throw error;
  }
  return out;
}

class SfParser {
  pos = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skip(re: RegExp): void {
    while (!this.atEnd() && re.test(this.peek())) this.pos++;
  }
  expect(char: string): void {
    if (this.peek() !== char) throw new SfError(`expected ${char}`);
    this.pos++;
  }
  match(re: RegExp): string {
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (!m) throw new SfError('unexpected character');
    this.pos += m[0].length;
    return m[0];
  }

  item(): SfItem {
    return { ...this.bare(), params: this.params() };
  }
  params(): Map<string, SfBare> {
    const params = new Map<string, SfBare>();
    while (this.peek() === ';') {
      this.pos++;
      this.skip(/ /);
      const key = this.key();
      let value: SfBare = { kind: 'boolean', value: true };
      if (this.peek() === '=') {
        this.pos++;
        value = this.bare();
      }
      params.set(key, value); // a repeated parameter: the last wins
    }
    return params;
  }
  key(): string {
    return this.match(/[a-z*][a-z0-9_\-.*]*/y);
  }
  bare(): SfBare {
    const c = this.peek();
    if (c === '-' || (c >= '0' && c <= '9')) {
      const text = this.match(/-?\d+(?:\.\d+)?/y);
      const [int = '', frac] = text.replace('-', '').split('.');
      if (frac === undefined ? int.length > 15 : int.length > 12 || frac.length > 3) throw new SfError('number too long');
      return { kind: frac === undefined ? 'integer' : 'decimal', value: Number(text) };
    }
    if (c === '"') {
      const text = this.match(/"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"/y);
      return { kind: 'string', value: text.slice(1, -1).replace(/\\(["\\])/g, '$1') };
    }
    if (c === ':') return { kind: 'bytes', value: this.match(/:[A-Za-z0-9+/=]*:/y).slice(1, -1) };
    if (c === '?') return { kind: 'boolean', value: this.match(/\?[01]/y) === '?1' };
    return { kind: 'token', value: this.match(/[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y) };
  }
}
