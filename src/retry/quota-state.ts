/**
 * The neutral quota form that every header family is read into, and the one piece of time
 * arithmetic both the tightness ranking and the pacing decision need from it.
 *
 * Separate so the readers (`quota-header-families.ts`) and the deciders (`quota-headers.ts`,
 * `quota-pacing.ts`) share a type without importing each other.
 */

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

/** The stated reset, or else one window from now (the latest a window can end). */
export function effectiveResetMs(quota: QuotaState, nowMs: number): number | undefined {
  if (quota.resetAtMs !== undefined) return quota.resetAtMs;
  return quota.windowMs === undefined ? undefined : nowMs + quota.windowMs;
}
