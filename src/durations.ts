/** Durations in messages and reasons (the progress display has its own, in reporter/summary.ts). */

/** `5s`, `1.5s`, `250ms`, `0s`: a timeout, or a Retry-After as the server gave it. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 100) / 10;
  return `${seconds}s`;
}

/** A wait in words: `45s`, `12 min`, `3 h`, `2 days`. */
export function formatWait(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
