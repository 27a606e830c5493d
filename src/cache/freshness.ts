/**
 * The HTTP caching rules (RFC 9111) as http-cache-semantics reads them: whether an answer may be
 * stored, whether a stored one is still fresh, which validators ask the server "changed?", and
 * the headers a 304 refreshes. Pure: the time is passed in. Our own rule is --cache-max-age
 * alone: a freshness lifetime for answers that state none.
 */
import CachePolicy from 'http-cache-semantics';

/** A request as the rules see it: names lower-case, secrets already stripped (stored-answer.ts). */
export interface RequestView {
  url: string;
  method: string;
  headers: { [name: string]: string };
}

/** An answer as the rules see it. */
export interface AnswerView {
  status: number;
  headers: { [name: string]: string };
}

/** What a stored answer needs for the rules: the request that got it, the answer, and when it came. */
export interface StoredExchange {
  request: RequestView;
  answer: AnswerView;
  /** Epoch ms. */
  receivedAt: number;
}

export type Freshness = { kind: 'fresh' } | { kind: 'stale'; validators: Array<[name: string, value: string]> };

/**
 * One user's cache, not a proxy's: `shared: false` stores `private` answers and answers to
 * requests with Authorization, which the library's shared default refuses. No heuristic
 * freshness (the library's default guesses a tenth of the time since Last-Modified): an answer
 * is used without asking only when its server, or the user with --cache-max-age, said so.
 */
const POLICY_OPTIONS: CachePolicy.Options = { shared: false, cacheHeuristic: 0 };

/** The request headers that ask "changed since?", as the library writes them for a stale answer. */
const VALIDATOR_HEADERS = ['if-none-match', 'if-modified-since'] as const;

/** The library reads the time through now(); this one reads ours, so a stored answer ages by the run's clock. */
class PolicyAt extends CachePolicy {
  at = 0;
  now(): number {
    return this.at;
  }
}

/** The rules' view of an answer received at `receivedAt`, looked at `now`. */
function policyAt(exchange: StoredExchange, now: number): PolicyAt {
  const built = new CachePolicy(exchange.request, exchange.answer, POLICY_OPTIONS).toObject();
  const policy = PolicyAt.fromObject({ ...built, t: exchange.receivedAt }) as PolicyAt;
  policy.at = now;
  return policy;
}

/** Whether the rules allow storing this answer to this request at all (no-store, the status, the method). */
export function isStorable(request: RequestView, answer: AnswerView): boolean {
  return new CachePolicy(request, answer, POLICY_OPTIONS).storable();
}

/**
 * Whether the stored answer may be used for `request` at `now` with no request, or must be
 * revalidated first (with the validators to send; none means it must be fetched again). With
 * `defaultMaxAgeMs` (--cache-max-age), an answer that states no freshness counts as fresh that long.
 */
export function judgeFreshness(stored: StoredExchange, request: RequestView, defaultMaxAgeMs: number | undefined, now: number): Freshness {
  const answer = defaultMaxAgeMs === undefined ? stored.answer : withDefaultFreshness(stored.answer, defaultMaxAgeMs);
  const { revalidation } = policyAt({ ...stored, answer }, now).evaluateRequest(request);
  if (revalidation === undefined) return { kind: 'fresh' };
  // stale-while-revalidate would serve the old answer and ask in the background; a run asks first.
  const validators: Array<[string, string]> = [];
  for (const name of VALIDATOR_HEADERS) {
    const value = revalidation.headers[name];
    if (typeof value === 'string') validators.push([name, value]);
  }
  return { kind: 'stale', validators };
}

/**
 * The stored answer's headers as a 304 updates them (the library's merge: the 304's fields
 * replace the stored ones, but not those that describe the body). A 304 whose validator does
 * not match the stored answer updates nothing.
 */
export function refreshedHeaders(stored: StoredExchange, request: RequestView, notModified: AnswerView, now: number): { [name: string]: string } {
  const { policy, matches } = policyAt(stored, now).revalidatedPolicy(request, notModified);
  if (!matches) return stored.answer.headers;
  const merged: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(policy.toObject().resh)) {
    if (typeof value === 'string') merged[name] = value;
  }
  return merged;
}

/**
 * The answer with `max-age` added when it states no freshness of its own (no max-age or
 * s-maxage directive, no Expires). Directives that forbid reuse (no-cache, no-store,
 * must-revalidate) stay, and the rules still apply them.
 */
export function withDefaultFreshness(answer: AnswerView, maxAgeMs: number): AnswerView {
  const cacheControl = answer.headers['cache-control'] ?? '';
  const statesFreshness = /(?:^|,)\s*(?:max-age|s-maxage)\s*=/i.test(cacheControl) || answer.headers.expires !== undefined;
  const seconds = Math.floor(maxAgeMs / 1000);
  if (statesFreshness || seconds <= 0) return answer;
  const directive = `max-age=${seconds}`;
  return { ...answer, headers: { ...answer.headers, 'cache-control': cacheControl.trim() === '' ? directive : `${cacheControl}, ${directive}` } };
}
