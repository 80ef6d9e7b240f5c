// Test-only builders for mesh snapshots, for inputs the YAML builder cannot express yet (filters,
// retries, traffic policies) and for tests that want one feature at a time.
import {
  openPortSecurity,
  type JwtRule,
  type PortSecurity,
  attachmentKey,
  serviceKey,
  type MeshEndpoint,
  type MeshRoute,
  type MeshService,
  type MeshServicePort,
  type MeshSnapshot,
  type RouteAttachment,
  type RouteBackend,
  type RouteKind,
  type RouteMatch,
  type RouteRule,
  type ServicePolicy,
} from "../../mesh/index.ts";
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { generateResources } from "../generator.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ProxyProfile } from "../types.ts";
import { envoyRegistry } from "./registry.ts";

export const domain = "cluster.local";

export function envoyProfile(namespace: string, instanceIps: readonly string[] = []): ProxyProfile {
  return { flavour: "envoy", namespace, instanceIps };
}

export function endpoint(address: string, port: number, zone = "zone-a", ready = true): MeshEndpoint {
  return { address, port, zone, ready };
}

export function servicePort(
  port: number,
  options: Partial<Omit<MeshServicePort, "port">> = {},
): MeshServicePort {
  return {
    name: options.name,
    port,
    appProtocol: options.appProtocol,
    endpoints: options.endpoints ?? [],
    slices: options.slices ?? [],
    policy: options.policy,
    security: options.security ?? openPortSecurity,
  };
}

export function service(
  namespace: string,
  name: string,
  options: {
    clusterIP?: string;
    ports: MeshServicePort[];
    policy?: ServicePolicy;
    serviceAccounts?: string[];
  },
): MeshService {
  return {
    namespace,
    name,
    clusterIP: options.clusterIP,
    ports: options.ports,
    policy: options.policy,
    serviceAccounts: options.serviceAccounts ?? [name],
  };
}

/** A port's security: the mesh default (PERMISSIVE, nothing else) with `fields` over it. */
export function portSecurity(fields: Partial<PortSecurity>): PortSecurity {
  return { ...openPortSecurity, ...fields };
}

/** A JWT rule for issuer `https://issuer.example`, with inline keys unless `fields` say otherwise. */
export function jwtRule(fields: Partial<JwtRule> = {}): JwtRule {
  return {
    source: "RequestAuthentication shop/jwt",
    issuer: "https://issuer.example",
    audiences: [],
    jwksUri: undefined,
    jwks: '{"keys":[]}',
    locations: [],
    forwardOriginalToken: false,
    ...fields,
  };
}

export function policy(fields: Partial<ServicePolicy>): ServicePolicy {
  return {
    source: "TrafficPolicy test/policy",
    loadBalancer: undefined,
    ringHash: undefined,
    hashPolicies: [],
    locality: undefined,
    circuitBreaker: undefined,
    outlierDetection: undefined,
    connectTimeoutMs: undefined,
    retry: undefined,
    ...fields,
  };
}

export function backend(
  namespace: string,
  name: string,
  port: number,
  weight = 1,
  invalid?: string,
): RouteBackend {
  return { namespace, name, port, weight, invalid };
}

/** A match; PathPrefix `/` unless told otherwise. */
export function match(fields: Partial<RouteMatch> = {}): RouteMatch {
  return {
    path: { type: "Prefix", value: "/" },
    headers: [],
    method: undefined,
    queryParams: [],
    grpc: undefined,
    ...fields,
  };
}

export function rule(fields: Partial<RouteRule> = {}): RouteRule {
  return {
    index: 0,
    name: undefined,
    matches: [match()],
    backends: [],
    requestTimeoutMs: undefined,
    backendRequestTimeoutMs: undefined,
    filters: [],
    retry: undefined,
    ...fields,
  };
}

export function route(
  kind: RouteKind,
  namespace: string,
  name: string,
  rules: RouteRule[],
  creationTimestamp = "2026-01-01T00:00:00Z",
): MeshRoute {
  return { kind, namespace, name, creationTimestamp, rules: rules.map((r, index) => ({ ...r, index })) };
}

/** A route bound to a Service port, as a parentRef would bind it. */
export function attach(route: MeshRoute, parent: MeshService, port: number): RouteAttachment {
  return { route, serviceNamespace: parent.namespace, serviceName: parent.name, port };
}

export function meshOf(services: MeshService[], attachments: RouteAttachment[] = []): MeshSnapshot {
  const byKey = new Map<string, RouteAttachment[]>();
  for (const a of attachments) {
    const key = attachmentKey(a.serviceNamespace, a.serviceName, a.port);
    byKey.set(key, [...(byKey.get(key) ?? []), a]);
  }
  return {
    domain,
    services: new Map(services.map((s) => [serviceKey(s.namespace, s.name), s])),
    attachments: byKey,
    issues: [],
    trustDomain: "cluster.local",
    meshSecurity: openPortSecurity,
  };
}

/**
 * What a sidecar holds after subscribing as Envoy does: LDS and CDS wildcard, RDS for the names the
 * listeners use, EDS for the EDS clusters, SDS for the secrets their TLS contexts name.
 */
export function sidecarView({
  mesh,
  profile,
}: {
  mesh: MeshSnapshot;
  profile: ProxyProfile;
}): Record<string, GeneratedResource[]> {
  const fetch = (schema: Parameters<typeof typeUrlOf>[0], names?: Iterable<string>) =>
    generateResources(
      mesh,
      profile,
      typeUrlOf(schema),
      names ? { wildcard: false, names: [...new Set(names)].sort() } : { wildcard: true, names: [] },
    );
  const listeners = fetch(ListenerSchema);
  const clusters = fetch(ClusterSchema);
  return {
    "lds.json": listeners,
    "rds.json": fetch(
      RouteConfigurationSchema,
      listeners.flatMap((l) => rdsNames(l.message as Listener)),
    ),
    "cds.json": clusters,
    "eds.json": fetch(
      ClusterLoadAssignmentSchema,
      clusters.flatMap((c) => {
        const cluster = c.message as Cluster;
        return cluster.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS
          ? [cluster.edsClusterConfig?.serviceName || c.name]
          : [];
      }),
    ),
    "sds.json": fetch(SecretSchema, sdsNames([...listeners, ...clusters])),
  };
}

/** The SDS secrets TLS contexts name: every `{name, sdsConfig}` in the resources' JSON. */
function sdsNames(resources: readonly GeneratedResource[]): string[] {
  const names: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record.name === "string" && record.sdsConfig !== undefined) names.push(record.name);
      Object.values(record).forEach(walk);
    }
  };
  for (const r of resources) walk(toJson(r.schema, r.message, { registry: envoyRegistry }));
  return names;
}

function rdsNames(listener: Listener): string[] {
  return listener.filterChains.flatMap((chain) =>
    chain.filters.flatMap((filter) => {
      const packed = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
      if (packed?.typeUrl !== typeUrlOf(HttpConnectionManagerSchema)) return [];
      const manager = anyUnpack(packed, HttpConnectionManagerSchema);
      return manager?.routeSpecifier.case === "rds" ? [manager.routeSpecifier.value.routeConfigName] : [];
    }),
  );
}

/** Resources as the golden files hold them: the protos' JSON, with Any unpacked. */
export function asJson(resources: readonly GeneratedResource[]): string {
  const json = resources.map((r) => toJson(r.schema, r.message, { registry: envoyRegistry }));
  return `${JSON.stringify(json, null, 2)}\n`;
}
