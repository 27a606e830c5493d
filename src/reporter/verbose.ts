import type { RunEvent } from '../events.js';
import { formatDuration, toOneLine as oneLine } from './summary.js';

/**
 * One `--verbose` line (no trailing newline) for the events worth a line of their own:
 * retries, host pauses and the interrupt. Undefined for everything else, which the
 * progress display and summary already count. Reasons arrive redacted.
 *
 *   retry line 17 after attempt 1 api.example.com: 503 Service Unavailable; waiting 1.2s (backoff)
 *   pause api.example.com for 5s: 429 Too Many Requests (server)
 *   interrupt: SIGINT
 */
export function formatVerboseLine(e: RunEvent): string | undefined {
  switch (e.type) {
    case 'retry':
      // `attempt` is the attempt that just failed; the retry is attempt + 1.
      return (
        `retry line ${e.line} after attempt ${e.attempt} ${e.host}: ${oneLine(e.reason)}; ` +
        `waiting ${formatDuration(e.delayMs)} (${e.source})`
      );
    case 'pause':
      return `pause ${e.host} for ${formatDuration(e.delayMs)}: ${oneLine(e.reason)} (${e.source})`;
    case 'interrupt':
      return `interrupt: ${oneLine(e.reason)}`;
    default:
      return undefined;
  }
}
