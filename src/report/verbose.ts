import type { RateChangeReason, RunEvent } from '../events.js';
import { formatDuration } from '../text.js';
import { toOneLine } from '../text.js';
import { formatLimit } from './summary.js';

const RATE_REASONS: { [reason in RateChangeReason]: string } = {
  start: '--rps auto starts here',
  throttled: 'cut after a 429',
  spacing: 'same rate, no catch-up: a 429 to a request sent early',
  clean: 'raised: answers are clean',
  probe: 'probing past the limit found: answers are clean',
  quota: 'quota headers pace it instead',
  window: 'a window on the clock: this many each second',
};

/**
 * One `--verbose` line (no trailing newline) for the events worth a line of their own:
 * retries, host pauses, rate changes and the interrupt. Undefined for everything else, which the
 * progress display and summary already count. Reasons arrive redacted.
 *
 *   retry line 17 after attempt 1 api.example.com: 503 Service Unavailable; waiting 1.2s (backoff)
 *   pause api.example.com for 5s: 429 Too Many Requests (server)
 *   rate api.example.com: 18.4/s (cut after a 429)
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
      return `rate ${e.lane}: ${Number.isFinite(e.rps) ? formatLimit(e.rps) : 'no limit'} (${RATE_REASONS[e.reason]})`;
    case 'interrupt':
      return `interrupt: ${toOneLine(e.reason)}`;
    default:
      return undefined;
  }
}
