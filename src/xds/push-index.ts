// Which subscriptions a published change must visit: an index from (type, resource name) to the
// subscriptions that asked for the name, and from (type, profile group) to the wildcard
// subscriptions, kept as subscriptions change, so a change held by 1 % of the proxies visits about
// 1 % of the streams and a publish never walks every stream.
//
// Name sets are interned: every subscription of a type that asks for exactly the same names shares
// one NameSet (the names, their sorted list, and a digest that keys resolved sets in the cache), so
// the index grows with distinct sets, not with streams, and a stream keeps no copy of the names it
// asked for. Proxies of one workload ask for the same names, so they share one set.
import { createHash } from "node:crypto";
import type { Invalidation } from "./cache.ts";
import type { TypeUrl } from "./resource-types.ts";

/** Exactly these names of one type, shared by every subscription asking for them. */
export class NameSet<M> {
  readonly typeUrl: TypeUrl;
  /** Digest of the names: keys resolved sets in the cache and finds this set again. */
  readonly key: string;
  readonly names: ReadonlySet<string>;
  /** The names, sorted. */
  readonly list: readonly string[];
  readonly members = new Set<M>();

  constructor(typeUrl: TypeUrl, key: string, list: readonly string[]) {
    this.typeUrl = typeUrl;
    this.key = key;
    this.list = list;
    this.names = new Set(list);
  }
}

/**
 * The digest of a name set: costs the same to keep for ten names or a hundred thousand. Each name
 * is length-prefixed, so a name containing the separator cannot pass for two names (and share
 * another set's resolved resources).
 */
export function nameSetKey(sorted: readonly string[]): string {
  const hash = createHash("sha256");
  for (const name of sorted) hash.update(`${name.length}:`).update(name);
  return hash.digest("base64url");
}

/** Subscriptions of one type that asked for one name, through the name sets containing it. */
interface NameEntry<M> {
  /** The one copy of the name every set containing it holds. */
  readonly name: string;
  readonly sets: Set<NameSet<M>>;
}

interface TypeIndex<M> {
  readonly sets: Map<string, NameSet<M>>;
  readonly byName: Map<string, NameEntry<M>>;
  /** Wildcard subscriptions by profile group; "" holds those whose group was not known. */
  readonly wildcards: Map<string, Set<M>>;
}

export class PushIndex<M> {
  private readonly types = new Map<TypeUrl, TypeIndex<M>>();

  /**
   * Moves `member` from `from` to the set of exactly `names`, creating it if no
   * subscription has it yet; returns that set. The set's names are the index's copies, so the
   * caller's strings are not kept.
   */
  join(member: M, typeUrl: TypeUrl, names: ReadonlySet<string>, from: NameSet<M> | undefined): NameSet<M> {
    const index = this.typeIndex(typeUrl);
    const sorted = [...names].sort();
    const key = nameSetKey(sorted);
    let set = index.sets.get(key);
    if (set === from && set) return set;
    if (!set) {
      const canonical = sorted.map((name) => index.byName.get(name)?.name ?? name);
      set = new NameSet<M>(typeUrl, key, canonical);
      index.sets.set(key, set);
      for (const name of canonical) {
        let entry = index.byName.get(name);
        if (!entry) {
          entry = { name, sets: new Set() };
          index.byName.set(name, entry);
        }
        entry.sets.add(set);
      }
    }
    set.members.add(member);
    if (from) this.leave(member, from);
    return set;
  }

  /** `member` no longer asks for `set`'s names; the last member out drops the set. */
  leave(member: M, set: NameSet<M>): void {
    if (!set.members.delete(member) || set.members.size > 0) return;
    const index = this.typeIndex(set.typeUrl);
    if (index.sets.get(set.key) !== set) return;
    index.sets.delete(set.key);
    for (const name of set.list) {
      const entry = index.byName.get(name);
      if (!entry) continue;
      entry.sets.delete(set);
      if (entry.sets.size === 0) index.byName.delete(name);
    }
  }

  /** Adds (or with `on` false, removes) `member` among the wildcard subscribers of `group`. */
  wildcard(member: M, typeUrl: TypeUrl, group: string | undefined, on: boolean): void {
    const { wildcards } = this.typeIndex(typeUrl);
    const key = group ?? "";
    let members = wildcards.get(key);
    if (on) {
      if (!members) wildcards.set(key, (members = new Set()));
      members.add(member);
    } else if (members?.delete(member) && members.size === 0) {
      wildcards.delete(key);
    }
  }

  /**
   * Calls `visit` once for each subscription `invalidation` concerns: those that asked for an
   * invalidated name, and the wildcard subscribers of a group whose wildcard set changed.
   * Costs the subscriptions visited, not the subscriptions there are.
   */
  visit(invalidation: Invalidation, visit: (member: M) => void): void {
    for (const [typeUrl, index] of this.types) {
      const sets = new Set<NameSet<M>>();
      if (invalidation.everyNamed.has(typeUrl)) {
        for (const set of index.sets.values()) sets.add(set);
      } else {
        for (const name of invalidation.names.get(typeUrl) ?? []) {
          for (const set of index.byName.get(name)?.sets ?? []) sets.add(set);
        }
      }
      for (const set of sets) for (const member of set.members) visit(member);
      const groups = invalidation.wildcardGroups.get(typeUrl);
      for (const group of groups ?? []) for (const member of index.wildcards.get(group) ?? []) visit(member);
      // Of an unknown group: visited on every change of the type.
      if (groups || invalidation.names.has(typeUrl)) {
        for (const member of index.wildcards.get("") ?? []) visit(member);
      }
    }
  }

  private typeIndex(typeUrl: TypeUrl): TypeIndex<M> {
    let index = this.types.get(typeUrl);
    if (!index) {
      index = { sets: new Map(), byName: new Map(), wildcards: new Map() };
      this.types.set(typeUrl, index);
    }
    return index;
  }
}
