/** Role sets whose compiled policy (and what hangs off it) stay cached by default. */
export const DEFAULT_ROLE_SET_CACHE_SIZE = 100;

/**
 * What is kept per set of roles, least recently used dropped first once `capacity` are held: a
 * server sees as many role sets as its callers' tokens combine, so the cache is bounded. Everything
 * else made per role set (its GraphQL schema, its MCP tool list) is kept in WeakMaps keyed by the
 * compiled policy and goes with it. A request that already holds a dropped policy keeps it until
 * it ends; the next request for that role set compiles it again.
 */
export class RoleSetCache<Value> {
  readonly capacity: number;
  // a Map iterates in insertion order: a value used again is moved to the end, so the first key is
  // the least recently used
  readonly #entries = new Map<string, Value>();
  #newest: string | undefined;

  constructor(capacity: number = DEFAULT_ROLE_SET_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`the role-set cache size must be a positive integer, not ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value for a role set's key, made by `create` when absent; now the most recently used. */
  get(key: string, create: () => Value): Value {
    const found = this.#entries.get(key);
    if (found !== undefined) {
      // most requests come from the role set used last: nothing to move
      if (key !== this.#newest) {
        this.#entries.delete(key);
        this.#entries.set(key, found);
        this.#newest = key;
      }
      return found;
    }
    const value = create();
    this.#entries.set(key, value);
    this.#newest = key;
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return value;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Keys from the least to the most recently used. */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  values(): IterableIterator<Value> {
    return this.#entries.values();
  }
}
