// EDS: the endpoints of a Service port, grouped by zone into localities (gRFC A27, A28).
// Unready endpoints stay, marked UNHEALTHY: clients skip them, and a zone with none ready lets the
// next priority take over. grpc-js-xds skips a locality whose load_balancing_weight is zero or
// unset, and Envoy rejects 0, so every locality weighs at least 1.
import { create } from "@bufbuild/protobuf";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { LocalityPolicy, MeshEndpoint } from "../../mesh/index.ts";

export function loadAssignment(
  clusterName: string,
  endpoints: readonly MeshEndpoint[],
  locality: LocalityPolicy | undefined,
): ClusterLoadAssignment {
  const byZone = Map.groupBy(uniqueEndpoints(endpoints), (e) => e.zone);
  const zones = [...byZone.keys()].sort();
  const priorities = contiguousPriorities(zones, locality?.failoverOrder ?? []);
  return create(ClusterLoadAssignmentSchema, {
    clusterName,
    endpoints: zones.map((zone) => {
      const members = byZone.get(zone) ?? [];
      return {
        locality: { zone },
        loadBalancingWeight: localityWeight(zone, members, locality),
        priority: priorities.get(zone) ?? 0,
        lbEndpoints: members.map((e) => ({
          healthStatus: e.ready ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY,
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

/**
 * A locality's weight: the policy's weight for its zone (1 when not listed); without weights, its
 * ready endpoint count, so calls spread evenly over ready endpoints whatever their zones.
 */
function localityWeight(
  zone: string,
  members: readonly MeshEndpoint[],
  locality: LocalityPolicy | undefined,
): number {
  const weight =
    locality && locality.weights.size > 0
      ? (locality.weights.get(zone) ?? 1)
      : members.filter((e) => e.ready).length;
  return Math.max(1, Math.round(weight));
}

/**
 * Failover order as EDS priorities: listed zones in order, every other zone last. Clients NACK
 * a gap (priority N without N-1), so priorities are renumbered over the zones present.
 */
function contiguousPriorities(
  zones: readonly string[],
  failoverOrder: readonly string[],
): Map<string, number> {
  const rank = (zone: string) => {
    const index = failoverOrder.indexOf(zone);
    return index === -1 ? failoverOrder.length : index;
  };
  const ranks = [...new Set(zones.map(rank))].sort((a, b) => a - b);
  return new Map(zones.map((zone) => [zone, ranks.indexOf(rank(zone))]));
}

/**
 * One entry per address and port: the same endpoint may appear in two slices during a rollout,
 * and clients NACK duplicates anywhere in the assignment. A ready copy wins, then the lowest zone.
 */
function uniqueEndpoints(endpoints: readonly MeshEndpoint[]): MeshEndpoint[] {
  const seen = new Set<string>();
  return [...endpoints].sort(compareEndpoints).filter((e) => {
    const key = `${e.address}:${e.port}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function compareEndpoints(a: MeshEndpoint, b: MeshEndpoint): number {
  return (
    compareStrings(a.address, b.address) ||
    a.port - b.port ||
    Number(b.ready) - Number(a.ready) ||
    compareStrings(a.zone, b.zone)
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
