// Random configuration edits for the incremental-equals-from-scratch property: a small universe
// of object identities (so edits collide), every kind, and references that often do not resolve
// (missing Services, ports, FaultInjections, namespaces), FQDN slices, shared cluster IPs.
// Seeded and deterministic. Test support only.
import { validateResource, type Resource } from "../../api/index.ts";

/** mulberry32: a small seeded PRNG; equal seeds give equal sequences. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, values: readonly T[]): T => values[Math.floor(rng() * values.length)] as T;
const chance = (rng: Rng, p: number) => rng() < p;
const some = <T>(rng: Rng, values: readonly T[], max: number): T[] =>
  Array.from({ length: 1 + Math.floor(rng() * max) }, () => pick(rng, values));

/** Services the universe may hold, `namespace/name`; `default/gone` is never created. */
export const serviceNames = ["default/a", "default/b", "default/c", "team/d"] as const;
const referable = [...serviceNames, "default/gone"];
export const servicePorts = [80, 81] as const;
export const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"] as const;
export const clusterIPs = ["10.96.0.1", "10.96.0.2"] as const;

/** Every identity an edit may touch: `Kind namespace/name`. */
const identities = [
  ...serviceNames.map((s) => `Service ${s}`),
  "EndpointSlice default/a-1",
  "EndpointSlice default/a-2",
  "EndpointSlice default/b-1",
  "EndpointSlice default/c-1",
  "EndpointSlice team/d-1",
  "GRPCRoute default/r1",
  "GRPCRoute team/consumer",
  "HTTPRoute default/r2",
  "HTTPRoute default/r3",
  "HTTPRoute team/consumer-http",
  "TrafficPolicy default/p1",
  "TrafficPolicy default/p2",
  "TrafficPolicy team/p3",
  "FaultInjection default/f1",
  "FaultInjection team/f1",
];

function split(identity: string): { kind: string; namespace: string; name: string } {
  const [kind = "", ref = ""] = identity.split(" ");
  const [namespace = "", name = ""] = ref.split("/");
  return { kind, namespace, name };
}

const meta = (namespace: string, name: string, extra: object = {}) => ({ namespace, name, ...extra });

function serviceObject(rng: Rng, namespace: string, name: string): object {
  const ports = servicePorts.filter(() => chance(rng, 0.6));
  const chosen = ports.length > 0 ? ports : [pick(rng, servicePorts)];
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(namespace, name),
    spec: {
      ports: chosen.map((port) => ({
        name: port === 80 ? "grpc" : "http",
        port,
        ...(chance(rng, 0.3) ? { appProtocol: "grpc" } : {}),
      })),
      ...(chance(rng, 0.5) ? { clusterIP: pick(rng, clusterIPs) } : {}),
    },
  };
}

function sliceObject(rng: Rng, namespace: string, name: string): object {
  const fqdn = chance(rng, 0.1);
  const owner = chance(rng, 0.85) ? name.replace(/-\d+$/, "") : "gone";
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: meta(namespace, name, { labels: { "kubernetes.io/service-name": owner } }),
    addressType: fqdn ? "FQDN" : "IPv4",
    ports: some(rng, ["grpc", "http"], 2).map((portName) => ({
      name: portName,
      port: pick(rng, [8080, 8081]),
    })),
    endpoints: Array.from({ length: 1 + Math.floor(rng() * 2) }, () => ({
      addresses: fqdn ? ["backend.example.com"] : [...new Set(some(rng, addresses, 2))],
      ...(chance(rng, 0.5) ? { zone: pick(rng, ["z1", "z2"]) } : {}),
      ...(chance(rng, 0.2) ? { conditions: { ready: false } } : {}),
    })),
  };
}

/** A reference to a Service, written as a route in `namespace` would (namespace only if other). */
function serviceRef(rng: Rng, namespace: string): { name: string; namespace?: string } {
  const [refNamespace = "", name = ""] = pick(rng, referable).split("/");
  return refNamespace === namespace ? { name } : { name, namespace: refNamespace };
}

function backendRefs(rng: Rng, namespace: string): object[] {
  return some(rng, [0, 1], 2).map(() => ({
    ...serviceRef(rng, namespace),
    ...(chance(rng, 0.9) ? { port: pick(rng, [80, 81, 82]) } : {}),
    weight: pick(rng, [0, 1, 1, 2, 3]),
  }));
}

function faultFilter(rng: Rng): object[] {
  if (!chance(rng, 0.4)) return [];
  const name = pick(rng, ["f1", "f1", "f2"]);
  return [{ type: "ExtensionRef", extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name } }];
}

