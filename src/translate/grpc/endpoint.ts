// EDS: ready endpoints of a Service port, grouped by zone into localities. grpc-js-xds skips a
// locality whose load_balancing_weight is zero or unset, so every locality is weighted by its size.
import { create } from "@bufbuild/protobuf";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { MeshEndpoint } from "../../mesh/index.ts";

export function loadAssignment(
  clusterName: string,
  endpoints: readonly MeshEndpoint[],
): ClusterLoadAssignment {
  const ready = endpoints.filter((e) => e.ready);
  const byZone = Map.groupBy(ready, (e) => e.zone);
  const zones = [...byZone.keys()].sort();
  return create(ClusterLoadAssignmentSchema, {
    clusterName,
    endpoints: zones.map((zone) => {
      const members = uniqueEndpoints(byZone.get(zone) ?? []);
      return {
        locality: { zone },
        loadBalancingWeight: members.length,
        priority: 0,
        lbEndpoints: members.map((e) => ({
          healthStatus: HealthStatus.HEALTHY,
          hostIdentifier: {
            case: "endpoint" as const,
            value: {
              address: {
                address: {
                  case: "socketAddress" as const,
                  value: { address: e.address, portSpecifier: { case: "portValue" as const, value: e.port } },
                },
              },
            },
          },
        })),
      };
    }),
  });
}

// The same address may appear in two slices during a rollout; clients NACK duplicates.
function uniqueEndpoints(endpoints: readonly MeshEndpoint[]): MeshEndpoint[] {
  const seen = new Set<string>();
  return [...endpoints]
    .sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1))
    .filter((e) => {
      const key = `${e.address}:${e.port}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
}
