// Which resources a change can affect: the basis of regenerating only what changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource, type Resource } from "../api/index.ts";
import { diffResources, type ChangeSet } from "../mesh/index.ts";
import { isAffected, typeDependencies } from "./dependencies.ts";
import { blackholeCluster } from "./names.ts";

const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

function objects(...raw: object[]): Resource[] {
  return raw.map((o) => {
    const r = validateResource(o);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.resource;
  });
}

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
const route = (parent: string, weight: number) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GRPCRoute",
  metadata: { name: `${parent}-route` },
  spec: {
    parentRefs: [{ group: "", kind: "Service", name: parent }],
    rules: [{ backendRefs: [{ name: "b", port: 80, weight }] }],
  },
});

const base = [service("a"), service("b"), slice("a", "10.0.0.1"), slice("b", "10.0.0.2"), route("a", 1)];
const cluster = (name: string) => `outbound|80||${name}.default.svc.cluster.local`;

const cases: [
  name: string,
  next: object[],
  expected: [type: string, resource: string, affected: boolean][],
][] = [
  [
    "an endpoint of b moves",
    [service("a"), service("b"), slice("a", "10.0.0.1"), slice("b", "10.0.0.9"), route("a", 1)],
    [
      [EDS, cluster("b"), true],
      [EDS, cluster("a"), false],
      [CDS, cluster("b"), false],
      [RDS, "a.default.svc.cluster.local:80", false],
      [LDS, "b:80", false],
      [CDS, "*", false],
    ],
  ],
  [
    "the route on a changes weight",
    [service("a"), service("b"), slice("a", "10.0.0.1"), slice("b", "10.0.0.2"), route("a", 5)],
    [
      [RDS, "a.default.svc.cluster.local:80", true],
      [RDS, "a.default.svc.cluster.local:80|consumer=web", true],
      [RDS, "b.default.svc.cluster.local:80", false],
      [LDS, "a:80", true],
      [LDS, "a.default.svc.cluster.local:80", true],
      [LDS, "b:80", false],
      [LDS, "10.96.0.1:80", true],
      [EDS, cluster("a"), false],
      [CDS, cluster("a"), false],
    ],
  ],
  [
    "service b changes its port",
    [service("a"), service("b", 81), slice("a", "10.0.0.1"), slice("b", "10.0.0.2"), route("a", 1)],
    [
      [CDS, cluster("b"), true],
      [EDS, cluster("b"), true],
      [CDS, cluster("a"), false],
      [CDS, "*", true],
      [RDS, "a.default.svc.cluster.local:80", true],
      [LDS, "a:80", true],
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
];

for (const [name, next, expected] of cases) {
  test(`isAffected: ${name}`, () => {
    const changes = diffResources(objects(...base), objects(...next));
    for (const [typeUrl, resource, affected] of expected) {
      assert.equal(
        isAffected(typeUrl, resource, changes),
        affected,
        `${typeUrl.split(".").at(-1)} ${resource}`,
      );
    }
  });
}

/** A change set as the mesh layer reports it for policy kinds (see typeDependencies). */
function changeSet(kind: string, marks: { services?: string[]; routeParents?: string[] }): ChangeSet {
  return {
    kinds: new Set([kind]),
    services: new Set(marks.services ?? []),
    endpoints: new Set(),
    routeParents: new Set(marks.routeParents ?? []),
  };
}

const policyCases: [name: string, changes: ChangeSet, expected: [string, string, boolean][]][] = [
  [
    "a TrafficPolicy on b changes (b marked in services)",
    changeSet("TrafficPolicy", { services: ["default/b"] }),
    [
      [CDS, cluster("b"), true],
      [EDS, cluster("b"), true],
      [CDS, cluster("a"), false],
      [EDS, cluster("a"), false],
      [CDS, blackholeCluster, false],
      // Routes to b carry b's hash policies; any route may reach b.
      [RDS, "a.default.svc.cluster.local:80", true],
      [RDS, "a.default.svc.cluster.local:80|consumer=web", true],
      // Listeners name route configurations only.
      [LDS, "a:80", false],
      [LDS, "b:80", false],
      [LDS, "*", false],
    ],
  ],
  [
    "a FaultInjection used by a route on a changes (a marked in routeParents)",
    changeSet("FaultInjection", { routeParents: ["default/a"] }),
    [
      [RDS, "a.default.svc.cluster.local:80", true],
      [RDS, "a.default.svc.cluster.local:80|consumer=web", true],
      [RDS, "b.default.svc.cluster.local:80", false],
      [LDS, "a:80", false],
      [CDS, cluster("a"), false],
      [EDS, cluster("a"), false],
      [CDS, "*", false],
    ],
  ],
  [
    "an unused FaultInjection changes (nothing marked)",
    changeSet("FaultInjection", {}),
    [
      [RDS, "a.default.svc.cluster.local:80", false],
      [LDS, "a:80", false],
    ],
  ],
];

for (const [name, changes, expected] of policyCases) {
  test(`isAffected: ${name}`, () => {
    for (const [typeUrl, resource, affected] of expected) {
      assert.equal(
        isAffected(typeUrl, resource, changes),
        affected,
        `${typeUrl.split(".").at(-1)} ${resource}`,
      );
    }
  });
}

test("typeDependencies: policies feed clusters, endpoints and routes; faults only routes", () => {
  assert.deepEqual(
    Object.fromEntries(
      Object.entries(typeDependencies).map(([typeUrl, kinds]) => [
        typeUrl.split(".").at(-1),
        ["TrafficPolicy", "FaultInjection"].filter((kind) => kinds.includes(kind)),
      ]),
    ),
    {
      Listener: [],
      RouteConfiguration: ["TrafficPolicy", "FaultInjection"],
      Cluster: ["TrafficPolicy"],
      ClusterLoadAssignment: ["TrafficPolicy"],
    },
  );
});

const trafficPolicy = (target: string, maxRequests: number) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "TrafficPolicy",
  metadata: { name: `${target}-policy` },
  spec: { targetRefs: [{ group: "", kind: "Service", name: target }], circuitBreaker: { maxRequests } },
});
const faultInjection = (percentage: number) => ({
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "FaultInjection",
  metadata: { name: "flaky" },
  spec: { abort: { grpcStatus: 14, percentage } },
});
const faultyRoute = {
  ...route("a", 1),
  spec: {
    parentRefs: [{ group: "", kind: "Service", name: "a" }],
    rules: [
      {
        filters: [
          {
            type: "ExtensionRef",
            extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name: "flaky" },
          },
        ],
        backendRefs: [{ name: "b", port: 80 }],
      },
    ],
  },
};
const withPolicies = (maxRequests: number, percentage: number) => [
  ...base.filter((o) => o.kind !== "GRPCRoute"),
  faultyRoute,
  trafficPolicy("b", maxRequests),
  faultInjection(percentage),
];

