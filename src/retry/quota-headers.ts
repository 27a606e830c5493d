/**
 * What a response says about the client's quota, from any of the header families in use
 * (issue #11). Pure: the caller passes the clock; nothing here sets a timer or touches the
 * limiter. What a quota means for the pace is decided in rate/quota-pacing.ts.
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
 * This file reads every family and keeps the tightest quota; it is also the one import for the
 * rest of the code, so it re-exports the pieces that live on their own:
 * - `quota-header-families.ts`: one reader per family, header fields → `QuotaState` candidates;
 * - `quota-values.ts`: counts, windows and reset times (`parseReset`);
 * - `structured-fields.ts`: the RFC 9651 subset the IETF drafts use;
 * - `quota-state.ts`: the neutral `QuotaState` they all share.
 */
import { collectFields, hasQuotaField, readCombined, readSeparate, readStructured, type ResponseHeaders } from './quota-header-families.js';
import { effectiveResetMs, type QuotaState } from './quota-state.js';
import { SECOND_MS } from './quota-values.js';

export type { QuotaState } from './quota-state.js';
export { parseReset } from './quota-values.js';

/** The tightest quota the response states, or undefined when it states none (or only garbage). */
export function parseQuotaHeaders(headers: ResponseHeaders, nowMs: number): QuotaState | undefined {
  // Every response passes here: most carry no quota at all.
  if (!hasQuotaField(headers)) return undefined;
  const fields = collectFields(headers);
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
