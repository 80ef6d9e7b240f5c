// Services with their endpoints: each Service port collects the matching ports of the Service's
// EndpointSlices (the kubernetes.io/service-name label ties a slice to its Service).
import {
  objectRef,
  serviceNameLabel,
  type EndpointSlice,
  type Resource,
  type Service,
} from "../api/index.ts";
import {
  serviceKey,
  type EndpointSource,
  type MeshEndpoint,
  type MeshIssue,
  type MeshService,
} from "./model.ts";
import { openPortSecurity, serviceAccountsAnnotation } from "./security-model.ts";

/** Services keyed by `namespace/name`, without policies (policies.ts attaches them). */
export function buildServices(resources: readonly Resource[], issues: MeshIssue[]): Map<string, MeshService> {
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
      slices: slices.filter((slice) => slicePort(slice, port.name)).map(endpointSource),
      policy: undefined,
      security: openPortSecurity,
    })),
    policy: undefined,
    serviceAccounts: serviceAccounts(service),
  };
}

/** The annotation's accounts (comma-separated), else the Service's own name. */
function serviceAccounts(service: Service): string[] {
  const listed = (service.metadata.annotations?.[serviceAccountsAnnotation] ?? "")
    .split(",")
    .map((account) => account.trim())
    .filter((account) => account !== "");
  return listed.length > 0 ? [...new Set(listed)].sort() : [service.metadata.name];
}

/**
 * The slice's port for a Service port. As in Kubernetes, a slice port belongs to the Service port
 * with the same name (both unnamed for single-port Services).
 */
function slicePort(slice: EndpointSlice, portName: string | undefined) {
  return (slice.ports ?? []).find((p) => (p.name ?? "") === (portName ?? ""));
}

function endpointSource(slice: EndpointSlice): EndpointSource {
  return {
    object: objectRef("EndpointSlice", {
      ...slice.metadata,
      namespace: slice.metadata.namespace ?? "default",
    }),
    addresses: slice.endpoints.flatMap((endpoint) => endpoint.addresses),
  };
}

/** Endpoints of one Service port in one slice. */
function sliceEndpoints(
  slice: EndpointSlice,
  portName: string | undefined,
  issues: MeshIssue[],
): MeshEndpoint[] {
  const port = slicePort(slice, portName);
  if (port?.port === undefined) return [];
  if (slice.addressType === "FQDN") {
    issues.push({
      object: objectRef("EndpointSlice", slice.metadata),
      field: "addressType",
      reason: "UnsupportedValue",
      message:
        "FQDN endpoints are skipped: xDS endpoints for gRPC clients must be IP addresses; list the endpoints' IP addresses in an EndpointSlice with addressType IPv4 or IPv6",
    });
    return [];
  }
  return slice.endpoints.flatMap((endpoint) =>
    endpoint.addresses.map((address) => ({
      address,
      port: port.port as number,
      zone: endpoint.zone ?? "",
      // discovery/v1: a nil ready condition means ready.
      ready: endpoint.conditions?.ready ?? true,
    })),
  );
}
