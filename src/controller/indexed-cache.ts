// The informer's local cache (client-go tools/cache Indexer): objects by key plus named indexes, each
// a function from an object to the values it is filed under ("namespace", "parent Service" ...), so
// a controller finds the routes of a Service without scanning every route.
import type { KubeObject } from "../store/index.ts";

/** The values `object` is filed under in one index; none leaves it out of that index. */
export type IndexFunction = (object: KubeObject) => readonly string[];

/** Files objects under their namespace (cluster-scoped objects are not indexed). */
export const namespaceIndex: IndexFunction = (object) =>
  object.metadata.namespace ? [object.metadata.namespace] : [];

interface Index {
  readonly valuesOf: IndexFunction;
  /** value → keys of the objects filed under it. */
  readonly keysByValue: Map<string, Set<string>>;
  /** key → the values its object was filed under, to unfile it without calling valuesOf again. */
  readonly valuesByKey: Map<string, readonly string[]>;
}

export class UnknownIndexError extends Error {
  constructor(name: string) {
    super(`no index named "${name}"`);
    this.name = "UnknownIndexError";
  }
}

export class IndexedCache {
  private readonly objects = new Map<string, KubeObject>();
  private readonly indexes = new Map<string, Index>();

  constructor(indexers: Readonly<Record<string, IndexFunction>> = {}) {
    for (const [name, valuesOf] of Object.entries(indexers)) {
      this.indexes.set(name, { valuesOf, keysByValue: new Map(), valuesByKey: new Map() });
    }
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  /** Every object; a new array, safe to keep. */
  list(): KubeObject[] {
    return [...this.objects.values()];
  }

  /** Objects filed under `value` in index `name`. Throws UnknownIndexError for an index never declared. */
  byIndex(name: string, value: string): KubeObject[] {
    const index = this.indexes.get(name);
    if (!index) throw new UnknownIndexError(name);
    const keys = index.keysByValue.get(value);
    if (!keys) return [];
    return [...keys].map((key) => this.objects.get(key) as KubeObject);
  }

  /** Stores `object` under `key` and refiles it; returns what was there before. */
  set(key: string, object: KubeObject): KubeObject | undefined {
    const old = this.objects.get(key);
    this.objects.set(key, object);
    for (const index of this.indexes.values()) {
      unfile(index, key);
      const values = [...new Set(index.valuesOf(object))];
      index.valuesByKey.set(key, values);
      for (const value of values) {
        let keys = index.keysByValue.get(value);
        if (!keys) index.keysByValue.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
    return old;
  }

  /** Removes `key`; returns the object it held. */
  delete(key: string): KubeObject | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.objects.delete(key);
    for (const index of this.indexes.values()) unfile(index, key);
    return old;
  }
}

function unfile(index: Index, key: string): void {
  for (const value of index.valuesByKey.get(key) ?? []) {
    const keys = index.keysByValue.get(value);
    keys?.delete(key);
    if (keys?.size === 0) index.keysByValue.delete(value);
  }
  index.valuesByKey.delete(key);
}
