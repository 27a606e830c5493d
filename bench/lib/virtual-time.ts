/**
 * Virtual time for the real run loop: a Clock and the loop's Timers (src/run/timers.ts) over one
 * timer heap, and `run(until)`, the event loop that drives them. No wall clock is read and no
 * real timer is set: the only real async is one setImmediate per step, which lets every pending
 * promise job (microtasks, nextTicks) settle. Each step then fires the earliest timer, moving
 * the clock to it. Timers fire one at a time in (time, insertion) order, with the jobs each one
 * starts settled before the next, as Node runs microtasks between timer callbacks. So the same
 * inputs give the same run, step for step, however fast or busy the machine.
 */
import type { Clock } from '../../src/rate/limiter.js';
import type { TimerHandle, Timers } from '../../src/run/timers.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cleared: boolean;
}

/** Node's longest timer; a longer or shorter one (or NaN) fires after 1 ms, as setTimeout does. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class VirtualTime implements Clock, Timers {
  #now: number;
  #seq = 0;
  readonly #heap: Timer[] = [];

  constructor(startMs: number) {
    this.#now = startMs;
  }

  // Arrow properties: the run loop passes `clock.now` around unbound.
  readonly now = (): number => this.#now;

  readonly setTimer = (callback: () => void, ms: number): TimerHandle => {
    const delay = ms >= 1 && ms <= MAX_TIMER_MS ? ms : 1;
    return this.#push(this.#now + delay, callback);
  };

  readonly clearTimer = (handle: TimerHandle | undefined): void => {
    // Left in the heap and skipped when it comes up: the gate clears its wake timer at every pump.
    if (handle !== undefined) (handle as Timer).cleared = true;
  };

  /** Calls `callback` at `atMs` exactly (now at the earliest), unclamped: for simulated events, not the loop's timers. */
  at(atMs: number, callback: () => void): TimerHandle {
    return this.#push(Math.max(this.#now, atMs), callback);
  }

  /**
   * Runs the loop until `until` settles (a promise: the run's end) or the clock reaches it (epoch
   * ms: every timer due by then fires, and the clock stops there). A run that waits on nothing
   * scheduled could never end: that throws, as does passing `limitMs` (a runaway guard).
   */
  async run(until: Promise<unknown> | number, limitMs = Infinity): Promise<void> {
    let settled = false;
    if (typeof until !== 'number') {
      const end = () => {
        settled = true;
      };
      until.then(end, end);
    }
    const endMs = typeof until === 'number' ? until : Infinity;
    for (;;) {
      await settle();
      if (settled) return;
      const timer = this.#popDue(endMs);
      if (timer === undefined) {
        if (typeof until === 'number') {
          this.#now = Math.max(this.#now, until);
          return;
        }
        throw new Error(`virtual time: stuck at ${this.#now}: the run waits, and no timer is set`);
      }
      if (timer.at > limitMs) throw new Error(`virtual time: past the limit ${limitMs} (a timer at ${timer.at})`);
      this.#now = Math.max(this.#now, timer.at);
      timer.callback();
    }
  }

  #push(at: number, callback: () => void): Timer {
    const timer: Timer = { at, seq: this.#seq++, callback, cleared: false };
    const heap = this.#heap;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return timer;
  }

  /** The earliest live timer due by `endMs`, taken off the heap; cleared ones are dropped on the way. */
  #popDue(endMs: number): Timer | undefined {
    const heap = this.#heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      if (!top.cleared && top.at > endMs) return undefined;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        siftDown(heap);
      }
      if (!top.cleared) return top;
    }
    return undefined;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function siftDown(heap: Timer[]): void {
  for (let i = 0; ; ) {
    const left = 2 * i + 1;
    const right = left + 1;
    let least = i;
    if (left < heap.length && before(heap[left]!, heap[least]!)) least = left;
    if (right < heap.length && before(heap[right]!, heap[least]!)) least = right;
    if (least === i) return;
    [heap[i], heap[least]] = [heap[least]!, heap[i]!];
    i = least;
  }
}

/** Every promise job and nextTick queued so far runs before a setImmediate callback does. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
