// Builds the immutable MeshSnapshot from validated resources. Pure: same input, same output.
// Problems never abort the build; each lands in `issues` and only the affected part is dropped.
import {
  objectRef,
  parseDurationMs,
  serviceNameLabel,
  type EndpointSlice,
  type GRPCRoute,
  type HTTPRoute,
  type Resource,
  type Service,
} from "../api/index.ts";
import {
  attachmentKey,
  serviceKey,
  type MeshEndpoint,
  type MeshIssue,
  type MeshRoute,
  type MeshService,
  type MeshSnapshot,
  type RouteAttachment,
  type RouteBackend,
  type RouteRule,
} from "./model.ts";
import { grpcRouteMatches, httpRouteMatches } from "./matches.ts";
import { routeKindConflicts } from "./select.ts";

export interface BuildOptions {
  /** Cluster domain used in service host names, e.g. cluster.local. */
  readonly domain: string;
}

export function buildMeshSnapshot(resources: readonly Resource[], options: BuildOptions): MeshSnapshot {
  const issues: MeshIssue[] = [];
  const services = buildServices(resources, issues);
  const attachments = new Map<string, RouteAttachment[]>();
  for (const resource of resources) {
    if (resource.kind !== "GRPCRoute" && resource.kind !== "HTTPRoute") continue;
    const route = toMeshRoute(resource, services, issues);
    for (const attachment of resolveParents(resource, route, services, issues)) {
      const key = attachmentKey(attachment.serviceNamespace, attachment.serviceName, attachment.port);
      attachments.set(key, [...(attachments.get(key) ?? []), attachment]);
    }
  }
  issues.push(...routeKindConflicts({ attachments }), ...proxylessLimitations(resources));
  return { domain: options.domain, services, attachments, issues };
}

function buildServices(resources: readonly Resource[], issues: MeshIssue[]): Map<string, MeshService> {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const resource of resources) {
    if (resource.kind !== "EndpointSlice") continue;
    const owner = serviceKey(
      resource.metadata.namespace ?? "default",
      resource.metadata.labels?.[serviceNameLabel] ?? "",
    );
    slicesByService.set(owner, [...(slicesByService.get(owner) ?? []), resource]);
  }
  const services = new Map<string, MeshService>();
  for (const resource of resources) {
    if (resource.kind !== "Service") continue;
    const key = serviceKey(resource.metadata.namespace ?? "default", resource.metadata.name);
    services.set(key, toMeshService(resource, slicesByService.get(key) ?? [], issues));
  }
  return services;
}

function toMeshService(service: Service, slices: readonly EndpointSlice[], issues: MeshIssue[]): MeshService {
  const namespace = service.metadata.namespace ?? "default";
  return {
    namespace,
    name: service.metadata.name,
    clusterIP:
      service.spec.clusterIP && service.spec.clusterIP !== "None" ? service.spec.clusterIP : undefined,
    ports: service.spec.ports.map((port) => ({
      name: port.name,
      port: port.port,
      appProtocol: port.appProtocol,
      endpoints: slices.flatMap((slice) => sliceEndpoints(slice, port.name, issues)),
      policy: undefined,
    })),
    policy: undefined,
  };
}

/**
 * Endpoints of one Service port in one slice. As in Kubernetes, a slice port belongs to the
 * Service port with the same name (both unnamed for single-port Services).
 */
function sliceEndpoints(
  slice: EndpointSlice,
  portName: string | undefined,
  issues: MeshIssue[],
): MeshEndpoint[] {
  const slicePort = (slice.ports ?? []).find((p) => (p.name ?? "") === (portName ?? ""));
  if (slicePort?.port === undefined) return [];
  if (slice.addressType === "FQDN") {
    issues.push({
      object: objectRef("EndpointSlice", slice.metadata),
      field: "addressType",
      reason: "UnsupportedValue",
      message: "FQDN endpoints are skipped: xDS endpoints for gRPC clients must be IP addresses",
    });
    return [];
  }
  return slice.endpoints.flatMap((endpoint) =>
    endpoint.addresses.map((address) => ({
      address,
      port: slicePort.port as number,
      zone: endpoint.zone ?? "",
      // discovery/v1: a nil ready condition means ready.
      ready: endpoint.conditions?.ready ?? true,
    })),
  );
}

