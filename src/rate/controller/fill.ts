/**
 * Fills: a clock second given a count of starts, either the rest of the second a pause ends in
 * (after a cut that counted one) or a second of the windows on the clock (clock-windows.ts). Pure
 * planning, with the time passed in.
 */
import { ADAPTIVE, startToReachSecond } from './tuning.js';

/**
 * Filling a clock second by its `count`: at most `most` starts at `rps`, from `from` until
 * `until`; `started` of them so far, the first and last at `firstAt` and `lastAt`, and
 * `accepted` of those answered clean.
 */
export interface Fill {
  count: number;
  from: number;
  until: number;
  most: number;
  rps: number;
  active: boolean;
  started: number;
  firstAt?: number;
  lastAt?: number;
  accepted?: number;
}

/** The finder's rate, and the ceiling no fill goes past. */
export interface FillPace {
  rps: number;
  ceiling: number;
}

/**
 * The rest of the second a pause ends in (at `from`), filled with 97% of `count` where the rate
 * would leave most of it unused. The fill ends a margin before the second does, less the trip
 * to the server; with less than minFillMs of it left, the fill takes the next second instead.
 */
export function fillAfterPause(count: number, from: number, pace: FillPace, toServerMs: number): Fill {
  const nextSecond = Math.floor(from / 1000) + 1;
  let until = nextSecond * 1000 - ADAPTIVE.fillMarginMs - toServerMs;
  if (until - from < ADAPTIVE.minFillMs) {
    from = startToReachSecond(nextSecond, toServerMs);
    until += 1000;
  }
  const most = Math.floor(count * ADAPTIVE.settleFraction);
  // At least the rate: a rate that would send more than that in the rest of the second (the
  // quarter of a burst's) is held to the count as well.
  const rps = Math.min(pace.ceiling, Math.max(pace.rps, (most * 1000) / (until - from)));
  return { count, from, until, most, rps, active: true, started: 0 };
}

/** The clock second a start at `now` counts in (as the server will count it) gets `count` starts at `pace`. */
export function secondOfWindows(now: number, count: number, pace: number, toServerMs: number, previous: Fill | undefined): Fill {
  // A start in the margin at a second's end may reach the server in the next: count it there.
  const second = Math.floor((now + toServerMs + ADAPTIVE.fillMarginMs) / 1000);
  const until = (second + 1) * 1000 - ADAPTIVE.fillMarginMs - toServerMs;
  // A start in a second whose count is spent (the hold was not kept) still counts in it.
  const started = previous?.until === until ? previous.started : 0;
  return { count, from: now, until, most: count, rps: pace, active: true, started };
}

/**
 * A start at `now` during `fill`. When it ends the fill (its last start, or the next would come
 * too late), nothing more should start before `holdUntil`: the second's count is spent.
 */
export function noteFillStart(fill: Fill, now: number): { holdUntil: number } | undefined {
  if (!fill.active || now < fill.from) return undefined;
  // A start after the fill's end (the lane had nothing to send until then) only ends it.
  if (now < fill.until) {
    fill.firstAt ??= now;
    fill.lastAt = now;
    fill.started += 1;
    if (fill.started < fill.most && now + 1000 / fill.rps < fill.until) return undefined;
  }
  fill.active = false;
  // The next start should reach the server in the next second.
  return { holdUntil: fill.until + ADAPTIVE.fillMarginMs + ADAPTIVE.nextSecondMarginMs };
}
