// What a change invalidates, from the record alone: a resource is stale when a facet its generator
// read (at the previous version) differs in the next mesh. The basis of regenerating only what
// changed; the pipeline's property test checks the same on random edits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MeshFacets, type DataPlaneFlavour } from "../mesh/index.ts";
import { build } from "../mesh/testing.ts";
import { blackholeCluster } from "./names.ts";
import { translate, translateNames } from "./generator.ts";

const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

const service = (name: string, port = 80) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { ports: [{ port }] },
});
const slice = (name: string, address: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${name}-1`, labels: { "kubernetes.io/service-name": name } },
  addressType: "IPv4",
  ports: [{ port: 8080 }],
  endpoints: [{ addresses: [address] }],
});
const route = (parent: string, weight: number, filters: object[] = []) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GRPCRoute",
  metadata: { name: `${parent}-route` },
  spec: {
    parentRefs: [{ group: "", kind: "Service", name: parent }],
    rules: [{ filters, backendRefs: [{ name: "b", port: 80, weight }] }],
  },
});
const trafficPolicy = (target: string, maxRequests: number) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "TrafficPolicy",
  metadata: { name: `${target}-policy` },
  spec: { targetRefs: [{ group: "", kind: "Service", name: target }], circuitBreaker: { maxRequests } },
});
const fault = (name: string, percentage: number) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "FaultInjection",
  metadata: { name },
  spec: { abort: { grpcStatus: 14, percentage } },
});
const faultRef = {
  type: "ExtensionRef",
  extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name: "flaky" },
};

const base = [service("a"), service("b"), slice("a", "10.0.0.1"), slice("b", "10.0.0.2"), route("a", 1)];
const cluster = (name: string) => `outbound|80||${name}.default.svc.cluster.local`;
const withPolicies = (maxRequests: number, percentage: number) => [
  ...base.filter((o) => o.kind !== "GRPCRoute"),
  route("a", 1, [faultRef]),
  trafficPolicy("b", maxRequests),
  fault("flaky", percentage),
  fault("unused", percentage),
];

type Expectation = [typeUrl: string, name: string, affected: boolean];
/** The listener a proxyless server bound to `address` asks for (gRFC A36). */
const server = (address: string) => `grpc/server?xds.resource.listening_address=${address}`;

/** Whether each resource (or "*", the wildcard name list) read something the edit changed. */
function check(
  before: object[],
  after: object[],
  expected: Expectation[],
  proxy: { flavour?: DataPlaneFlavour; namespace?: string; ips?: string[] } = {},
): void {
  const previous = new MeshFacets(build(...before));
  const changes = new MeshFacets(build(...after)).changedSince(previous);
  const profile = {
    flavour: proxy.flavour ?? "grpc",
    namespace: proxy.namespace ?? "default",
    instanceIps: proxy.ips ?? [],
  };
  for (const [typeUrl, name, affected] of expected) {
    const { provenance } =
      name === "*" ? translateNames(previous, profile, typeUrl) : translate(previous, profile, typeUrl, name);
    const stale = [...provenance.reads].filter((key) => changes.has(key));
    assert.equal(
      stale.length > 0,
      affected,
      `${typeUrl.split(".").at(-1)} ${name}: read ${stale.join(", ") || "nothing that changed"}`,
    );
  }
}

const cases: [name: string, after: object[], expected: Expectation[], proxy?: Parameters<typeof check>[3]][] =
  [
    [
      "an endpoint of b moves: b's endpoints only",
      [service("a"), service("b"), slice("a", "10.0.0.1"), slice("b", "10.0.0.9"), route("a", 1)],
      [
        [EDS, cluster("b"), true],
        [EDS, cluster("a"), false],
        [CDS, cluster("b"), false],
        [RDS, "a.default.svc.cluster.local:80", false],
        [LDS, "b:80", false],
        [CDS, "*", false],
        // The servers at b's old and new address; a's server reads only its own address.
        [LDS, server("10.0.0.2:8080"), true],
        [LDS, server("10.0.0.9:8080"), true],
        [LDS, server("10.0.0.1:8080"), false],
      ],
    ],
    [
      "the route on a changes weight: its route configurations only, not the listeners naming them",
      [service("a"), service("b"), slice("a", "10.0.0.1"), slice("b", "10.0.0.2"), route("a", 5)],
      [
        [RDS, "a.default.svc.cluster.local:80", true],
        // Web has no consumer routes, so this name does not exist; whether it does depends on
        // who is attached, not on their rules.
        [RDS, "a.default.svc.cluster.local:80|consumer=web", false],
        [RDS, "b.default.svc.cluster.local:80", false],
        [LDS, "a:80", false],
        [LDS, "a.default.svc.cluster.local:80", false],
        [LDS, "10.96.0.1:80", false],
        [LDS, "*", false],
        [EDS, cluster("a"), false],
        [CDS, cluster("a"), false],
      ],
    ],
    [
      "service b changes its port: b's clusters, the lists, and the routes whose backend it was",
      [service("a"), service("b", 81), slice("a", "10.0.0.1"), slice("b", "10.0.0.2"), route("a", 1)],
      [
        [CDS, cluster("b"), true],
        [EDS, cluster("b"), true],
        [CDS, cluster("a"), false],
        [CDS, "*", true],
        [LDS, "*", true],
        [RDS, "a.default.svc.cluster.local:80", true],
        [LDS, "a:80", false],
        [LDS, "b:80", true],
        [CDS, blackholeCluster, false],
      ],
    ],
    [
      "nothing changes",
      base,
      [
        [EDS, cluster("a"), false],
        [RDS, "a.default.svc.cluster.local:80", false],
        [LDS, "*", false],
      ],
    ],
    [
      "a route is added on b: b's route configuration, and b's listener (its route name may change)",
      [...base, route("b", 1)],
      [
        [RDS, "b.default.svc.cluster.local:80", true],
        [LDS, "b:80", true],
        [RDS, "a.default.svc.cluster.local:80", false],
        [LDS, "a:80", false],
      ],
    ],
  ];

for (const [name, after, expected, proxy] of cases) {
  test(`invalidation: ${name}`, () => check(base, after, expected, proxy));
}

test("invalidation: a TrafficPolicy edit reaches its target's clusters, endpoints and the routes to it", () => {
  check(withPolicies(10, 5), withPolicies(20, 5), [
    [CDS, cluster("b"), true],
    [EDS, cluster("b"), true],
    [CDS, cluster("a"), false],
    [EDS, cluster("a"), false],
    // Routes to b carry b's hash policies.
    [RDS, "a.default.svc.cluster.local:80", true],
    [RDS, "a.default.svc.cluster.local:80|consumer=web", false],
    // b's own (default) route retries and hashes by b's policy.
    [RDS, "b.default.svc.cluster.local:80", true],
    // Listeners name route configurations only.
    [LDS, "a:80", false],
    [LDS, "b:80", false],
    [LDS, "*", false],
  ]);
});

test("invalidation: a FaultInjection edit reaches the route configurations using it, only", () => {
  const faultOnly = (percentage: number) =>
    withPolicies(10, 5).map((o) =>
      o.kind === "FaultInjection" && o.metadata.name === "flaky" ? fault("flaky", percentage) : o,
    );
  check(faultOnly(5), faultOnly(50), [
    [RDS, "a.default.svc.cluster.local:80", true],
    [RDS, "a.default.svc.cluster.local:80|consumer=web", false],
    [RDS, "b.default.svc.cluster.local:80", false],
    [LDS, "a:80", false],
    [CDS, cluster("b"), false],
    [EDS, cluster("b"), false],
    [CDS, "*", false],
  ]);
});

test("invalidation: an unused FaultInjection reaches nothing", () => {
  const unusedOnly = (percentage: number) =>
    withPolicies(10, 5).map((o) =>
      o.kind === "FaultInjection" && o.metadata.name === "unused" ? fault("unused", percentage) : o,
    );
  check(unusedOnly(5), unusedOnly(50), [
    [RDS, "a.default.svc.cluster.local:80", false],
    [LDS, "a:80", false],
    [CDS, "*", false],
  ]);
});

test("invalidation for Envoy: the inbound listener follows the sidecar's own address, route tables follow routes", () => {
  const moved = [service("a"), service("b"), slice("a", "10.0.0.9"), slice("b", "10.0.0.2"), route("a", 1)];
  const reweighted = [
    service("a"),
    service("b"),
    slice("a", "10.0.0.1"),
    slice("b", "10.0.0.2"),
    route("a", 5),
  ];
  const envoy = (ips: string[]) => ({ flavour: "envoy" as const, ips });
  check(base, moved, [[LDS, "virtualInbound", true]], envoy(["10.0.0.1"]));
  check(base, moved, [[LDS, "virtualInbound", true]], envoy(["10.0.0.9"]));
  check(
    base,
    moved,
    [
      [LDS, "virtualInbound", false],
      [LDS, "0.0.0.0_80", false],
      [LDS, "*", false],
      // The set of endpoint ports is unchanged (8080).
      [CDS, "*", false],
      [CDS, "inbound|8080||", false],
      [CDS, cluster("a"), false],
      [EDS, cluster("a"), true],
      [RDS, "80", false],
    ],
    envoy(["10.0.0.2"]),
  );
  check(
    base,
    reweighted,
    [
      [RDS, "80", true],
      [LDS, "virtualOutbound", false],
      [LDS, "0.0.0.0_80", false],
    ],
    envoy([]),
  );
});

const peerAuthentication = (target: string, mode: string) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "PeerAuthentication",
  metadata: { name: `${target}-mtls` },
  spec: { targetRefs: [{ group: "", kind: "Service", name: target }], mtls: { mode } },
});

test("invalidation: a PeerAuthentication edit on b reaches b's clusters and b's servers, only", () => {
  check(
    [...base, peerAuthentication("b", "PERMISSIVE")],
    [...base, peerAuthentication("b", "STRICT")],
    [
      [CDS, cluster("b"), true],
      [LDS, server("10.0.0.2:8080"), true],
      [CDS, cluster("a"), false],
      [LDS, server("10.0.0.1:8080"), false],
      // An address no Service backs follows the mesh-wide policies only.
      [LDS, server("10.0.0.9:8080"), false],
      [EDS, cluster("b"), false],
      [RDS, "a.default.svc.cluster.local:80", false],
      [LDS, "b:80", false],
      [CDS, "*", false],
    ],
  );
});
