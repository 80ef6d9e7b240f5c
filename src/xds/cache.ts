// Resolves what a proxy asked for against the current serving state. Generated resources are
// memoized per resource and shared by every proxy of the same profile group (for most types:
// every proxy of a flavour). Each memo entry keeps what its generator read; a new state drops
// only the entries that read a facet its change set names, and a resource is serialised only when
// regenerated; equal bytes keep their shared Any encoding. What proxies ask for is untrusted:
// names that do not exist and distinct name sets are remembered only up to fixed bounds, and a
// profile group's own memos go with its last proxy.
import { createHash } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import type {
  FacetKey,
  GeneratedResource,
  ProxyProfile,
  ResourceRequest,
  ServingState,
} from "../pipeline/index.ts";
import type { MeshplaneMetrics } from "../telemetry/index.ts";
import { pushOrder, typeShortName, type TypeUrl } from "./resource-types.ts";
import { LruMap } from "./lru.ts";
import { encodeAny } from "./wire.ts";

/** What the cache needs of a serving state (pipeline/ServingState). */
export type ConfigSnapshot = Pick<
  ServingState,
  "version" | "changes" | "profileGroup" | "names" | "generate" | "sources" | "trace"
>;

export interface EncodedResource {
  readonly name: string;
  /** Content hash of the encoded resource: its version in delta xDS and in the config dump. */
  readonly hash: string;
  /** The resource as an encoded google.protobuf.Any, ready to splice into a response. */
  readonly any: Uint8Array;
  readonly source: GeneratedResource;
}

export interface ResolvedResources {
  /** Version of this exact set of resources: equal sets give equal versions. */
  readonly version: string;
  readonly resources: readonly EncodedResource[];
}

/**
 * Per type and proxy group: the resources that exist, by name; a bounded set of names known not
 * to exist; the wildcard list; and the resolved sets last asked for. Nothing here grows with what
 * proxies ask for beyond the LRU bounds: a name that does not exist costs an LRU slot, not an entry.
 */
interface TypeMemo {
  /** Which data plane the group's resources are for: names mean different things per flavour. */
  readonly flavour: ProxyProfile["flavour"];
  /** By name; each resource's provenance says what it read. */
  readonly resources: Map<string, EncodedResource>;
  /**
   * Names generated and found not to exist, with the facets that decided it; the least recently
   * asked are forgotten first.
   */
  readonly absent: LruMap<string, ReadonlySet<FacetKey>>;
  wildcard:
    | {
        readonly names: readonly string[];
        readonly set: ReadonlySet<string>;
        readonly reads: ReadonlySet<FacetKey>;
      }
    | undefined;
  /** Names known not to exist were forgotten (the bound was reached) since the last change. */
  forgotten: boolean;
  /** Entries the last change invalidated: a regenerated resource with equal bytes reuses them. */
  stale: Map<string, EncodedResource>;
  /** Resolved sets by request key ("*" for the wildcard), shared by proxies asking the same. */
  readonly resolved: LruMap<string, ResolvedResources>;
}

/**
 * Resolved name sets remembered per type and group. Proxies of one group mostly ask for the same
 * few sets (the wildcard, the clusters of the services they call), so this keeps sharing for
 * them; sets beyond it are resolved again when next pushed, which costs time, never correctness.
 * An entry holds references to existing resources only, so the bound is also a memory bound.
 */
export const resolvedSetsPerType = 1024;

/** What a new snapshot invalidated: whose subscribers must be re-evaluated. */
export interface Invalidation {
  /** Every subscription: the first snapshot, or one without a change set. */
  readonly everything: boolean;
  /** Per type, the names whose resource (or absence) was dropped in some profile group. */
  readonly names: ReadonlyMap<TypeUrl, ReadonlySet<string>>;
  /** Per type, the profile groups whose wildcard set or one of its resources changed. */
  readonly wildcardGroups: ReadonlyMap<TypeUrl, ReadonlySet<string>>;
  /** Types whose names not known to exist were forgotten: every named subscriber is re-evaluated. */
  readonly everyNamed: ReadonlySet<TypeUrl>;
}

const nothing: Invalidation = {
  everything: false,
  names: new Map(),
  wildcardGroups: new Map(),
  everyNamed: new Set(),
};
const everything: Invalidation = { ...nothing, everything: true };

export interface ResourceCacheOptions {
  readonly metrics: MeshplaneMetrics;
  /** Names known not to exist remembered per type and group (limit `xds.unknownNames`). */
  readonly unknownNames: number;
}

