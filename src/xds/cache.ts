// Resolves what a proxy asked for against the current config snapshot. Generated resources are
// memoized per resource and shared by every proxy with the same profile (for most types: every
// proxy). A new snapshot drops only the entries its change set can affect, and a resource is
// serialised only when regenerated; equal bytes keep their shared Any encoding.
import { createHash } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import type { MeshplaneMetrics } from "../telemetry/index.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "../translate/index.ts";
import { profileKey } from "../translate/index.ts";
import { typeShortName, type TypeUrl } from "./resource-types.ts";
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

/** Per type and profile group: resources by name (null: known not to exist), and the wildcard list. */
interface TypeMemo {
  /** Which data plane the group's resources are for: names mean different things per flavour. */
  readonly flavour: ProxyProfile["flavour"];
  readonly resources: Map<string, EncodedResource | null>;
  wildcard: readonly string[] | undefined;
  /** Entries the last change invalidated: a regenerated resource with equal bytes reuses them. */
  stale: Map<string, EncodedResource>;
}

export class ResourceCache {
  private current: ConfigSnapshot | undefined;
  private readonly memos = new Map<string, TypeMemo>();
  private versions = new Map<string, ResolvedResources>();
  private readonly metrics: MeshplaneMetrics;

  constructor(options: { metrics: MeshplaneMetrics }) {
    this.metrics = options.metrics;
  }

  get snapshot(): ConfigSnapshot | undefined {
    return this.current;
  }

  setSnapshot(snapshot: ConfigSnapshot): void {
    const isAffected = snapshot.isAffected?.bind(snapshot);
    this.current = snapshot;
    this.versions = new Map();
    for (const [key, memo] of this.memos) {
      const typeUrl = key.slice(0, key.indexOf("\t"));
      if (!isAffected) {
        this.memos.delete(key);
        continue;
      }
      if (memo.wildcard && isAffected(typeUrl, "*", memo.flavour)) memo.wildcard = undefined;
      memo.stale = new Map();
      for (const [name, resource] of memo.resources) {
        if (!isAffected(typeUrl, name, memo.flavour)) continue;
        memo.resources.delete(name);
        if (resource) memo.stale.set(name, resource);
      }
    }
  }

  /**
   * The resources `request` selects for a proxy. `requestKey` identifies the request's name set
   * (callers keep it with the subscription so it is not rebuilt per push).
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
    const versionKey = `${typeUrl}\t${group}\t${request.wildcard ? "*" : requestKey}`;
    const known = this.versions.get(versionKey);
    if (known) return known;
    const memo = this.memo(typeUrl, group, profile.flavour);
    const names = request.wildcard ? this.wildcardNames(memo, snapshot, profile, typeUrl) : request.names;
    const missing = names.filter((name) => !memo.resources.has(name));
    if (missing.length > 0) {
      for (const name of missing) memo.resources.set(name, null);
      for (const resource of snapshot.generate(profile, typeUrl, { wildcard: false, names: missing })) {
        memo.resources.set(resource.name, this.encode(typeUrl, resource, memo));
      }
    }
    const resources = names.flatMap((name) => memo.resources.get(name) ?? []).sort(byName);
    const resolved = { version: setVersion(resources), resources };
    this.versions.set(versionKey, resolved);
    return resolved;
  }

  private memo(typeUrl: string, group: string, flavour: ProxyProfile["flavour"]): TypeMemo {
    const key = `${typeUrl}\t${group}`;
    let memo = this.memos.get(key);
    if (!memo) {
      memo = { flavour, resources: new Map(), wildcard: undefined, stale: new Map() };
      this.memos.set(key, memo);
    }
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
        if (!memo.resources.get(resource.name))
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
