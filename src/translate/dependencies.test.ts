// Which resources a change can affect: the basis of regenerating only what changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource, type Resource } from "../api/index.ts";
import { diffResources } from "../mesh/index.ts";
import { isAffected } from "./dependencies.ts";
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