function toMeshRoute(
  route: GRPCRoute | HTTPRoute,
  services: Map<string, MeshService>,
  issues: MeshIssue[],
): MeshRoute {
  const namespace = route.metadata.namespace ?? "default";
  const ref = objectRef(route.kind, route.metadata);
  const rules: RouteRule[] = (route.spec.rules ?? [{}]).map((rule, index) => {
    const field = `spec.rules[${index}]`;
    const backends = (rule.backendRefs ?? []).map((backend, b) =>
      resolveBackend(backend, namespace, services, `${field}.backendRefs[${b}]`, ref, issues),
    );
    const timeouts = "timeouts" in rule ? rule.timeouts : undefined;
    return {
      index,
      name: rule.name,
      matches:
        route.kind === "GRPCRoute"
          ? grpcRouteMatches(route.spec.rules?.[index])
          : httpRouteMatches(route.spec.rules?.[index]),
      backends,
      requestTimeoutMs: timeouts?.request === undefined ? undefined : parseDurationMs(timeouts.request),
      backendRequestTimeoutMs: undefined,
      filters: [],
      retry: undefined,
    };
  });
  return {
    kind: route.kind,
    namespace,
    name: route.metadata.name,
    creationTimestamp: route.metadata.creationTimestamp ?? "",
    rules,
  };
}

function resolveBackend(
  backend: {
    group?: string;
    kind?: string;
    name: string;
    namespace?: string;
    port?: number;
    weight?: number;
  },
  routeNamespace: string,
  services: Map<string, MeshService>,
  field: string,
  ref: string,
  issues: MeshIssue[],
): RouteBackend {
  const namespace = backend.namespace ?? routeNamespace;
  const weight = backend.weight ?? 1;
  const port = backend.port ?? 0;
  const invalid = (reason: string, message: string): RouteBackend => {
    issues.push({ object: ref, field, reason, message });
    return { namespace, name: backend.name, port, weight, invalid: message };
  };
  if ((backend.group ?? "") !== "" || (backend.kind ?? "Service") !== "Service") {
    return invalid(
      "InvalidKind",
      `backend kind ${backend.group ?? ""}/${backend.kind} is not supported; use a Service`,
    );
  }
  const service = services.get(serviceKey(namespace, backend.name));
  if (!service) return invalid("BackendNotFound", `Service ${namespace}/${backend.name} does not exist`);
  if (backend.port === undefined) {
    return invalid("UnsupportedValue", "port is required when the backend is a Service");
  }
  if (!service.ports.some((p) => p.port === backend.port)) {
    return invalid("BackendNotFound", `Service ${namespace}/${backend.name} has no port ${backend.port}`);
  }
  return { namespace, name: backend.name, port, weight, invalid: undefined };
}

/** Binds a route to each Service port its parentRefs select (GEP-1294). */
function resolveParents(
  route: GRPCRoute | HTTPRoute,
  meshRoute: MeshRoute,
  services: Map<string, MeshService>,
  issues: MeshIssue[],
): RouteAttachment[] {
  const attachments: RouteAttachment[] = [];
  route.spec.parentRefs.forEach((parent, i) => {
    const namespace = parent.namespace ?? meshRoute.namespace;
    const service = services.get(serviceKey(namespace, parent.name));
    const issue = (message: string) =>
      issues.push({
        object: objectRef(route.kind, route.metadata),
        field: `spec.parentRefs[${i}]`,
        reason: "NoMatchingParent",
        message,
      });
    if (!service) return issue(`parent Service ${namespace}/${parent.name} does not exist`);
    const ports = service.ports.filter(
      (p) =>
        (parent.port === undefined || p.port === parent.port) &&
        (parent.sectionName === undefined || p.name === parent.sectionName),
    );
    if (ports.length === 0) {
      return issue(`parent Service ${namespace}/${parent.name} has no port matching port/sectionName`);
    }
    for (const port of ports) {
      attachments.push({
        route: meshRoute,
        serviceNamespace: namespace,
        serviceName: parent.name,
        port: port.port,
      });
    }
  });
  return attachments;
}

/**
 * HTTPRoute matches that can never select a call from a proxyless gRPC client. They are valid
 * Gateway API and kept for data planes that support them, but the user must hear about it.
 */
function proxylessLimitations(resources: readonly Resource[]): MeshIssue[] {
  const issues: MeshIssue[] = [];
  for (const route of resources) {
    if (route.kind !== "HTTPRoute") continue;
    route.spec.rules?.forEach((rule, r) =>
      rule.matches?.forEach((match, m) => {
        const field = `spec.rules[${r}].matches[${m}]`;
        const report = (suffix: string, message: string) =>
          issues.push({
            object: objectRef("HTTPRoute", route.metadata),
            field: `${field}.${suffix}`,
            reason: "UnsupportedValue",
            message,
          });
        if (match.method !== undefined && match.method !== "POST") {
          report("method", `never matches proxyless gRPC callers: every gRPC call is a POST`);
        }
        if (match.queryParams?.length) {
          report("queryParams", "query parameter matches never match proxyless gRPC callers (gRFC A28)");
        }
      }),
    );
  }
  return issues;
}
