// Per config object, how many of this replica's proxies run the resources built from it: the
// replica's half of the `Programmed` condition. Which resources an object feeds is what their
// generators recorded (each served resource's provenance), never a second table. An object is
// counted through the one xDS type that carries what its status is about, so that a proxy counts
// once per resource, not once per type: routes and the faults they use through route
// configurations, Services through their endpoints, TrafficPolicies through their clusters, and
// the security policies through listeners: the server listeners (gRFC A36) and Envoy inbound
// listeners that enforce them, not the client clusters that only follow a STRICT mode. Pure.
import { objectRef, type Resource } from "../api/index.ts";
import type { NackReport, ResourceReach, ServedResource } from "../xds/index.ts";
import type { ObjectReach } from "./replica-report.ts";

const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/** The kinds whose status carries `Programmed`, and the type their reach is counted through. */
export const reportedKinds: ReadonlyMap<string, string> = new Map([
  ["Service", EDS],
  ["HTTPRoute", RDS],
  ["GRPCRoute", RDS],
  ["TrafficPolicy", CDS],
  ["FaultInjection", RDS],
  ["PeerAuthentication", LDS],
  ["AuthorizationPolicy", LDS],
  ["RequestAuthentication", LDS],
]);

type Counter = (typeUrl: string, name: string) => ResourceReach;

export function objectReach(
  objects: readonly Resource[],
  served: Iterable<ServedResource>,
  count: Counter,
  nacks: NackReport,
): ObjectReach[] {
  /** Object → the names of its counted type that were built from it (each once). */
  const names = new Map<string, Set<string>>();
  for (const resource of served) {
    for (const object of resource.objects) {
      if (reportedKinds.get(object.slice(0, object.indexOf(" "))) !== resource.typeUrl) continue;
      const set = names.get(object) ?? new Set<string>();
      set.add(resource.name);
      names.set(object, set);
    }
  }
  const rejectionsByObject = new Map(nacks.objects.map((o) => [o.object, o.rejections]));
  return objects
    .filter((r) => reportedKinds.has(r.kind))
    .map((resource): ObjectReach => {
      const object = objectRef(resource.kind, {
        name: resource.metadata.name,
        namespace: resource.metadata.namespace ?? "default",
      });
      const typeUrl = reportedKinds.get(resource.kind) as string;
      let reached = 0;
      let total = 0;
      for (const name of names.get(object) ?? []) {
        const counted = count(typeUrl, name);
        reached += counted.acked;
        total += counted.subscribed;
      }
      return {
        object,
        generation: resource.metadata.generation ?? 1,
        reached,
        total,
        rejections: (rejectionsByObject.get(object) ?? []).map((r) => ({ node: r.nodeId, error: r.error })),
      };
    });
}