export class ResourceCache {
  private current: ConfigSnapshot | undefined;
  /** Memos by profile group (a flavour, or a flavour and the proxy attributes a type reads), then type. */
  private readonly groups = new Map<string, Map<TypeUrl, TypeMemo>>();
  /** Attached proxies per profile group: a group's memos live while one is attached. */
  private readonly attached = new Map<string, number>();
  private readonly metrics: MeshplaneMetrics;
  private readonly unknownNames: number;

  constructor(options: ResourceCacheOptions) {
    this.metrics = options.metrics;
    this.unknownNames = options.unknownNames;
  }

  get snapshot(): ConfigSnapshot | undefined {
    return this.current;
  }

  /**
   * Makes `snapshot` current and drops what its change set invalidates; returns which names and
   * wildcard sets that was, for the push index to find the streams to re-evaluate.
   */
  setSnapshot(snapshot: ConfigSnapshot): Invalidation {
    const changes = snapshot.changes;
    this.current = snapshot;
    if (!changes) {
      this.groups.clear();
      return everything;
    }
    // Nothing any generator reads changed: every memoized resource and resolved set stands.
    if (changes.size === 0) return nothing;
    const names = new Map<TypeUrl, Set<string>>();
    const wildcardGroups = new Map<TypeUrl, Set<string>>();
    const everyNamed = new Set<TypeUrl>();
    const invalidated = (typeUrl: TypeUrl, name: string) => {
      let set = names.get(typeUrl);
      if (!set) names.set(typeUrl, (set = new Set()));
      set.add(name);
    };
    for (const [group, types] of this.groups) {
      for (const [typeUrl, memo] of types) {
        memo.resolved.clear();
        let wildcardChanged = false;
        if (memo.wildcard && readAny(memo.wildcard.reads, changes)) {
          wildcardChanged = true;
          memo.wildcard = undefined;
        }
        memo.stale = new Map();
        for (const [name, resource] of memo.resources) {
          if (!readAny(resource.source.provenance.reads, changes)) continue;
          memo.resources.delete(name);
          memo.stale.set(name, resource);
          invalidated(typeUrl, name);
          if (memo.wildcard?.set.has(name)) wildcardChanged = true;
        }
        // A name that did not exist may now: forget that it did not.
        for (const [name, reads] of memo.absent.items()) {
          if (!readAny(reads, changes)) continue;
          memo.absent.delete(name);
          invalidated(typeUrl, name);
          if (memo.wildcard?.set.has(name)) wildcardChanged = true;
        }
        if (wildcardChanged) {
          let groups = wildcardGroups.get(typeUrl);
          if (!groups) wildcardGroups.set(typeUrl, (groups = new Set()));
          groups.add(group);
        }
        // Names forgotten for the bound on unknown names may exist now: nobody can tell which.
        if (memo.forgotten) everyNamed.add(typeUrl);
        memo.forgotten = false;
      }
    }
    return { everything: false, names, wildcardGroups, everyNamed };
  }

  /** A proxy with `profile` connected: its groups' resources are kept until it detaches. */
  attach(profile: ProxyProfile): void {
    for (const group of this.profileGroups(profile)) {
      this.attached.set(group, (this.attached.get(group) ?? 0) + 1);
    }
  }

  /** A proxy attached with `profile` is gone; the last one out of a group drops its memos. */
  detach(profile: ProxyProfile): void {
    for (const group of this.profileGroups(profile)) {
      const count = (this.attached.get(group) ?? 0) - 1;
      if (count > 0) {
        this.attached.set(group, count);
        continue;
      }
      this.attached.delete(group);
      this.groups.delete(group);
    }
  }

  /**
   * Every memoized resource of the current state, with the type it is of: what proxies are
   * served, and through each resource's provenance, which configuration objects they come from.
   */
  *resources(): Iterable<{ readonly typeUrl: string; readonly resource: EncodedResource }> {
    for (const types of this.groups.values()) {
      for (const [typeUrl, memo] of types) {
        for (const resource of memo.resources.values()) yield { typeUrl, resource };
        // Invalidated, not yet regenerated: still what subscribed proxies hold.
        for (const [name, resource] of memo.stale) {
          if (!memo.resources.has(name) && !memo.absent.has(name)) yield { typeUrl, resource };
        }
      }
    }
  }

