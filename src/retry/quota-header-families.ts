/**
 * One reader per quota header family (the families and their shapes are listed in
 * `quota-headers.ts`): each turns the fields of its family into zero or more `QuotaState`
 * candidates, and knows only field names and how the family's fields fit together.
 *
 * Separate from choosing among the candidates and from pacing: the drafts and the X- headers
 * disagree on shape, not on meaning, and this is where that difference ends. The Structured
 * Field grammar is in `structured-fields.ts`, the numbers and units in `quota-values.ts`.
 * The drafts say malformed fields MUST be ignored; so do we, field by field, never throwing.
 */
import type { QuotaState } from './quota-state.js';
import { afterSeconds, count, parseReset, windowOf } from './quota-values.js';
import { parseSfDictionary, parseSfList, type SfItem } from './structured-fields.js';

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Header values by lower-cased name; a name spelled in two cases contributes both. */
export type QuotaFields = Map<string, string[]>;

/** Whether a field's name says rate limit (`ratelimit` or `rate-limit`, in any case). */
function isQuotaName(name: string): boolean {
  const key = name.toLowerCase();
  return key.includes('ratelimit') || key.includes('rate-limit');
}

/** Whether any field's name says rate limit. Every response is asked, and most say no: nothing is allocated to tell. */
export function hasQuotaField(headers: ResponseHeaders): boolean {
  for (const name in headers) if (Object.hasOwn(headers, name) && isQuotaName(name)) return true;
  return false;
}

/** The fields whose name says rate limit; all others are dropped. */
export function collectFields(headers: ResponseHeaders): QuotaFields {
  const fields: QuotaFields = new Map();
  for (const name of Object.keys(headers)) {
    if (!isQuotaName(name)) continue;
    const key = name.toLowerCase();
    const value = headers[name];
    if (value === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    fields.set(key, [...(fields.get(key) ?? []), ...values]);
  }
  return fields;
}

/** `ratelimit-structured`: `RateLimit-Policy` and `RateLimit` as Lists, matched by policy name. */
export function readStructured(fields: QuotaFields, nowMs: number): QuotaState[] {
  const policies = new Map<string, Omit<QuotaState, 'source'> & { isRequests: boolean }>();
  for (const item of parseSfList(joinField(fields.get('ratelimit-policy'))) ?? []) {
    const name = nameOf(item);
    if (name === undefined || policies.has(name)) continue; // a repeated name: the first counts
    const limit = count(item.params.get('q'));
    const windowMs = windowOf(item.params.get('w'));
    policies.set(name, { limit, windowMs, isRequests: countsRequests(item) });
  }
  const states: QuotaState[] = [];
  const parsed = parseRateLimitField(joinField(fields.get('ratelimit')));
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

/** `ratelimit-combined`: `RateLimit` as a Dictionary, its window from `RateLimit-Policy`. */
export function readCombined(fields: QuotaFields, nowMs: number): QuotaState[] {
  const parsed = parseRateLimitField(joinField(fields.get('ratelimit')));
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
export function readSeparate(fields: QuotaFields, prefix: string, source: string, nowMs: number): QuotaState[] {
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

type RateLimitField = { kind: 'list'; items: SfItem[] } | { kind: 'dictionary'; members: Map<string, SfItem> };

/** `RateLimit` is a List from draft-08 on and a Dictionary in draft-07; try the List first. */
function parseRateLimitField(text: string | undefined): RateLimitField | undefined {
  const items = parseSfList(text);
  if (items?.some((item) => item.params.has('r'))) return { kind: 'list', items };
  const members = parseSfDictionary(text);
  return members === undefined ? undefined : { kind: 'dictionary', members };
}

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
