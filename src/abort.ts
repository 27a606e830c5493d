/**
 * One listener per AbortSignal, however many waits watch it. A run's hard-stop signal is
 * watched by every attempt and every read: adding and removing an EventTarget listener for
 * each costs more than the rest of a fast request's bookkeeping (docs/performance.md).
 *
 * The watchers of a signal are a linked ring, not a Set. A Set this busy (64 attempts come
 * and go many times a second) grows and shrinks its table again and again; a table it has
 * let go of may sit in V8's old space, where, dead, it still keeps every callback it held
 * alive through the next scavenges, and with each callback its attempt, the attempt's
 * answer and undici's header buffers. That was most of what a fast run moved to the old space
 * (76 MB of 20,000 requests, against 31 MB with the ring). A ring node is unlinked and
 * emptied when its wait ends, and a dead node points to nothing.
 */
interface Watcher {
  callback: (() => void) | undefined;
  prev: Watcher;
  next: Watcher;
}

/** Per signal, the ring's head: a node with no callback of its own. */
const rings = new WeakMap<AbortSignal, Watcher>();

/** Calls `onAbort` once `signal` aborts, until the returned function is called. Not for a signal that has aborted already. */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  const head = rings.get(signal) ?? ringFor(signal);
  const node: Watcher = { callback: onAbort, prev: head.prev, next: head };
  head.prev.next = node;
  head.prev = node;
  return () => {
    if (node.callback === undefined) return;
    node.prev.next = node.next;
    node.next.prev = node.prev;
    node.callback = undefined;
    node.prev = node;
    node.next = node;
  };
}

function ringFor(signal: AbortSignal): Watcher {
  const head = { callback: undefined } as Watcher;
  head.prev = head;
  head.next = head;
  rings.set(signal, head);
  signal.addEventListener(
    'abort',
    () => {
      // Every watcher of the moment, each taken off first (its unwatch is then a no-op): a
      // callback may unwatch others.
      const callbacks: Array<() => void> = [];
      for (let node = head.next; node !== head; ) {
        const next = node.next;
        callbacks.push(node.callback!);
        node.callback = undefined;
        node.prev = node;
        node.next = node;
        node = next;
      }
      head.prev = head;
      head.next = head;
      for (const callback of callbacks) callback();
    },
    { once: true },
  );
  return head;
}
