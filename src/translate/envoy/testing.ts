// Test-only builders for mesh snapshots, for inputs the YAML builder cannot express yet (filters,
// retries, traffic policies) and for tests that want one feature at a time.
import {
  openPortSecurity,
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
import type { ProxyProfile } from "../types.ts";

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
