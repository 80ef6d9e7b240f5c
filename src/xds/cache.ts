// Resolves what a proxy asked for against the current config snapshot. Generated resources are
// memoized per resource and shared by every proxy with the same profile (for most types: every
// proxy). A new snapshot drops only the entries its change set can affect, and a resource is
// serialised only when regenerated; equal bytes keep their shared Any encoding. What proxies ask
// for is untrusted: names that do not exist and distinct name sets are remembered only up to
// fixed bounds, and a profile's own memos go with its last proxy.
import { createHash } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import type { MeshplaneMetrics } from "../telemetry/index.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "../translate/index.ts";
import { profileKey } from "../translate/index.ts";
import { typeShortName, type TypeUrl } from "./resource-types.ts";
import { LruMap } from "./lru.ts";
import { encodeAny } from "./wire.ts";

/** An immutable view of the configuration that can produce resources for any proxy. */
export interface ConfigSnapshot {
  /** Increases with every change. */
  readonly version: number;
  generate(profile: ProxyProfile, typeUrl: string, request: ResourceRequest): GeneratedResource[];
  /** Whether resources of this type depend on the proxy profile (else all proxies share them). */
  isProfileDependent(typeUrl: string, profile: ProxyProfile): boolean;
  /**
   * Whether resource `name` (or "*", the wildcard name list) may differ from the previous
   * snapshot. Absent: everything may differ.
   */
  isAffected?(typeUrl: string, name: string, flavour: ProxyProfile["flavour"]): boolean;
  /**
   * The configuration objects (`Kind namespace/name`) resource `name` is built from for a proxy
   * with `profile`, so a proxy's rejection can be reported on them; `error`, the proxy's text
   * about the resource, may narrow them down. Absent: unknown.
   */
  sources?(typeUrl: string, name: string, profile: ProxyProfile, error?: string): readonly string[];
}

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
  readonly resources: Map<string, EncodedResource>;
  /** Names generated and found not to exist; the least recently asked are forgotten first. */
  readonly absent: LruMap<string, true>;
  wildcard: readonly string[] | undefined;
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

export interface ResourceCacheOptions {
  readonly metrics: MeshplaneMetrics;
  /** Names known not to exist remembered per type and group (limit `xds.unknownNames`). */
  readonly unknownNames: number;
}

export class ResourceCache {
  private current: ConfigSnapshot | undefined;
  /** Memos by group (a flavour, or a profile key for profile-dependent types), then type. */
  private readonly groups = new Map<string, Map<TypeUrl, TypeMemo>>();
  /** Attached proxies per profile key: a profile group's memos live while one is attached. */
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

  setSnapshot(snapshot: ConfigSnapshot): void {
    const isAffected = snapshot.isAffected?.bind(snapshot);
    this.current = snapshot;
    for (const types of this.groups.values()) {
      for (const [typeUrl, memo] of types) {
        if (!isAffected) {
          types.delete(typeUrl);
          continue;
        }
        memo.resolved.clear();
        if (memo.wildcard && isAffected(typeUrl, "*", memo.flavour)) memo.wildcard = undefined;
        memo.stale = new Map();
        for (const [name, resource] of memo.resources) {
          if (!isAffected(typeUrl, name, memo.flavour)) continue;
          memo.resources.delete(name);
          memo.stale.set(name, resource);
        }
        // A name that did not exist may now: forget that it did not.
        for (const name of memo.absent.keys())
          if (isAffected(typeUrl, name, memo.flavour)) memo.absent.delete(name);
      }
    }
  }

  /** A proxy with `profile` connected: its group's resources are kept until it detaches. */
  attach(profile: ProxyProfile): void {
    const key = profileKey(profile);
    this.attached.set(key, (this.attached.get(key) ?? 0) + 1);
  }

  /** A proxy attached with `profile` is gone; the last one out drops the group's memos. */
  detach(profile: ProxyProfile): void {
    const key = profileKey(profile);
    const count = (this.attached.get(key) ?? 0) - 1;
    if (count > 0) {
      this.attached.set(key, count);
      return;
    }
    this.attached.delete(key);
    this.groups.delete(key);
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
    const group = snapshot.isProfileDependent(typeUrl, profile) ? profileKey(profile) : profile.flavour;
    const memo = this.memo(typeUrl, group, profile.flavour);
    const key = request.wildcard ? "*" : requestKey;
    const known = memo.resolved.get(key);
    if (known) return known;
    const names = request.wildcard ? this.wildcardNames(memo, snapshot, profile, typeUrl) : request.names;
    const missing = names.filter((name) => !memo.resources.has(name) && !memo.absent.has(name));
    if (missing.length > 0) {
      for (const resource of snapshot.generate(profile, typeUrl, { wildcard: false, names: missing })) {
        memo.resources.set(resource.name, this.encode(typeUrl, resource, memo));
      }
      for (const name of missing) if (!memo.resources.has(name)) memo.absent.set(name, true);
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
      const all = snapshot.generate(profile, typeUrl, { wildcard: true, names: [] });
      for (const resource of all) {
        if (!memo.resources.has(resource.name))
          memo.resources.set(resource.name, this.encode(typeUrl, resource, memo));
      }
      memo.wildcard = all.map((r) => r.name);
    }
    return memo.wildcard;
  }

  private encode(typeUrl: TypeUrl, resource: GeneratedResource, memo: TypeMemo): EncodedResource {
    const bytes = toBinary(resource.schema, resource.message);
    this.metrics.resourceEncodes.inc({ type: typeShortName[typeUrl] });
    const hash = createHash("sha256").update(bytes).digest("base64url").slice(0, 16);
    const previous = memo.stale.get(resource.name);
    memo.stale.delete(resource.name);
    // Regenerated but unchanged: keep the shared Any bytes (and identity) of the previous version.
    if (previous?.hash === hash) return previous;
    return { name: resource.name, hash, any: encodeAny(typeUrl, bytes), source: resource };
  }
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
