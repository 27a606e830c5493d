/** The smallest of the last `size` values added (undefined before the first). */
export class RecentMinimum {
  readonly #values: number[] = [];

  constructor(readonly size: number) {}

  add(value: number): void {
    this.#values.push(value);
    if (this.#values.length > this.size) this.#values.shift();
  }

  min(): number | undefined {
    return this.#values.length === 0 ? undefined : Math.min(...this.#values);
  }
}
