/**
 * Bounded read-ahead: reads inputs while there is room (the scheduler says when: fewer
 * unfinished inputs than --read-ahead), alongside the dispatching. Once the run stops it lets
 * go of the source at once, even in the middle of a read: stdin may block for ever.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { watchAbort } from '../abort.js';
import type { PlanResult } from '../plan/planner.js';

/**
 * Inputs read between two turns of the event loop. A buffered file yields inputs without ever
 * waiting for I/O, so filling the read-ahead would otherwise hold the loop for as long as
 * planning 2,000 inputs takes (about 80 ms here): no timer fires and no request is written
 * meanwhile, and the requests held back reach the server together.
 */
const READS_PER_TURN = 64;

export interface ReadAheadHooks {
  /** Aborted when the run stops for any reason: nothing more is read. */
  signal: AbortSignal;
  /** Whether another input may be read now. */
  hasRoom(): boolean;
  /** Resolves at the next change that may make room. */
  changed(): Promise<void>;
  /** One input was read. */
  onInput(plan: PlanResult): void;
  /** Reading is over (the input ran out, the run stopped or the source failed); `total` inputs were read. */
  onEnd(total: number): void;
}

/** Reads `items` until they run out or the run stops. Rejects with the source's error if it fails. */
export async function readAhead(items: AsyncIterable<PlanResult>, hooks: ReadAheadHooks): Promise<void> {
  const { signal } = hooks;
  const iterator = items[Symbol.asyncIterator]();
  let total = 0;
  try {
    while (!signal.aborted) {
      while (!hooks.hasRoom() && !signal.aborted) await unlessAborted(hooks.changed(), signal);
      if (signal.aborted) break;
      const next = await unlessAborted(iterator.next(), signal);
      if (next === null || next.done) break;
      total += 1;
      hooks.onInput(next.value);
      if (total % READS_PER_TURN === 0) await nextTurn();
    }
  } finally {
    hooks.onEnd(total);
    // Do not wait for a source blocked on a read (stdin) once we are stopping.
    void iterator.return?.()?.catch(() => undefined);
  }
}

/**
 * Resolves with the promise's value, or with null once `signal` aborts. Not Promise.race with a
 * run-long promise: every race would leave a reaction on it, holding each input until the end.
 */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(null);
    const unwatch = watchAbort(signal, () => resolve(null));
    promise.then(
      (value) => {
        unwatch();
        resolve(value);
      },
      (error: unknown) => {
        unwatch();
        reject(error);
      },
    );
  });
}
