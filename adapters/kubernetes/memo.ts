// A memo for the few values a cluster repeats over and over (CPU quantities,
// images): bounded, and cleared whole when full rather than tracking age.
export class BoundedMemo<K, V> {
  readonly #values = new Map<K, V>();
  readonly #max: number;

  constructor(max = 1024) {
    this.#max = max;
  }

  get(key: K, compute: (key: K) => V): V {
    if (this.#values.has(key)) return this.#values.get(key) as V;
    const value = compute(key);
    if (this.#values.size >= this.#max) this.#values.clear();
    this.#values.set(key, value);
    return value;
  }
}
