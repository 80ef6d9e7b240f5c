// A map that holds at most `capacity` entries and forgets the least recently used first: for
// memory whose size the client chooses (names it asks for, name sets), so the bound holds
// whatever is asked. Entries form a list from least to most recently used, so every operation is
// O(1). (Re-inserting into a Map and evicting with `keys().next()` is not: deleted slots stay at
// the front of V8's table until it is rehashed, and each new iterator walks over them.)

interface Entry<K, V> {
  readonly key: K;
  value: V;
  older: Entry<K, V> | undefined;
  newer: Entry<K, V> | undefined;
}

export class LruMap<K, V> {
  readonly capacity: number;
  private readonly entries = new Map<K, Entry<K, V>>();
  private oldest: Entry<K, V> | undefined;
  private newest: Entry<K, V> | undefined;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`LRU capacity must be a whole number >= 0, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.unlink(entry);
    this.append(entry);
    return entry.value;
  }

  /** Whether `key` is held; if so it becomes the most recently used. */
  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores `key` as the most recently used, forgetting the least recently used beyond the capacity. */
  set(key: K, value: V): void {
    const held = this.entries.get(key);
    if (held) {
      held.value = value;
      this.unlink(held);
      this.append(held);
      return;
    }
    if (this.capacity === 0) return;
    const entry: Entry<K, V> = { key, value, older: undefined, newer: undefined };
    this.entries.set(key, entry);
    this.append(entry);
    if (this.entries.size > this.capacity && this.oldest) this.delete(this.oldest.key);
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.unlink(entry);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.oldest = undefined;
    this.newest = undefined;
  }

  /** Keys, least recently used first, without changing the order; the key just yielded may be deleted. */
  *keys(): IterableIterator<K> {
    for (let entry = this.oldest; entry;) {
      const next = entry.newer;
      yield entry.key;
      entry = next;
    }
  }

  /** Key-value pairs, least recently used first, without changing the order; the pair just yielded may be deleted. */
  *items(): IterableIterator<[K, V]> {
    for (let entry = this.oldest; entry;) {
      const next = entry.newer;
      yield [entry.key, entry.value];
      entry = next;
    }
  }

  private append(entry: Entry<K, V>): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry<K, V>): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}
