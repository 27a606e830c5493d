/**
 * Requests waiting to start, one FIFO per host, served round robin so one busy or paused host
 * cannot keep the others waiting. The scheduler asks for the next request whose buckets allow
 * a start now; a waiting request holds no concurrency slot.
 */
import type { TakeResult } from './limiter.js';

export type NextStart<T> = { item: T } | { retryAtMs: number } | undefined;

export class HostQueues<T> {
  readonly #queues = new Map<string, T[]>();

  /** Hosts with requests waiting. */
  get hostCount(): number {
    return this.#queues.size;
  }

  /** Queues `item` last, or first with `first: true` (work already under way goes before new). */
  push(host: string, item: T, first = false): void {
    const queue = this.#queues.get(host);
    if (!queue) this.#queues.set(host, [item]);
    else if (first) queue.unshift(item);
    else queue.push(item);
  }

  /**
   * Offers each host in turn to `tryStart` (which takes the tokens when it says ok) and
   * returns the first host's oldest request, or the earliest moment any host may start,
   * or undefined when nothing waits.
   */
  next(tryStart: (host: string) => TakeResult): NextStart<T> {
    let retryAtMs = Infinity;
    for (const [host, queue] of this.#queues) {
      const result = tryStart(host);
      if (!result.ok) {
        retryAtMs = Math.min(retryAtMs, result.retryAtMs);
        continue;
      }
      const item = queue.shift()!;
      // The host just served moves to the back of the line.
      this.#queues.delete(host);
      if (queue.length > 0) this.#queues.set(host, queue);
      return { item };
    }
    return this.#queues.size === 0 ? undefined : { retryAtMs };
  }

  /** Removes and returns everything waiting for `host`, or for every host. */
  drain(host?: string): T[] {
    if (host !== undefined) {
      const queue = this.#queues.get(host) ?? [];
      this.#queues.delete(host);
      return queue;
    }
    const all = [...this.#queues.values()].flat();
    this.#queues.clear();
    return all;
  }
}
