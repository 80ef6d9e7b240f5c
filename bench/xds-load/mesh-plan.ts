// The synthetic mesh the load harness runs against, as pure functions of a few numbers, so the
// harness, every worker and the ceiling server agree on it without exchanging it:
//
// - S Services `svc-NNNN` (one gRPC port, 8080) spread over namespaces `ns-N` in contiguous blocks;
// - one EndpointSlice per Service with a few fake IPv4 endpoints (no traffic goes there: they
//   are only xDS data) in two zones;
// - for every `routeEvery`-th Service a GRPCRoute (producer route, GAMMA) splitting its traffic
//   90/10 between the next two Services of the same namespace.
//
// Proxy p is a replica of workload `p mod S` and calls `scope` Services: always `svc-0000` (the
// "hot" service every workload calls, e.g. an auth service; it has a route, so its two backends
// are hot too) plus scope-1 others picked by a PRNG seeded with the workload, or all S.
import { stringify } from "yaml";

export interface PlanOptions {
  readonly services: number;
  readonly namespaces: number;
  /** Share of Services with a GRPCRoute, 0..1. */
  readonly routeShare: number;
  readonly endpointsPerSlice: number;
  /** Services each proxy calls; "all" = every Service. */
  readonly scope: number | "all";
}

export const domain = "cluster.local";
export const servicePort = 8080;
const endpointPort = 8080;
const zones = ["zone-a", "zone-b"];

export class MeshPlan {
  readonly options: PlanOptions;
  readonly routeEvery: number;
  readonly perNamespace: number;

  constructor(options: PlanOptions) {
    if (options.services < 3) throw new RangeError("need at least 3 services");
    this.options = options;
    this.routeEvery = options.routeShare > 0 ? Math.max(3, Math.round(1 / options.routeShare)) : Infinity;
    const block = Math.ceil(options.services / Math.max(1, options.namespaces));
    // Blocks are whole multiples of routeEvery, so a route's backends share its namespace.
    const unit = Number.isFinite(this.routeEvery) ? this.routeEvery : 1;
    this.perNamespace = Math.max(unit, Math.ceil(block / unit) * unit);
  }

  get services(): number {
    return this.options.services;
  }

  serviceName(i: number): string {
    return `svc-${String(i).padStart(4, "0")}`;
  }

  namespace(i: number): string {
    return `ns-${Math.floor(i / this.perNamespace)}`;
  }

  host(i: number): string {
    return `${this.serviceName(i)}.${this.namespace(i)}.svc.${domain}`;
  }

  /** What grpc-js-xds requests for `xds:///<host>:<port>`: the literal authority. */
  listenerName(i: number): string {
    return `${this.host(i)}:${servicePort}`;
  }

  clusterName(i: number): string {
    return `outbound|${servicePort}||${this.host(i)}`;
  }

  hasRoute(i: number): boolean {
    const last = i + 2;
    return i % this.routeEvery === 0 && last < this.services && this.namespace(last) === this.namespace(i);
  }

  /** The two weighted backends of service i's route. */
  routeBackends(i: number): [number, number] {
    return [i + 1, i + 2];
  }

  /** Service indices whose clusters a caller of service i needs. */
  clustersOf(i: number): number[] {
    return this.hasRoute(i) ? this.routeBackends(i) : [i];
  }

  workload(proxy: number): number {
    return proxy % this.services;
  }

  proxyNamespace(proxy: number): string {
    return this.namespace(this.workload(proxy));
  }

  /** Service indices proxy p calls, deterministic. */
  targets(proxy: number): number[] {
    const { scope } = this.options;
    const all = this.services;
    if (scope === "all" || scope >= all) return Array.from({ length: all }, (_, i) => i);
    const workload = this.workload(proxy);
    const chosen = new Set<number>([0]);
    const random = prng(workload + 1);
    // Bounded: at most 50 draws per wanted target, then fill in order.
    for (let draws = 0; chosen.size < scope && draws < scope * 50; draws++) {
      const pick = Math.floor(random() * all);
      if (pick !== workload || all <= scope) chosen.add(pick);
    }
    for (let i = 0; chosen.size < scope && i < all; i++) chosen.add(i);
    return [...chosen].sort((a, b) => a - b);
  }

  /** Service indices whose clusters (and EDS) proxy p ends up holding. */
  proxyClusters(proxy: number): Set<number> {
    return new Set(this.targets(proxy).flatMap((t) => this.clustersOf(t)));
  }

  // ---- Config objects (Kubernetes-style, as in examples/quickstart/mesh). ----

  serviceObject(i: number): Record<string, unknown> {
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: this.serviceName(i), namespace: this.namespace(i) },
      spec: { ports: [{ name: "grpc", port: servicePort, protocol: "TCP" }] },
    };
  }

  /** Address of endpoint e of service i; generation g > 0 moves endpoint 0 to a new address. */
  endpointAddress(i: number, e: number, generation: number): string {
    const last = e === 0 ? (generation === 0 ? 1 : 100 + (generation % 150)) : e + 1;
    return `10.${(i >> 8) & 255}.${i & 255}.${last}`;
  }

  endpointSliceObject(i: number, generation = 0): Record<string, unknown> {
    return {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${this.serviceName(i)}-1`,
        namespace: this.namespace(i),
        labels: { "kubernetes.io/service-name": this.serviceName(i) },
      },
      addressType: "IPv4",
      endpoints: Array.from({ length: this.options.endpointsPerSlice }, (_, e) => ({
        addresses: [this.endpointAddress(i, e, generation)],
        zone: zones[e % zones.length],
        conditions: { ready: true },
      })),
      ports: [{ name: "grpc", port: endpointPort, protocol: "TCP" }],
    };
  }

  /** Weights of service i's route at generation g: 90/10, then 89/11, 88/12, ... */
  routeWeights(generation: number): [number, number] {
    const second = 10 + (generation % 80);
    return [100 - second, second];
  }

  routeObject(i: number, generation = 0): Record<string, unknown> {
    const [a, b] = this.routeBackends(i);
    const [wa, wb] = this.routeWeights(generation);
    return {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name: `${this.serviceName(i)}-split`, namespace: this.namespace(i) },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: this.serviceName(i), port: servicePort }],
        rules: [
          {
            backendRefs: [
              { name: this.serviceName(a), port: servicePort, weight: wa },
              { name: this.serviceName(b), port: servicePort, weight: wb },
            ],
          },
        ],
      },
    };
  }

  /** Relative paths and YAML text of the whole config directory. */
  *files(): Generator<{ path: string; text: string }> {
    for (let i = 0; i < this.services; i++) {
      yield { path: this.serviceFile(i), text: toYaml(this.serviceObject(i)) };
      yield { path: this.endpointFile(i), text: toYaml(this.endpointSliceObject(i)) };
      if (this.hasRoute(i)) yield { path: this.routeFile(i), text: toYaml(this.routeObject(i)) };
    }
  }

  serviceFile(i: number): string {
    return `services/${this.serviceName(i)}.yaml`;
  }

  endpointFile(i: number): string {
    return `endpoints/${this.serviceName(i)}.yaml`;
  }

  routeFile(i: number): string {
    return `routes/${this.serviceName(i)}.yaml`;
  }

  /** Every config object, for building the mesh in-process (the ceiling server). */
  *objects(): Generator<Record<string, unknown>> {
    for (let i = 0; i < this.services; i++) {
      yield this.serviceObject(i);
      yield this.endpointSliceObject(i);
      if (this.hasRoute(i)) yield this.routeObject(i);
    }
  }
}

export function toYaml(object: Record<string, unknown>): string {
  return stringify(object);
}

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
