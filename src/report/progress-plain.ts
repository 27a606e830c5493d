/** Progress for a stderr that is no terminal (cron, CI logs): a sparse plain line now and then. */
import type { RunStats, StatsSnapshot } from './stats.js';
import { formatCountdown, formatLimit, toOneLine } from '../text.js';
import { formatCount, formatRate } from './summary.js';

export interface ProgressHandle {
  /** Stops the timer. The TTY bar draws its final state; the plain reporter prints nothing. */
  stop(): void;
  /**
   * Writes one line (no trailing newline needed) to the same stream without tearing the
   * display: use it for `--verbose` lines while a reporter is running.
   */
  log(line: string): void;
  /**
   * Runs `write`, which puts data on the same terminal through another stream (records on
   * stdout when stdout and stderr are one terminal), with the live bar stepped aside for it.
   * Only the TTY bar has it: plain lines need no stepping aside.
   */
  besideBar?(write: () => void): void;
}

export interface PlainProgressOptions {
  /** @default 10_000 */
  intervalMs?: number;
}

/**
 * For a stderr that is not a terminal (CI logs, files): one plain line per interval, no
 * ANSI and no carriage returns, and nothing at all for a run shorter than one interval.
 */
export function startPlainProgress(stats: RunStats, stream: NodeJS.WritableStream, opts: PlainProgressOptions = {}): ProgressHandle {
  const intervalMs = opts.intervalMs ?? 10_000;
  let stopped = false;
  const timer = setInterval(() => {
    if (!stopped) stream.write(`${formatPlainLine(stats.snapshot())}\n`);
  }, intervalMs);
  // The display must never keep the process alive.
  timer.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
  };
}

/**
 * `ratefetch: 120/300 done (40%), 12.0 req/s, 3 retries, 1×429, 2 failed, eta 15s`
 * plus `, waiting 4s: 429 from api.example.com` while a host is paused.
 */
export function formatPlainLine(s: StatsSnapshot): string {
  const parts: string[] = [];
  parts.push(s.total === null ? `${formatCount(s.done)} done` : `${formatCount(s.done)}/${formatCount(s.total)} done (${progressPercent(s.done, s.total)}%)`);
  parts.push(formatRate(s.recentRps));
  const limit = formatLaneLimit(s);
  if (limit !== undefined) parts.push(limit);
  parts.push(`${formatCount(s.retries)} ${s.retries === 1 ? 'retry' : 'retries'}`);
  parts.push(`${formatCount(s.received429)}×429`);
  parts.push(`${formatCount(s.failed)} failed`);
  if (s.etaMs !== null && s.done < (s.total ?? 0)) parts.push(`eta ${formatCountdown(s.etaMs)}`);
  const waiting = formatPauseState(s);
  if (waiting !== undefined) parts.push(waiting);
  return `ratefetch: ${parts.join(', ')}`;
}

/** `limit 18.4/s` (the slowest lane the rate controller holds back, `+N` more), or undefined. */
export function formatLaneLimit(s: StatsSnapshot): string | undefined {
  const [slowest] = s.laneRates;
  if (slowest === undefined) return undefined;
  const others = s.laneRates.length - 1;
  return `limit ${formatLimit(slowest.rps)}${others > 0 ? ` (+${others})` : ''}`;
}

/** Whole percent, rounded down so 100% means done. */
export function progressPercent(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((done / total) * 100));
}

/**
 * `waiting 12s: 429 from api.example.com (+2 hosts)` for the pause that ends last, or
 * undefined when no host is paused.
 */
export function formatPauseState(s: StatsSnapshot): string | undefined {
  const [longest] = s.pausedHosts;
  if (longest === undefined) return undefined;
  const now = s.startedAt + s.elapsedMs;
  const others = s.pausedHosts.length - 1;
  const more = others > 0 ? ` (+${others} ${others === 1 ? 'host' : 'hosts'})` : '';
  return `waiting ${formatCountdown(longest.untilMs - now)}: ${shortReason(longest.reason)} from ${longest.host}${more}`;
}

/** `429 Too Many Requests` → `429`: the status says it; anything else is kept whole. */
function shortReason(reason: string): string {
  const status = /^\s*(\d{3})\b/.exec(reason);
  return status?.[1] ?? toOneLine(reason);
}
