// Per config object, how many of this replica's proxies run the resources built from it: the
// replica's half of the `Programmed` condition. A route reaches proxies through the route
// configurations of its parents (one per caller group for proxyless gRPC, one per port for
// Envoy); a Service and its TrafficPolicy through the Service's clusters and endpoints; a
// FaultInjection through the routes that use it. Pure: counts and rejections are passed in.
import { objectRef, type Resource } from "../api/index.ts";
import type { MeshSnapshot } from "../mesh/index.ts";
import { clusterName, routeConfigName } from "../translate/index.ts";
import type { NackReport, ResourceReach } from "../xds/index.ts";
import type { ObjectReach } from "./replica-report.ts";

const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/** The kinds whose status carries `Programmed`. */
export const reportedKinds: ReadonlySet<string> = new Set([
  "Service",
  "HTTPRoute",
  "GRPCRoute",
  "TrafficPolicy",
  "FaultInjection",
]);

type Counter = (typeUrl: string, name: string) => ResourceReach;

export function objectReach(
  mesh: MeshSnapshot,
  resources: readonly Resource[],
  count: Counter,
  nacks: NackReport,
): ObjectReach[] {
  const reach = new Map<string, { reached: number; total: number }>();
  const add = (object: string, typeUrl: string, names: Iterable<string>) => {
    const entry = reach.get(object) ?? { reached: 0, total: 0 };
    for (const name of names) {
      const counted = count(typeUrl, name);
      entry.reached += counted.acked;
      entry.total += counted.subscribed;
    }
    reach.set(object, entry);
  };

  const routeTables = new Map<string, Set<string>>();
  for (const attachments of mesh.attachments.values()) {
    for (const { route, serviceNamespace, serviceName, port } of attachments) {
      const service = mesh.services.get(`${serviceNamespace}/${serviceName}`);
      if (!service) continue;
      const consumer = route.namespace === serviceNamespace ? undefined : route.namespace;
      const ref = `${route.kind} ${route.namespace}/${route.name}`;
      const tables = routeTables.get(ref) ?? new Set<string>();
      tables.add(routeConfigName({ service, port }, mesh.domain, consumer));
      tables.add(String(port));
      routeTables.set(ref, tables);
      for (const rule of route.rules) {
        for (const filter of rule.filters) {
          if (filter.type !== "Fault") continue;
          const faultTables = routeTables.get(filter.fault.source) ?? new Set<string>();
          for (const table of tables) faultTables.add(table);
          routeTables.set(filter.fault.source, faultTables);
        }
      }
    }
  }
  for (const [object, tables] of routeTables) add(object, RDS, tables);

  for (const service of mesh.services.values()) {
    const clusters = service.ports.map((p) =>
      clusterName(service.namespace, service.name, p.port, mesh.domain),
    );
    add(`Service ${service.namespace}/${service.name}`, EDS, clusters);
    const policies = new Set(
      [service.policy, ...service.ports.map((p) => p.policy)].flatMap((p) => p?.source ?? []),
    );
    for (const policy of policies) add(policy, CDS, clusters);
  }

  const rejectionsByObject = new Map(nacks.objects.map((o) => [o.object, o.rejections]));
  return resources
    .filter((r) => reportedKinds.has(r.kind))
    .map((resource): ObjectReach => {
      const object = objectRef(resource.kind, {
        name: resource.metadata.name,
        namespace: resource.metadata.namespace ?? "default",
      });
      const counted = reach.get(object) ?? { reached: 0, total: 0 };
      return {
        object,
        generation: resource.metadata.generation ?? 1,
        ...counted,
        rejections: (rejectionsByObject.get(object) ?? []).map((r) => ({ node: r.nodeId, error: r.error })),
      };
    });
}
