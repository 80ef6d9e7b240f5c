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

/** Per Service: how many of the first `proxies` proxies hold its EDS (its own callers and its route's). */
export function holderCounts(plan: MeshPlan, proxies: number): number[] {
  const counts = new Array<number>(plan.services).fill(0);
  const perWorkload = new Map<number, Set<number>>();
  for (let p = 0; p < proxies; p++) {
    const workload = plan.workload(p);
    let clusters = perWorkload.get(workload);
    if (!clusters) perWorkload.set(workload, (clusters = plan.proxyClusters(p)));
    for (const service of clusters) counts[service] = (counts[service] ?? 0) + 1;
  }
  return counts;
}

/**
 * The Service whose EDS about `share` of the proxies hold, for an edit that should reach only
 * them: the one closest to that count among Services without a route (not svc-0000..0002, which
 * every proxy holds); the lowest index on a tie, so every run of a plan picks the same one.
 */
export function scopedService(
  plan: MeshPlan,
  proxies: number,
  share: number,
): { service: number; holders: number } {
  const wanted = Math.max(1, Math.round(share * proxies));
  const counts = holderCounts(plan, proxies);
  let best: { service: number; holders: number } | undefined;
  for (let i = 3; i < plan.services; i++) {
    const holders = counts[i] ?? 0;
    if (plan.hasRoute(i) || holders === 0) continue;
    if (!best || Math.abs(holders - wanted) < Math.abs(best.holders - wanted)) best = { service: i, holders };
  }
  if (!best) throw new Error("no Service without a route is held by any proxy: add services or proxies");
  return best;
}
