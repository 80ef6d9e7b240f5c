// Config changes the scenarios make, and how a simulated proxy recognises that it has received
// one: the watch is on one resource (EDS or RDS, by name) and a property only the new version has.
import { TypeUrl } from "../../src/xds/resource-types.ts";
import type { MeshPlan } from "./mesh-plan.ts";

export type ChangeKind = "endpoint" | "route";

export interface Change {
  readonly kind: ChangeKind;
  readonly service: number;
  /** Increases per edit of the same object, so every edit has content no earlier one had. */
  readonly generation: number;
}

export type WatchCheck =
  | { readonly kind: "address"; readonly address: string }
  | { readonly kind: "weight"; readonly cluster: string; readonly weight: number };

export interface WatchSpec {
  readonly id: number;
  readonly typeUrl: string;
  readonly name: string;
  readonly check: WatchCheck;
}

export function changeFile(plan: MeshPlan, change: Change): string {
  return change.kind === "endpoint" ? plan.endpointFile(change.service) : plan.routeFile(change.service);
}

export function changeObject(plan: MeshPlan, change: Change): Record<string, unknown> {
  return change.kind === "endpoint"
    ? plan.endpointSliceObject(change.service, change.generation)
    : plan.routeObject(change.service, change.generation);
}

export function watchSpec(plan: MeshPlan, change: Change, id: number): WatchSpec {
  if (change.kind === "endpoint") {
    return {
      id,
      typeUrl: TypeUrl.ClusterLoadAssignment,
      name: plan.clusterName(change.service),
      check: { kind: "address", address: plan.endpointAddress(change.service, 0, change.generation) },
    };
  }
  if (!plan.hasRoute(change.service)) throw new Error(`${plan.serviceName(change.service)} has no route`);
  const [, second] = plan.routeBackends(change.service);
  return {
    id,
    typeUrl: TypeUrl.RouteConfiguration,
    // meshplane names a producer route configuration after the listener (translate/names.ts).
    name: plan.listenerName(change.service),
    check: {
      kind: "weight",
      cluster: plan.clusterName(second),
      weight: plan.routeWeights(change.generation)[1],
    },
  };
}

/** How many of the first `proxies` proxies hold the resource the change touches. */
export function affectedProxies(plan: MeshPlan, change: Change, proxies: number): number {
  const perWorkload = new Map<number, boolean>();
  let count = 0;
  for (let p = 0; p < proxies; p++) {
    const workload = plan.workload(p);
    let hit = perWorkload.get(workload);
    if (hit === undefined) {
      hit =
        change.kind === "endpoint"
          ? plan.proxyClusters(p).has(change.service)
          : plan.targets(p).includes(change.service);
      perWorkload.set(workload, hit);
    }
    if (hit) count++;
  }
  return count;
}
