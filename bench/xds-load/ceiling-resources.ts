// The ceiling server's resources: built once, in-process, from the same synthetic mesh with
// meshplane's own pure pipeline (validateResource → buildMeshSnapshot → generateResources), and
// encoded once with @bufbuild/protobuf into a ready-to-splice Any that the hand-written envelopes
// of src/xds/wire.ts wrap into SotW and delta responses, as meshplane does.
import { createHash } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { validateResource, type Resource } from "../../src/api/index.ts";
import type { Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { buildMeshSnapshot, type MeshSnapshot } from "../../src/mesh/index.ts";
import { generateResources, type GeneratedResource, type ProxyProfile } from "../../src/translate/index.ts";
import { TypeUrl } from "../../src/xds/resource-types.ts";
import { encodeAny, encodeDeltaResource } from "../../src/xds/wire.ts";
import { watchSpec, type Change } from "./changes.ts";
import { domain, type MeshPlan } from "./mesh-plan.ts";

export interface Prebuilt {
  readonly name: string;
  readonly version: string;
  /** google.protobuf.Any */
  readonly any: Uint8Array;
  /** The delta Resource wrapper (name, version, Any), encoded once like meshplane does. */
  readonly deltaResource: Uint8Array;
}

const profile: ProxyProfile = { flavour: "grpc", instanceIps: [], namespace: "default" };

export class CeilingResources {
  readonly byType = new Map<string, Map<string, Prebuilt>>();
  encodes = 0;
  private readonly plan: MeshPlan;
  private readonly objects = new Map<string, Resource>();
  private readonly pending = new Map<string, { typeUrl: string; prebuilt: Prebuilt }>();

  constructor(plan: MeshPlan) {
    this.plan = plan;
    for (const object of plan.objects()) this.put(object);
    const mesh = this.mesh();
    const listeners = this.generate(mesh, TypeUrl.Listener, { wildcard: true, names: [] });
    const routeNames = listeners.flatMap((l) => routeNameOf(l.message as Listener));
    this.store(TypeUrl.Listener, listeners);
    this.store(
      TypeUrl.RouteConfiguration,
      this.generate(mesh, TypeUrl.RouteConfiguration, { wildcard: false, names: routeNames }),
    );
    this.store(TypeUrl.Cluster, this.generate(mesh, TypeUrl.Cluster, { wildcard: true, names: [] }));
    this.store(
      TypeUrl.ClusterLoadAssignment,
      this.generate(mesh, TypeUrl.ClusterLoadAssignment, { wildcard: true, names: [] }),
    );
  }

  get(typeUrl: string, name: string): Prebuilt | undefined {
    return this.byType.get(typeUrl)?.get(name);
  }

  /** Applies a changed object and pre-encodes the one resource it changes; returns encodes made. */
  prepare(change: Change, object: Record<string, unknown>): number {
    this.put(object);
    const { typeUrl, name } = watchSpec(this.plan, change, 0);
    const [resource] = this.generate(this.mesh(), typeUrl, { wildcard: false, names: [name] });
    if (!resource) throw new Error(`change to ${name} generated nothing`);
    this.pending.set(changeKey(change), { typeUrl, prebuilt: this.encode(typeUrl, resource) });
    return 1;
  }

  /** Makes a prepared change current; returns the type and resource to push. */
  commit(change: Change): { typeUrl: string; prebuilt: Prebuilt } {
    const key = changeKey(change);
    const pending = this.pending.get(key);
    if (!pending) throw new Error(`change ${key} was not prepared`);
    this.pending.delete(key);
    this.byType.get(pending.typeUrl)?.set(pending.prebuilt.name, pending.prebuilt);
    return pending;
  }

  private put(object: Record<string, unknown>): void {
    const result = validateResource(object);
    if (!result.ok)
      throw new Error(`invalid ${result.kind} ${result.name}: ${JSON.stringify(result.errors)}`);
    const { kind, metadata } = result.resource;
    this.objects.set(`${kind}/${metadata.namespace ?? "default"}/${metadata.name}`, result.resource);
  }

  private mesh(): MeshSnapshot {
    return buildMeshSnapshot([...this.objects.values()], { domain });
  }

  private generate(mesh: MeshSnapshot, typeUrl: string, request: { wildcard: boolean; names: string[] }) {
    return generateResources(mesh, profile, typeUrl, request);
  }

  private store(typeUrl: string, resources: readonly GeneratedResource[]): void {
    const map = new Map<string, Prebuilt>();
    for (const resource of resources) map.set(resource.name, this.encode(typeUrl, resource));
    this.byType.set(typeUrl, map);
  }

  private encode(typeUrl: string, resource: GeneratedResource): Prebuilt {
    this.encodes++;
    const bytes = toBinary(resource.schema, resource.message);
    const version = createHash("sha256").update(bytes).digest("base64url").slice(0, 16);
    const any = encodeAny(typeUrl, bytes);
    return {
      name: resource.name,
      version,
      any,
      deltaResource: encodeDeltaResource(resource.name, version, any),
    };
  }
}

function changeKey(change: Change): string {
  return `${change.kind}/${change.service}/${change.generation}`;
}

function routeNameOf(listener: Listener): string[] {
  const packed = listener.apiListener?.apiListener;
  const manager = packed ? anyUnpack(packed, HttpConnectionManagerSchema) : undefined;
  return manager?.routeSpecifier.case === "rds" ? [manager.routeSpecifier.value.routeConfigName] : [];
}
