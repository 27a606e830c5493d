/** Progress on a terminal: the live cli-progress bar on stderr, coloured with chalk. */
import cliProgress from 'cli-progress';
import type { ChalkInstance } from 'chalk';
import type { RunStats, StatsSnapshot } from './stats.js';
import { formatLaneLimit, formatPauseState, progressPercent, type ProgressHandle } from './progress-plain.js';
import { formatCountdown } from '../text.js';
import { formatCount, formatPercent, formatRate } from './summary.js';

export type { ProgressHandle } from './progress-plain.js';

export interface TtyProgressOptions {
  /** Colours for stderr (see createStderrChalk). */
  chalk: ChalkInstance;
  /** Expected inputs, when known before the input ends (a file counted with countInputLines). */
  total?: number | null;
  /** @default 200 on a terminal, 1000 when forced onto a stream that is not one */
  intervalMs?: number;
}

/**
 * cli-progress re-arms a redraw timer on every render and never unrefs it; a display must
 * not keep the process alive, so unref it each time.
 */
class UnrefSingleBar extends cliProgress.SingleBar {
  override render(): void {
    super.render();
    (this as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref();
  }
}

const ESC = '\u001b[';
const IDLE_TIMER_SECONDS = 3600;

/**
 * One status line on stderr, redrawn in place. The line is built here (formatTtyLine) and
 * cut to the terminal width; cli-progress owns the cursor work. On a stream that is not a
 * TTY (display forced), each redraw becomes its own line.
 */
export function startTtyProgress(
  stats: RunStats,
  stream: NodeJS.WritableStream & { columns?: number; isTTY?: boolean },
  opts: TtyProgressOptions,
): ProgressHandle {
  const isTTY = stream.isTTY === true;
  const intervalMs = opts.intervalMs ?? (isTTY ? 200 : 1000);
  const render = (width: number): string => formatTtyLine(stats.snapshot(), { chalk: opts.chalk, total: opts.total ?? null, width });

  const bar = new UnrefSingleBar({
    stream,
    format: (_options, params) => render(Math.max(10, params.maxWidth - 1)),
    // Our interval drives redraws. cli-progress re-arms its own timer on each render; push
    // it far out so it never fires between ours (it would draw a duplicate line off a TTY).
    fps: 1 / IDLE_TIMER_SECONDS,
    notTTYSchedule: IDLE_TIMER_SECONDS * 1000,
    synchronousUpdate: false,
    forceRedraw: true,
    noTTYOutput: !isTTY,
    // Off a TTY every draw already ends its line; stop() must not add an empty one.
    clearOnComplete: !isTTY,
    hideCursor: false,
    // The CLI owns SIGINT/SIGTERM (two-stage interrupt); it calls stop().
    gracefulExit: false,
  });
  bar.start(opts.total ?? 0, 0);

  let stopped = false;
  const timer = setInterval(() => {
    bar.update(stats.snapshot().done);
    bar.render();
  }, intervalMs);
  timer.unref();

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      bar.update(stats.snapshot().done);
      // Draws the final state, restores the cursor and ends the line.
      bar.stop();
    },
    log(line) {
      if (stopped || !isTTY) {
        stream.write(`${line}\n`);
        return;
      }
      // Clear the bar line, print with wrapping on (cli-progress turns it off while the bar
      // is up), then re-save the cursor: bar.stop() restores to the saved position, which
      // has moved up if the line scrolled the screen.
      stream.write(`\r${ESC}2K${ESC}?7h${line}\n${ESC}?7l\u001b7`);
      bar.render();
    },
    besideBar(write) {
      if (stopped || !isTTY) {
        write();
        return;
      }
      // As log() does, for lines that go out through another stream on the same terminal:
      // clear the bar line, let the lines wrap (records are often wider than the terminal),
      // then save the cursor below them and draw the bar there.
      stream.write(`\r${ESC}2K${ESC}?7h`);
      write();
      stream.write(`${ESC}?7l\u001b7`);
      bar.render();
    },
  };
}

interface Segment {
  text: string;
  /** Higher survives longer when the terminal is narrow. */
  priority: number;
  style?: (text: string) => string;
}

const SEPARATOR = ' · ';
const BAR_MIN = 10;
const BAR_MAX = 30;
/** Kept over in-flight, ok% and retry counts; dropped before errors, pauses, rate and ETA. */
const BAR_PRIORITY = 5.5;

