// Test helpers: MeshSnapshot values built directly, so translator tests state exactly the model
// they translate (policies, filters, retries) without going through resources and build.ts.
import {
  openPortSecurity,
  attachmentKey,
  serviceKey,
  type EndpointSource,
  type MeshEndpoint,
  type MeshRoute,
  type MeshService,
  type MeshServicePort,
  type MeshSnapshot,
  type MtlsMode,
  type PortSecurity,
  type RouteAttachment,
  type RouteBackend,
  type RouteMatch,
  type RouteRule,
  type ServicePolicy,
} from "../../../mesh/index.ts";

export const domain = "cluster.local";

export function endpoint(address: string, zone = "", ready = true, port = 8080): MeshEndpoint {
  return { address, port, zone, ready };
}

/** `slices` name where the endpoints come from (servers find their Service ports by them). */
export function servicePort(
  port: number,
  endpoints: readonly MeshEndpoint[] = [],
  policy?: ServicePolicy,
  options: { security?: PortSecurity; slices?: readonly EndpointSource[] } = {},
): MeshServicePort {
  return {
    name: undefined,
    port,
    appProtocol: undefined,
    endpoints,
    slices: options.slices ?? [],
    policy,
    security: options.security ?? openPortSecurity,
  };
}

/** The security of a port whose servers run `mtls`, decided by `source` (a PeerAuthentication). */
export function mtls(
  mode: MtlsMode,
  source = `PeerAuthentication default/${mode.toLowerCase()}`,
): PortSecurity {
  return { ...openPortSecurity, mtls: mode, mtlsSource: source };
}

export function service(
  name: string,
  options: {
    namespace?: string;
    ports?: readonly MeshServicePort[];
    policy?: ServicePolicy;
    serviceAccounts?: readonly string[];
  } = {},
): MeshService {
  return {
    namespace: options.namespace ?? "default",
    name,
    clusterIP: undefined,
    ports: options.ports ?? [servicePort(50051)],
    serviceAccounts: options.serviceAccounts ?? [name],
    policy: options.policy,
  };
}

/** A TrafficPolicy with nothing set but `fields`. */
export function policy(fields: Partial<ServicePolicy> = {}): ServicePolicy {
  return {
    source: "TrafficPolicy default/test",
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

export function backend(name: string, port = 50051, weight = 1, namespace = "default"): RouteBackend {
  return { namespace, name, port, weight, invalid: undefined };
}

export const prefixMatch = (value = "/"): RouteMatch => ({
  path: { type: "Prefix", value },
  headers: [],
  method: undefined,
  queryParams: [],
  grpc: undefined,
});

export function rule(fields: Partial<RouteRule> = {}): RouteRule {
  return {
    index: 0,
    name: undefined,
    matches: [prefixMatch()],
    backends: [],
    requestTimeoutMs: undefined,
    backendRequestTimeoutMs: undefined,
    filters: [],
    retry: undefined,
    ...fields,
  };
}

export function route(rules: readonly RouteRule[], name = "r", namespace = "default"): MeshRoute {
  return { kind: "GRPCRoute", namespace, name, creationTimestamp: "2024-01-01T00:00:00Z", rules };
}

/** A snapshot of `services` with each route attached to the `parent` Service port it names. */
export function mesh(
  services: readonly MeshService[],
  routes: readonly { route: MeshRoute; parent: string; port?: number; namespace?: string }[] = [],
): MeshSnapshot {
  const attachments = new Map<string, RouteAttachment[]>();
  for (const { route, parent, port = 50051, namespace = "default" } of routes) {
    const key = attachmentKey(namespace, parent, port);
    attachments.set(key, [
      ...(attachments.get(key) ?? []),
      { route, serviceNamespace: namespace, serviceName: parent, port },
    ]);
  }
  return {
    domain,
    services: new Map(services.map((s) => [serviceKey(s.namespace, s.name), s])),
    attachments,
    issues: [],
    trustDomain: "cluster.local",
    meshSecurity: openPortSecurity,
  };
}
