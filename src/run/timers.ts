/**
 * The run loop's timers: the backoff before a retry (scheduler.ts) and the start gate's wake and
 * grace timers (start-gate.ts). Injected, so that a simulation runs the real loop in virtual time
 * (bench/lib/virtual-time.ts). Apart from `Clock`, on purpose: the limiter, the lanes and the rate
 * controller only read the time (a fake `now` is all their tests need); only the run loop sets timers.
 */

/** What `setTimer` returns, for `clearTimer`; nothing else may be done with it. */
export type TimerHandle = object;

export interface Timers {
  /**
   * Calls `callback` once, `ms` from now, as setTimeout does (under 1 ms means 1 ms). With `unref`,
   * the timer alone does not keep the process alive.
   */
  setTimer(callback: () => void, ms: number, options?: { unref?: boolean }): TimerHandle;
  /** Cancels a timer; undefined, or one that fired or was cleared already, is a no-op. */
  clearTimer(handle: TimerHandle | undefined): void;
}

/** Node's own timers. The global setTimeout is looked up at each call, so node:test's mock timers still apply. */
export const systemTimers: Timers = {
  setTimer: (callback, ms, options) => {
    const timer = setTimeout(callback, ms);
    return options?.unref ? timer.unref() : timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
