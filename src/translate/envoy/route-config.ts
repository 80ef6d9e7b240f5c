// RDS for a sidecar's outbound listener on one port: a virtual host per Service with that port,
// chosen by the Host header, with the routes the caller's namespace sees (producer or consumer
// routes, GEP-1294). Hosts outside the mesh pass through to where they were going.
import { create } from "@bufbuild/protobuf";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import { VirtualHostSchema, type VirtualHost } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { ServiceShape } from "../../mesh/index.ts";
import { serviceHost, serviceHostForms } from "../names.ts";
import { durationMs } from "../proto.ts";
import type { MeshView } from "../view.ts";
import { outboundRouteName, passthroughCluster } from "./names.ts";
import { defaultRoute, tableEntryRoute } from "./route.ts";

/** The route configuration `<port>`; undefined when no Service has that port. */
export function outboundRouteConfiguration(
  view: MeshView,
  port: number,
  callerNamespace: string,
): RouteConfiguration | undefined {
  const services = view.servicesOnPort(port);
  if (services.length === 0) return undefined;
  // Envoy rejects a domain listed twice, even across virtual hosts (two Services sharing an IP).
  const taken = new Set<string>();
  return create(RouteConfigurationSchema, {
    name: outboundRouteName(port),
    virtualHosts: [
      ...services.map((service) => serviceVirtualHost(view, service, port, callerNamespace, taken)),
      allowAnyVirtualHost(),
    ],
  });
}

function serviceVirtualHost(
  view: MeshView,
  service: ServiceShape,
  port: number,
  callerNamespace: string,
  taken: Set<string>,
): VirtualHost {
  const { namespace, name } = service;
  const table = view.routeTable({ namespace, name, port }, callerNamespace);
  const serviceRetry = view.policy({ namespace, name, port })?.retry;
  const routes = table
    ? table.entries.map((entry) => tableEntryRoute(entry, serviceRetry, view))
    : [defaultRoute({ service, port }, serviceRetry, view)];
  const domains = hostNames(service, callerNamespace, view.domain)
    .flatMap((host) => [host, `${host}:${port}`])
    .filter((domain) => !taken.has(domain) && taken.add(domain));
  return create(VirtualHostSchema, {
    name: `${serviceHost(namespace, name, view.domain)}:${port}`,
    domains,
    routes,
  });
}

/**
 * The names a caller may put in the Host header: the short name resolves only inside the
 * Service's namespace (DNS search path), so other namespaces do not get it, which also keeps two
 * Services of the same name apart. An IPv6 cluster IP appears in brackets, as in a Host header.
 */
function hostNames(service: ServiceShape, callerNamespace: string, domain: string): string[] {
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
