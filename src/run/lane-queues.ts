/**
 * Requests waiting to start, one FIFO per lane, served round robin so one busy or paused lane
 * cannot keep the others waiting. The scheduler asks for the next request whose buckets allow
 * a start now; a waiting request holds no concurrency slot.
 */
import type { TakeResult } from '../rate/limiter.js';

export type NextStart<T> = { item: T } | { retryAtMs: number } | undefined;

export class LaneQueues<T> {
  readonly #queues = new Map<string, T[]>();
  #size = 0;

  /** Lanes with requests waiting. */
  get laneCount(): number {
    return this.#queues.size;
  }

  /** Requests waiting, in all lanes. */
  get size(): number {
    return this.#size;
  }

  /** Queues `item` last, or first with `first: true` (work already under way goes before new). */
  push(lane: string, item: T, first = false): void {
    this.#size += 1;
    const queue = this.#queues.get(lane);
    if (!queue) this.#queues.set(lane, [item]);
    else if (first) queue.unshift(item);
    else queue.push(item);
  }

  /**
   * Offers each lane in turn to `tryStart` (which takes the tokens when it says ok) and
   * returns the first lane's oldest request, or the earliest moment any lane may start,
   * or undefined when nothing waits.
   */
  next(tryStart: (lane: string) => TakeResult): NextStart<T> {
    let retryAtMs = Infinity;
    for (const lane of this.#queues.keys()) {
      const result = tryStart(lane);
      if (!result.ok) {
        retryAtMs = Math.min(retryAtMs, result.retryAtMs);
        continue;
      }
      const queue = this.#queues.get(lane)!;
      const item = queue.shift()!;
      this.#size -= 1;
      // The lane just served moves to the back of the line (alone, it is there already).
      if (queue.length === 0) this.#queues.delete(lane);
      else if (this.#queues.size > 1) {
        this.#queues.delete(lane);
        this.#queues.set(lane, queue);
      }
      return { item };
    }
    return this.#queues.size === 0 ? undefined : { retryAtMs };
  }

  /** Removes and returns everything waiting in `lane`, or in every lane. */
  drain(lane?: string): T[] {
    if (lane !== undefined) {
      const queue = this.#queues.get(lane) ?? [];
      this.#queues.delete(lane);
      this.#size -= queue.length;
      return queue;
    }
    const all = [...this.#queues.values()].flat();
    this.#queues.clear();
    this.#size = 0;
    return all;
  }
}
