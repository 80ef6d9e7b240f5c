// Resolves what a proxy asked for against the current config snapshot, and encodes each resource
// content once: equal content (same type, name and bytes) is shared by every proxy and survives
// snapshot changes, so a change costs encodes only for what it changed.
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

export class ResourceCache {
  private current: ConfigSnapshot | undefined;
  private responses = new Map<string, ResolvedResources>();
  private encoded = new Map<string, EncodedResource>();
  private encodedInUse = new Map<string, EncodedResource>();
  private readonly metrics: MeshplaneMetrics;

  constructor(options: { metrics: MeshplaneMetrics }) {
    this.metrics = options.metrics;
  }

  get snapshot(): ConfigSnapshot | undefined {
    return this.current;
  }

  setSnapshot(snapshot: ConfigSnapshot): void {
    this.current = snapshot;
    this.responses = new Map();
    // Keep encodings of the previous snapshot for reuse; drop anything older.
    this.encoded = this.encodedInUse;
    this.encodedInUse = new Map();
  }

  resolve(profile: ProxyProfile, typeUrl: TypeUrl, request: ResourceRequest): ResolvedResources {
    if (!this.current) return { version: "", resources: [] };
    const names = request.wildcard ? "*" : [...request.names].sort().join("\n");
    const key = `${profileKey(profile)}\t${typeUrl}\t${names}`;
    let resolved = this.responses.get(key);
    if (!resolved) {
      const generated = this.current.generate(profile, typeUrl, request);
      const resources = generated.map((resource) => this.encode(typeUrl, resource)).sort(byName);
      resolved = { version: setVersion(resources), resources };
      this.responses.set(key, resolved);
    }
    return resolved;
  }

  private encode(typeUrl: TypeUrl, resource: GeneratedResource): EncodedResource {
    const bytes = toBinary(resource.schema, resource.message);
    const hash = createHash("sha256").update(bytes).digest("base64url").slice(0, 16);
    const key = `${typeUrl}\t${resource.name}\t${hash}`;
    const existing = this.encodedInUse.get(key) ?? this.encoded.get(key);
    if (existing) {
      this.encodedInUse.set(key, existing);
      return existing;
    }
    this.metrics.resourceEncodes.inc({ type: typeShortName[typeUrl] });
    const encoded: EncodedResource = {
      name: resource.name,
      hash,
      any: encodeAny(typeUrl, bytes),
      source: resource,
    };
    this.encodedInUse.set(key, encoded);
    return encoded;
  }
}

function byName(a: EncodedResource, b: EncodedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function setVersion(resources: readonly EncodedResource[]): string {
  const hash = createHash("sha256");
  for (const resource of resources)
    hash.update(resource.name).update("\0").update(resource.hash).update("\n");
  return hash.digest("base64url").slice(0, 12);
}
