import type { RunEvent } from '../events.js';
import { formatDuration, formatLimit, toOneLine } from '../text.js';

/**
 * One `--verbose` line (no trailing newline) for the events worth a line of their own:
 * retries, host pauses, rate changes and the interrupt. Undefined for everything else, which the
 * progress display and summary already count. Reasons arrive redacted.
 *
 *   retry line 17 after attempt 1 api.example.com: 503 Service Unavailable; waiting 1.2s (backoff)
 *   pause api.example.com for 5s: 429 Too Many Requests (server)
 *   rate api.example.com: 19.6/s (cut: 429 at 21.3/s, the server accepted 20.0/s)
 *   interrupt: SIGINT
 */
export function formatVerboseLine(e: RunEvent): string | undefined {
  switch (e.type) {
    case 'retry':
      // `attempt` is the attempt that just failed; the retry is attempt + 1.
      return `retry line ${e.line} after attempt ${e.attempt} ${e.host}: ${toOneLine(e.reason)}; ` + `waiting ${formatDuration(e.delayMs)} (${e.source})`;
    case 'pause':
      return `pause ${e.host} for ${formatDuration(e.delayMs)}: ${toOneLine(e.reason)} (${e.source})`;
    case 'rate':
      return `rate ${e.lane}: ${Number.isFinite(e.rps) ? formatLimit(e.rps) : 'no limit'} (${toOneLine(e.why)})`;
    case 'interrupt':
      return `interrupt: ${toOneLine(e.reason)}`;
    default:
      return undefined;
  }
}
