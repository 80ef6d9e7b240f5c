// Per object reach from the served resources' provenance: each kind through its counted type,
// each resource name once (the security policies through server listeners), rejections from the
// NACK report.
import assert from "node:assert/strict";
import { test } from "node:test";
import { validateResource, type Resource } from "../api/index.ts";
import type { NackReport, ServedResource } from "../xds/index.ts";
import { objectReach } from "./reach.ts";

const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

function objects(...raw: object[]): Resource[] {
  return raw.map((o) => {
    const result = validateResource(o);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.resource;
  });
}

const config = objects(
  { apiVersion: "v1", kind: "Service", metadata: { name: "greeter" }, spec: { ports: [{ port: 50051 }] } },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GRPCRoute",
    metadata: { name: "split", generation: 3 },
    spec: { parentRefs: [{ group: "", kind: "Service", name: "greeter" }] },
  },
  {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "FaultInjection",
    metadata: { name: "flaky" },
    spec: { abort: { grpcStatus: 14, percentage: 1 } },
  },
  {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "TrafficPolicy",
    metadata: { name: "lb" },
    spec: {
      targetRefs: [{ group: "", kind: "Service", name: "greeter" }],
      loadBalancer: { type: "RingHash" },
    },
  },
  {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "TrafficPolicy",
    metadata: { name: "unused" },
    spec: { targetRefs: [{ group: "", kind: "Service", name: "nothing" }], connectTimeout: "1s" },
  },
  {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "PeerAuthentication",
    metadata: { name: "strict", generation: 2 },
    spec: { mtls: { mode: "STRICT" } },
  },
  {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "AuthorizationPolicy",
    metadata: { name: "allow" },
    spec: { targetRefs: [{ group: "", kind: "Service", name: "greeter" }] },
  },
  {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "RequestAuthentication",
    metadata: { name: "jwt" },
    spec: { jwtRules: [{ issuer: "i", jwksUri: "https://i.example/jwks" }] },
  },
  {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "greeter-1", labels: { "kubernetes.io/service-name": "greeter" } },
    addressType: "IPv4",
    endpoints: [],
  },
);

const cluster = "outbound|50051||greeter.default.svc.cluster.local";
const routes = "greeter.default.svc.cluster.local:50051";
const server = "grpc/server?xds.resource.listening_address=10.0.0.1:50051";
const security = ["PeerAuthentication default/strict", "AuthorizationPolicy default/allow"];
const served: ServedResource[] = [
  { typeUrl: LDS, name: "greeter:50051", objects: ["Service default/greeter"] },
  {
    typeUrl: RDS,
    name: routes,
    objects: ["Service default/greeter", "GRPCRoute default/split", "FaultInjection default/flaky"],
  },
  // The same route configuration served to another profile group: counted once.
  { typeUrl: RDS, name: routes, objects: ["Service default/greeter", "GRPCRoute default/split"] },
  // Envoy's route table for the port.
  { typeUrl: RDS, name: "50051", objects: ["Service default/greeter", "GRPCRoute default/split"] },
  { typeUrl: CDS, name: cluster, objects: ["Service default/greeter", "TrafficPolicy default/lb"] },
  // A proxyless server's listener enforces the security policies of the port it serves...
  { typeUrl: LDS, name: server, objects: ["Service default/greeter", ...security] },
  // ... and a client's mTLS cluster follows the mode, which is not counted: servers enforce it.
  { typeUrl: CDS, name: "tls-cluster", objects: ["Service default/greeter", security[0] as string] },
  {
    typeUrl: EDS,
    name: cluster,
    objects: ["Service default/greeter", "TrafficPolicy default/lb", "EndpointSlice default/greeter-1"],
  },
];

const nacks: NackReport = {
  objects: [
    {
      object: "Service default/greeter",
      proxies: 1,
      rejections: [
        {
          nodeId: "default/p1",
          streamId: 1,
          type: "eds",
          resource: cluster,
          rejectedHash: "h",
          keptHash: null,
          error: "bad address",
          objects: ["Service default/greeter"],
          since: "",
          count: 1,
          retryAt: "",
        },
      ],
    },
  ],
  unattributed: [],
};

test("reach: each kind through its counted type, each name once, from what generators recorded", () => {
  const counted: string[] = [];
  const reach = objectReach(
    config,
    served,
    (typeUrl, name) => {
      counted.push(`${typeUrl.split(".").at(-1)} ${name}`);
      // Two proxies use every resource; one of them runs the current version.
      return { subscribed: 2, acked: 1 };
    },
    nacks,
  );
  assert.deepEqual(
    reach.map((r) => [r.object, r.generation, r.reached, r.total]),
    [
      ["Service default/greeter", 1, 1, 2],
      ["GRPCRoute default/split", 3, 2, 4],
      ["FaultInjection default/flaky", 1, 1, 2],
      ["TrafficPolicy default/lb", 1, 1, 2],
      ["TrafficPolicy default/unused", 1, 0, 0],
      ["PeerAuthentication default/strict", 2, 1, 2],
      ["AuthorizationPolicy default/allow", 1, 1, 2],
      ["RequestAuthentication default/jwt", 1, 0, 0],
    ],
    "EndpointSlices carry no status; objects nothing was built from reach no one",
  );
  assert.deepEqual(reach[0]?.rejections, [{ node: "default/p1", error: "bad address" }]);
  assert.deepEqual(reach[1]?.rejections, []);
  assert.deepEqual(counted.sort(), [
    `Cluster ${cluster}`,
    `ClusterLoadAssignment ${cluster}`,
    `Listener ${server}`,
    `Listener ${server}`,
    "RouteConfiguration 50051",
    `RouteConfiguration ${routes}`,
    `RouteConfiguration ${routes}`,
  ]);
});
