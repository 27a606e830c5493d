/**
 * One listener per AbortSignal, however many waits watch it. A run's hard-stop signal is
 * watched by every attempt and every read: adding and removing an EventTarget listener for
 * each costs more than the rest of a fast request's bookkeeping (docs/performance.md).
 */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` once `signal` aborts, until the returned function is called. Not for a signal that has aborted already. */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let callbacks = watchers.get(signal);
  if (callbacks === undefined) {
    const all = new Set<() => void>();
    callbacks = all;
    watchers.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        for (const callback of [...all]) callback();
        all.clear();
      },
      { once: true },
    );
  }
  callbacks.add(onAbort);
  const registered = callbacks;
  return () => registered.delete(onAbort);
}
