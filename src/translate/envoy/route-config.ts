// RDS for a sidecar's outbound listener on one port: a virtual host per Service with that port,
// chosen by the Host header, with the routes the caller's namespace sees (producer or consumer
// routes, GEP-1294). Hosts outside the mesh pass through to where they were going.
import { create } from "@bufbuild/protobuf";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import { VirtualHostSchema, type VirtualHost } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { effectivePolicy, selectRoutes, type MeshService, type MeshSnapshot } from "../../mesh/index.ts";
import { serviceHost, serviceHostForms } from "../names.ts";
import { durationMs } from "../proto.ts";
import { outboundRouteName, passthroughCluster } from "./names.ts";
import { defaultRoute, tableEntryRoute } from "./route.ts";

/** The route configuration `<port>`; undefined when no Service has that port. */
export function outboundRouteConfiguration(
  mesh: MeshSnapshot,
  port: number,
  callerNamespace: string,
): RouteConfiguration | undefined {
  const services = servicesWithPort(mesh, port);
  if (services.length === 0) return undefined;
  // Envoy rejects a domain listed twice, even across virtual hosts (two Services sharing an IP).
  const taken = new Set<string>();
  return create(RouteConfigurationSchema, {
    name: outboundRouteName(port),
    virtualHosts: [
      ...services.map((service) => serviceVirtualHost(mesh, service, port, callerNamespace, taken)),
      allowAnyVirtualHost(),
    ],
  });
}

export function servicesWithPort(mesh: MeshSnapshot, port: number): MeshService[] {
  return [...mesh.services.values()]
    .filter((s) => s.ports.some((p) => p.port === port))
    .sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
}

function serviceVirtualHost(
  mesh: MeshSnapshot,
  service: MeshService,
  port: number,
  callerNamespace: string,
  taken: Set<string>,
): VirtualHost {
  const { namespace, name } = service;
  const table = selectRoutes(mesh, { namespace, name, port }, callerNamespace);
  const servicePort = service.ports.find((p) => p.port === port);
  const serviceRetry = servicePort && effectivePolicy(service, servicePort)?.retry;
  const routes = table
    ? table.entries.map((entry) => tableEntryRoute(entry, serviceRetry, mesh))
    : [defaultRoute({ service, port }, serviceRetry, mesh)];
  const domains = hostNames(service, callerNamespace, mesh.domain)
    .flatMap((host) => [host, `${host}:${port}`])
    .filter((domain) => !taken.has(domain) && taken.add(domain));
  return create(VirtualHostSchema, {
    name: `${serviceHost(namespace, name, mesh.domain)}:${port}`,
    domains,
    routes,
  });
}

/**
 * The names a caller may put in the Host header: the short name resolves only inside the
 * Service's namespace (DNS search path), so other namespaces do not get it, which also keeps two
 * Services of the same name apart. An IPv6 cluster IP appears in brackets, as in a Host header.
 */
function hostNames(service: MeshService, callerNamespace: string, domain: string): string[] {
  return serviceHostForms(service, domain)
    .filter((host) => host !== service.name || service.namespace === callerNamespace)
    .map((host) => (host.includes(":") ? `[${host}]` : host));
}

/** Hosts that are no Service: forwarded to the original destination (Istio's ALLOW_ANY). */
function allowAnyVirtualHost(): VirtualHost {
  return create(VirtualHostSchema, {
    name: "allow_any",
    domains: ["*"],
    routes: [
      {
        name: "allow_any",
        match: { pathSpecifier: { case: "prefix", value: "/" } },
        action: {
          case: "route",
          value: { clusterSpecifier: { case: "cluster", value: passthroughCluster }, timeout: durationMs(0) },
        },
      },
    ],
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