  /** The groups of `profile` that are its own (not shared by its whole flavour). */
  private profileGroups(profile: ProxyProfile): Set<string> {
    const snapshot = this.current;
    if (!snapshot) return new Set();
    const groups = pushOrder.map((typeUrl) => snapshot.profileGroup(typeUrl, profile));
    return new Set(groups.filter((group) => group !== profile.flavour));
  }

  /**
   * The resources `request` selects for a proxy. `requestKey` identifies the request's name set
   * (a digest; callers keep it with the subscription so it is not rebuilt per push).
   */
  resolve(
    profile: ProxyProfile,
    typeUrl: TypeUrl,
    request: ResourceRequest,
    requestKey: string,
  ): ResolvedResources {
    const snapshot = this.current;
    if (!snapshot) return { version: "", resources: [] };
    // Flavours never share: the same cluster name carries different settings for Envoy and gRPC.
    const group = snapshot.profileGroup(typeUrl, profile);
    const memo = this.memo(typeUrl, group, profile.flavour);
    const key = request.wildcard ? "*" : requestKey;
    const known = memo.resolved.get(key);
    if (known) return known;
    const names = request.wildcard ? this.wildcardNames(memo, snapshot, profile, typeUrl) : request.names;
    for (const name of names) {
      if (memo.resources.has(name) || memo.absent.has(name)) continue;
      const { resource, provenance } = snapshot.generate(profile, typeUrl, name);
      if (resource) {
        memo.resources.set(name, this.encode(typeUrl, resource, memo));
        continue;
      }
      // The least recently asked is forgotten: the next change cannot say whether it still does not exist.
      if (memo.absent.size >= memo.absent.capacity) memo.forgotten = true;
      memo.absent.set(name, provenance.reads);
    }
    const resources = names.flatMap((name) => memo.resources.get(name) ?? []).sort(byName);
    const resolved = { version: setVersion(resources), resources };
    memo.resolved.set(key, resolved);
    return resolved;
  }

  private memo(typeUrl: TypeUrl, group: string, flavour: ProxyProfile["flavour"]): TypeMemo {
    let types = this.groups.get(group);
    let memo = types?.get(typeUrl);
    if (memo) return memo;
    memo = {
      flavour,
      resources: new Map(),
      absent: new LruMap(this.unknownNames),
      wildcard: undefined,
      forgotten: false,
      stale: new Map(),
      resolved: new LruMap(resolvedSetsPerType),
    };
    // A profile group nobody is attached to is not kept: it would outlive every proxy of it.
    if (group !== flavour && !this.attached.has(group)) return memo;
    if (!types) {
      types = new Map();
      this.groups.set(group, types);
    }
    types.set(typeUrl, memo);
    return memo;
  }

  private wildcardNames(
    memo: TypeMemo,
    snapshot: ConfigSnapshot,
    profile: ProxyProfile,
    typeUrl: TypeUrl,
  ): readonly string[] {
    if (!memo.wildcard) {
      const list = snapshot.names(profile, typeUrl);
      memo.wildcard = { names: list.names, set: new Set(list.names), reads: list.provenance.reads };
    }
    return memo.wildcard.names;
  }

  private encode(typeUrl: TypeUrl, resource: GeneratedResource, memo: TypeMemo): EncodedResource {
    const trace = this.current?.trace;
    const started = trace ? performance.now() : 0;
    const bytes = toBinary(resource.schema, resource.message);
    trace?.encoded(performance.now() - started);
    this.metrics.resourceEncodes.inc({ type: typeShortName[typeUrl] });
    const hash = createHash("sha256").update(bytes).digest("base64url").slice(0, 16);
    const previous = memo.stale.get(resource.name);
    memo.stale.delete(resource.name);
    // Regenerated but unchanged: keep the shared Any bytes of the previous version, with the new
    // provenance (what the resource reads may differ even when its bytes do not).
    if (previous?.hash === hash) return { ...previous, source: resource };
    return { name: resource.name, hash, any: encodeAny(typeUrl, bytes), source: resource };
  }
}

function readAny(reads: ReadonlySet<FacetKey>, changes: ReadonlySet<FacetKey>): boolean {
  for (const key of reads) if (changes.has(key)) return true;
  return false;
}

function byName(a: EncodedResource, b: EncodedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The version of a set of resources (sorted by name): equal sets, equal versions. */
export function setVersion(resources: readonly Pick<EncodedResource, "name" | "hash">[]): string {
  const hash = createHash("sha256");
  for (const resource of resources)
    hash.update(resource.name).update("\0").update(resource.hash).update("\n");
  return hash.digest("base64url").slice(0, 12);
}