/**
 * `[██████░░░░] 40% 120/300 · 12.0 req/s · 8 in flight · 3 retries · 1×429 · 2 errors ·
 * 98.3% ok · eta 15s · waiting 12s: 429 from api.example.com`, at most `width` columns:
 * the least useful parts are left out first, and a line still too long is cut with an ellipsis.
 */
export function formatTtyLine(s: StatsSnapshot, opts: { chalk: ChalkInstance; width: number; total?: number | null }): string {
  const { chalk, width } = opts;
  const total = s.total ?? opts.total ?? null;
  const segments: Segment[] = [];

  if (total === null) {
    segments.push({ text: `${formatCount(s.done)} done`, priority: 10 });
  } else {
    segments.push({ text: `${progressPercent(s.done, total)}% ${formatCount(s.done)}/${formatCount(total)}`, priority: 10 });
  }
  segments.push({ text: formatRate(s.recentRps), priority: 8 });
  const limit = formatLaneLimit(s);
  if (limit !== undefined) segments.push({ text: limit, priority: 7 });
  segments.push({ text: `${formatCount(s.inFlight)} in flight`, priority: 4 });
  segments.push({ text: `${formatCount(s.retries)} ${s.retries === 1 ? 'retry' : 'retries'}`, priority: 5 });
  segments.push({
    text: `${formatCount(s.received429)}×429`,
    priority: 5,
    ...(s.received429 > 0 ? { style: chalk.yellow } : {}),
  });
  segments.push({
    text: `${formatCount(s.failed)} ${s.failed === 1 ? 'error' : 'errors'}`,
    priority: 6,
    ...(s.failed > 0 ? { style: chalk.red } : {}),
  });
  if (s.successRate !== null) {
    segments.push({ text: `${formatPercent(s.successRate)} ok`, priority: 3 });
  }
  if (total !== null && s.etaMs !== null && s.done < total) {
    segments.push({ text: `eta ${formatCountdown(s.etaMs)}`, priority: 8 });
  }
  const waiting = formatPauseState(s);
  if (waiting !== undefined) segments.push({ text: waiting, priority: 7, style: chalk.yellow });

  // Keep the most useful parts that fit, highest priority first (the bar counts as one part
  // at its minimum size), and show them in their usual order.
  const BAR = -1;
  const byPriority = [...segments.keys(), ...(total === null ? [] : [BAR])].sort((a, b) => priorityOf(b) - priorityOf(a));
  function priorityOf(i: number): number {
    return i === BAR ? BAR_PRIORITY : segments[i]!.priority;
  }
  const kept = new Set<number>();
  let hasBar = false;
  for (const i of byPriority) {
    const bar = hasBar || i === BAR;
    const candidate = segments.filter((_, j) => kept.has(j) || j === i);
    const fits = plainWidth(candidate) + (bar ? BAR_MIN + 3 : 0) <= width; // brackets and a space
    if (fits || (kept.size === 0 && i !== BAR)) {
      if (i === BAR) hasBar = true;
      else kept.add(i);
    }
  }
  const shown = segments.filter((_, i) => kept.has(i));

  const pieces: Segment[] = [];
  if (hasBar && total !== null) {
    const size = Math.min(BAR_MAX, width - plainWidth(shown) - 3);
    const filled = total <= 0 ? size : Math.min(size, Math.floor((s.done / total) * size));
    pieces.push({ text: '[', priority: 0 });
    pieces.push({ text: '█'.repeat(filled), priority: 0, style: chalk.cyan });
    pieces.push({ text: '░'.repeat(size - filled), priority: 0, style: chalk.dim });
    pieces.push({ text: '] ', priority: 0 });
  }
  shown.forEach((seg, i) => {
    if (i > 0) pieces.push({ text: SEPARATOR, priority: 0, style: chalk.dim });
    pieces.push(seg);
  });
  return assemble(pieces, width);
}

function plainWidth(segments: Segment[]): number {
  let n = 0;
  for (const seg of segments) n += seg.text.length;
  return n + SEPARATOR.length * Math.max(0, segments.length - 1);
}

/** Styles each piece, cutting the plain text at `width` so no escape sequence is split. */
function assemble(pieces: Segment[], width: number): string {
  let out = '';
  let room = width;
  for (const piece of pieces) {
    if (room <= 0) break;
    let text = piece.text;
    if (text.length > room) text = `${text.slice(0, Math.max(0, room - 1))}…`;
    room -= text.length;
    out += piece.style === undefined ? text : piece.style(text);
  }
  return out;
}
