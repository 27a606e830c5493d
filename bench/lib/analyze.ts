/**
 * Pure measurements over the fixture server's hit log (arrival times in epoch ms, as the
 * server saw them). No I/O, so the definitions here are the ones RESULTS.md states.
 */

export interface TimedHit {
  t: number;
  status: number;
}

/** Starts per second from the first to the last arrival: (n − 1) / span. Null for n < 2. */
export function achievedRate(times: readonly number[]): number | null {
  if (times.length < 2) return null;
  const sorted = [...times].sort((a, b) => a - b);
  const spanMs = sorted[sorted.length - 1]! - sorted[0]!;
  return spanMs > 0 ? ((sorted.length - 1) * 1000) / spanMs : null;
}

/**
 * The most arrivals in any window [t, t + windowMs). The busiest window can always be slid
 * right until it starts at an arrival, so checking windows that start at each arrival is enough.
 */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    if (end < start) end = start;
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/**
 * Requests that arrived while the client had been told to wait (issue #8): a request counts
 * when it arrives inside (t429 + roundTripMs, t429 + retryAfterMs) for some 429 answered at
 * t429. The first round trip is allowed because a request the client sent before it could
 * have read the 429 is not a violation. Each request is counted once, however many windows
 * cover it. One client per server, so every 429 applies to every request.
 */
export function countSentDuringWait(hits: readonly TimedHit[], retryAfterMs: number, roundTripMs: number): number {
  const t429s = hits
    .filter((hit) => hit.status === 429)
    .map((hit) => hit.t)
    .sort((a, b) => a - b);
  let count = 0;
  for (const hit of hits) {
    // Inside some window means: a 429 answered at t429 with hit.t − retryAfterMs < t429 < hit.t − roundTripMs.
    const first = firstAbove(t429s, hit.t - retryAfterMs);
    if (first < t429s.length && t429s[first]! < hit.t - roundTripMs) count++;
  }
  return count;
}

/** Index of the first element of ascending `values` that is > `x` (values.length if none). */
function firstAbove(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Gaps (ms) between each 429 and the arrival just before it: why a paced client got refused. */
export function gapsBefore429(hits: readonly TimedHit[]): number[] {
  const sorted = [...hits].sort((a, b) => a.t - b.t);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.status === 429) gaps.push(sorted[i]!.t - sorted[i - 1]!.t);
  return gaps;
}

/** Lines of NDJSON whose record says ok: true, and lines in all (unparsable lines count as not ok). */
export function countOkRecords(ndjson: string): { ok: number; lines: number } {
  let ok = 0;
  let lines = 0;
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    lines++;
    try {
      if ((JSON.parse(line) as { ok?: unknown }).ok === true) ok++;
    } catch {
      // A torn or non-JSON line is not a complete record.
    }
  }
  return { ok, lines };
}

/** Lines exactly equal to `value` (curl's `-w '%{http_code}\n'` output). */
export function countLinesEqual(text: string, value: string): number {
  return text.split('\n').filter((line) => line.trim() === value).length;
}

/** A hit as fixtures/server.ts records it: with the wait its client had been told, if one was running. */
export interface ToldHit extends TimedHit {
  toldToWait: { since: number; until: number } | null;
}

/**
 * Requests that arrived inside a wait the server had told their client (a Retry-After, or
 * quota headers saying nothing is left), more than `graceMs` after it was told: a request the
 * client sent before it could read the answer is not a violation. From the server's own
 * record, so it holds with several clients and with waits told by headers on a 200.
 */
export function sentDuringToldWait<T extends ToldHit>(hits: readonly T[], graceMs: number): T[] {
  return hits.filter((hit) => hit.toldToWait !== null && hit.t > hit.toldToWait.since + graceMs);
}

/** How the arrivals fell into fixed windows (`floor(t / windowMs)`), first window to last. */
export interface WindowBreakdown {
  /** Windows from the first arrival's to the last's, both included. */
  windows: number;
  /** The most 429s answered in one window, and the windows that had any. */
  max429: number;
  windowsWith429: number;
  /** 200s in each window, first to last. */
  ok: number[];
  /** 200s per window, over the windows strictly between the first and the last (the steady part). */
  steadyOk: number[];
}

export function breakDownByWindow(hits: readonly TimedHit[], windowMs: number): WindowBreakdown {
  if (hits.length === 0) return { windows: 0, max429: 0, windowsWith429: 0, ok: [], steadyOk: [] };
  const index = (t: number) => Math.floor(t / windowMs);
  let first = Infinity;
  let last = -Infinity;
  for (const hit of hits) {
    first = Math.min(first, index(hit.t));
    last = Math.max(last, index(hit.t));
  }
  const n = last - first + 1;
  const refused = new Array<number>(n).fill(0);
  const ok = new Array<number>(n).fill(0);
  for (const hit of hits) {
    const i = index(hit.t) - first;
    if (hit.status === 429) refused[i]! += 1;
    if (hit.status === 200) ok[i]! += 1;
  }
  return {
    windows: n,
    max429: Math.max(...refused),
    windowsWith429: refused.filter((c) => c > 0).length,
    ok,
    steadyOk: ok.slice(1, -1),
  };
}
