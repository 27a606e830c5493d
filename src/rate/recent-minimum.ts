/**
 * The smallest of the last `size` values added (undefined before the first). A ring: every
 * answer adds one, so adding moves nothing and reading allocates nothing.
 */
export class RecentMinimum {
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;

  constructor(readonly size: number) {
    this.#values = new Float64Array(size);
  }

  add(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.size;
    if (this.#count < this.size) this.#count += 1;
  }

  min(): number | undefined {
    if (this.#count === 0) return undefined;
    let min = Infinity;
    for (let i = 0; i < this.#count; i++) min = Math.min(min, this.#values[i]!);
    return min;
  }
}