test("isAffected from a resource diff: a TrafficPolicy edit recomputes its target's clusters and routes", () => {
  const changes = diffResources(objects(...withPolicies(10, 5)), objects(...withPolicies(20, 5)));
  for (const [typeUrl, resource, affected] of [
    [CDS, cluster("b"), true],
    [EDS, cluster("b"), true],
    [CDS, cluster("a"), false],
    [RDS, "a.default.svc.cluster.local:80", true],
    [LDS, "a:80", false],
  ] as const) {
    assert.equal(
      isAffected(typeUrl, resource, changes),
      affected,
      `${typeUrl.split(".").at(-1)} ${resource}`,
    );
  }
});

test("isAffected from a resource diff: a FaultInjection edit recomputes the routes using it, only", () => {
  const changes = diffResources(objects(...withPolicies(10, 5)), objects(...withPolicies(10, 50)));
  for (const [typeUrl, resource, affected] of [
    [RDS, "a.default.svc.cluster.local:80", true],
    [RDS, "b.default.svc.cluster.local:80", false],
    [LDS, "a:80", false],
    [CDS, cluster("b"), false],
    [EDS, cluster("b"), false],
  ] as const) {
    assert.equal(
      isAffected(typeUrl, resource, changes),
      affected,
      `${typeUrl.split(".").at(-1)} ${resource}`,
    );
  }
});

test("isAffected for Envoy names: inbound listener and cluster list follow endpoints, route tables follow routes", () => {
  const endpointsOnly: ChangeSet = {
    kinds: new Set(["EndpointSlice"]),
    services: new Set(),
    endpoints: new Set(["default/a"]),
    routeParents: new Set(),
  };
  const routesOnly: ChangeSet = {
    kinds: new Set(["GRPCRoute"]),
    services: new Set(),
    endpoints: new Set(),
    routeParents: new Set(["default/a"]),
  };
  const cases: [typeUrl: string, name: string, changes: ChangeSet, affected: boolean][] = [
    [LDS, "virtualInbound", endpointsOnly, true],
    [LDS, "0.0.0.0_80", endpointsOnly, false],
    [LDS, "virtualOutbound", routesOnly, false],
    [CDS, "*", endpointsOnly, true],
    [CDS, "inbound|8080||", endpointsOnly, false],
    [CDS, "outbound|80||a.default.svc.cluster.local", endpointsOnly, false],
    [EDS, "outbound|80||a.default.svc.cluster.local", endpointsOnly, true],
    [RDS, "80", routesOnly, true],
    [RDS, "80", endpointsOnly, false],
  ];
  for (const [typeUrl, name, changes, affected] of cases) {
    assert.equal(isAffected(typeUrl, name, changes, "envoy"), affected, `${typeUrl} ${name}`);
  }
  // The same endpoint change leaves proxyless listeners and the cluster list alone.
  assert.equal(isAffected(CDS, "*", endpointsOnly, "grpc"), false);
  assert.equal(isAffected(LDS, "greeter:80", endpointsOnly, "grpc"), false);
});
