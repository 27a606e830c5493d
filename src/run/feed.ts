/**
 * An async iterable that values are pushed into: the queue worker hands each job's input to a
 * running fetchAll through one, and the coordinator merges records from Redis and its own
 * planning through another. A reader waits while it is empty; `end()` finishes it once drained.
 */
export class Feed<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #head = 0;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#poke();
  }

  /** No more items: a reader gets the ones left, then the end. */
  end(): void {
    this.#ended = true;
    this.#poke();
  }

  /** The reader throws `error` once it has taken the items before it. */
  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#poke();
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.#head < this.#items.length) {
        const item = this.#items[this.#head++] as T;
        // Compact now and then, so a long run does not keep every item it ever held.
        if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
          this.#items.splice(0, this.#head);
          this.#head = 0;
        }
        yield item;
        continue;
      }
      if (this.#failure) throw this.#failure.error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