function routeObject(rng: Rng, kind: string, namespace: string, name: string): object {
  const grpc = kind === "GRPCRoute";
  const rule = () => ({
    ...(chance(rng, 0.5)
      ? {
          matches: [
            grpc
              ? {
                  method: {
                    service: pick(rng, ["pkg.Svc", "pkg.Other"]),
                    ...(chance(rng, 0.5) ? { method: "Get" } : {}),
                  },
                }
              : {
                  path: { type: pick(rng, ["PathPrefix", "Exact"]), value: pick(rng, ["/", "/v1", "/v2/"]) },
                },
          ],
        }
      : {}),
    filters: faultFilter(rng),
    backendRefs: backendRefs(rng, namespace),
    ...(!grpc && chance(rng, 0.3) ? { retry: { codes: [503], attempts: pick(rng, [0, 1, 2]) } } : {}),
    ...(!grpc && chance(rng, 0.3) ? { timeouts: { request: pick(rng, ["1s", "2s"]) } } : {}),
  });
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind,
    metadata: meta(namespace, name, {
      creationTimestamp: pick(rng, ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]),
    }),
    spec: {
      parentRefs: some(rng, [0], 2).map(() => ({
        group: "",
        kind: "Service",
        ...serviceRef(rng, namespace),
        ...(chance(rng, 0.3) ? { port: pick(rng, [80, 81, 82]) } : {}),
      })),
      rules: Array.from({ length: 1 + Math.floor(rng() * 2) }, rule),
    },
  };
}

function loadBalancer(rng: Rng): object {
  const type = pick(rng, ["RoundRobin", "LeastRequest", "RingHash"]);
  return {
    type,
    ...(type === "RingHash" && chance(rng, 0.7) ? { hashPolicies: [{ header: { name: "x-user" } }] } : {}),
    ...(chance(rng, 0.4) ? { locality: { weights: [{ zone: "z1", weight: 3 }], failover: ["z2"] } } : {}),
  };
}

function policyObject(rng: Rng, namespace: string, name: string): object {
  const services = referable.filter((s) => s.startsWith(`${namespace}/`)).map((s) => s.split("/")[1]);
  const spec = {
    targetRefs: [
      {
        group: "",
        kind: "Service",
        name: pick(rng, services),
        ...(chance(rng, 0.3) ? { sectionName: pick(rng, ["grpc", "http", "none"]) } : {}),
      },
    ],
    ...(chance(rng, 0.5) ? { loadBalancer: loadBalancer(rng) } : {}),
    ...(chance(rng, 0.4) ? { circuitBreaker: { maxRequests: pick(rng, [10, 20]) } } : {}),
    ...(chance(rng, 0.4) ? { retry: { attempts: pick(rng, [1, 2]), retryOn: ["unavailable"] } } : {}),
    connectTimeout: pick(rng, ["1s", "2s", "3s"]),
  };
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "TrafficPolicy",
    metadata: meta(namespace, name, {
      creationTimestamp: pick(rng, ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]),
    }),
    spec,
  };
}

function faultObject(rng: Rng, namespace: string, name: string): object {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "FaultInjection",
    metadata: meta(namespace, name),
    spec: chance(rng, 0.5)
      ? { abort: { grpcStatus: pick(rng, [13, 14]), percentage: pick(rng, [1, 50]) } }
      : { delay: { fixedDelay: pick(rng, ["1s", "2s"]), percentage: pick(rng, [10, 100]) } },
  };
}

function randomObject(rng: Rng, identity: string): Resource {
  const { kind, namespace, name } = split(identity);
  const raw =
    kind === "Service"
      ? serviceObject(rng, namespace, name)
      : kind === "EndpointSlice"
        ? sliceObject(rng, namespace, name)
        : kind === "TrafficPolicy"
          ? policyObject(rng, namespace, name)
          : kind === "FaultInjection"
            ? faultObject(rng, namespace, name)
            : routeObject(rng, kind, namespace, name);
  const result = validateResource(raw);
  if (!result.ok)
    throw new Error(`the generator made an invalid ${identity}: ${JSON.stringify(result.errors)}`);
  return result.resource;
}

/** A configuration that random edits change one object at a time. */
export class RandomConfig {
  private readonly objects = new Map<string, Resource>();
  private readonly rng: Rng;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  get resources(): Resource[] {
    return [...this.objects.values()];
  }

  /** Adds, changes or deletes one object; returns what it did, for the failure report. */
  edit(): string {
    const identity = pick(this.rng, identities);
    const present = this.objects.has(identity);
    if (present && chance(this.rng, 0.35)) {
      this.objects.delete(identity);
      return `delete ${identity}`;
    }
    const object = randomObject(this.rng, identity);
    this.objects.set(identity, object);
    return `${present ? "change" : "add"} ${identity} ${JSON.stringify((object as { spec?: unknown }).spec ?? object)}`;
  }
}
