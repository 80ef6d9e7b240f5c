// The change set: the facets whose values differ between two meshes, in the keys generators
// record. A change to one object shows up wherever the mesh resolved it into something else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MeshFacets } from "./facets.ts";
import {
  build,
  faultInjection,
  route,
  securityPolicy,
  service,
  serviceParent,
  trafficPolicy,
} from "./testing.ts";

const faultRef = (name: string) => ({
  type: "ExtensionRef",
  extensionRef: { group: "meshplane.dev", kind: "FaultInjection", name },
});
const slow = faultInjection("slow", { delay: { fixedDelay: "1s", percentage: 10 } });
const slower = faultInjection("slow", { delay: { fixedDelay: "2s", percentage: 10 } });
const policy = (timeout: string, targets: object[] = [{ group: "", kind: "Service", name: "web" }]) =>
  trafficPolicy("p", { targetRefs: targets, connectTimeout: timeout });
const web = service("web");
const api = service("api", [{ name: "grpc", port: 80 }]);
const usesSlow = route("HTTPRoute", "uses-slow", [{ filters: [faultRef("slow")] }], {}, [
  serviceParent("web"),
]);
const toApi = route("HTTPRoute", "to-api", [{ backendRefs: [{ name: "api", port: 80 }] }], {}, [
  serviceParent("web"),
]);
const consumer = route("GRPCRoute", "consumer", [{ filters: [faultRef("slow")] }], { namespace: "team" }, [
  serviceParent("api", { namespace: "default" }),
]);
const peer = (
  mode: string,
  spec: object = { targetRefs: [{ group: "", kind: "Service", name: "web" }] },
  namespace = "default",
) => securityPolicy("PeerAuthentication", "pa", { ...spec, mtls: { mode } }, { namespace });
const allowOnly = (principal: string) =>
  securityPolicy("AuthorizationPolicy", "ap", {
    targetRefs: [{ group: "", kind: "Service", name: "api", sectionName: "grpc" }],
    rules: [{ from: [{ source: { principals: [principal] } }] }],
  });
const slice = (address: string, name = "web-1") => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  ports: [{ port: 8080 }],
  endpoints: [{ addresses: [address] }],
});

const cases: [name: string, before: object[], after: object[], changed: string[]][] = [
  ["nothing changed", [web, policy("1s"), slow, usesSlow], [web, policy("1s"), slow, usesSlow], []],
  [
    "status and bookkeeping metadata are not read by generators",
    [web],
    [{ ...web, metadata: { ...web.metadata, resourceVersion: "7", annotations: { a: "b" } }, status: {} }],
    [],
  ],
  [
    "a TrafficPolicy edit changes the policy of its target's ports",
    [web, policy("1s")],
    [web, policy("2s")],
    ["policy default/web:80"],
  ],
  [
    "retargeting changes the old and the new target",
    [web, api, policy("1s")],
    [web, api, policy("1s", [{ group: "", kind: "Service", name: "api", sectionName: "grpc" }])],
    ["policy default/api:80", "policy default/web:80"],
  ],
  ["deleting a TrafficPolicy changes its targets", [web, policy("1s")], [web], ["policy default/web:80"]],
  ["a TrafficPolicy without a target changes nothing generators read", [policy("1s")], [policy("2s")], []],
  [
    "a FaultInjection edit changes the routes that use it, in its namespace",
    [web, api, slow, usesSlow, consumer],
    [web, api, slower, usesSlow, consumer],
    ["HTTPRoute default/uses-slow"],
  ],
  [
    "creating a missing FaultInjection changes the routes that referenced it",
    [web, usesSlow],
    [web, slow, usesSlow],
    ["HTTPRoute default/uses-slow"],
  ],
  [
    "deleting a backend Service changes the routes to it (their backend becomes invalid)",
    [web, api, toApi],
    [web, toApi],
    [
      "HTTPRoute default/to-api",
      "Service default/api",
      "endpoints default/api:80",
      "policy default/api:80",
      "port 80",
      "security default/api:80",
      "services",
    ],
  ],
  [
    "attaching a route changes who is attached to the port, and the route",
    [web],
    [web, usesSlow],
    ["HTTPRoute default/uses-slow", "routes default/web:80"],
  ],
  [
    "an endpoint moves: the port's endpoints and both addresses",
    [web, slice("10.0.0.1")],
    [web, slice("10.0.0.2")],
    ["address 10.0.0.1", "address 10.0.0.2", "endpoints default/web:80"],
  ],
  [
    "a renamed slice with the same endpoints: only what names the slice",
    [web, slice("10.0.0.1")],
    [web, slice("10.0.0.1", "web-2")],
    ["address 10.0.0.1", "endpoints default/web:80"],
  ],
  [
    "a Service changes its port",
    [web],
    [service("web", [{ port: 81 }])],
    [
      "Service default/web",
      "endpoints default/web:80",
      "endpoints default/web:81",
      "policy default/web:80",
      "policy default/web:81",
      "port 80",
      "port 81",
      "ports",
      "security default/web:80",
      "security default/web:81",
      "services",
    ],
  ],
  [
    "a PeerAuthentication edit changes the security of its target's ports only",
    [web, api, peer("STRICT")],
    [web, api, peer("DISABLE")],
    ["security default/web:80"],
  ],
  [
    "creating a namespace-wide PeerAuthentication changes the security of its namespace's ports",
    [web, api, service("other", [{ port: 80 }], "team")],
    [web, api, service("other", [{ port: 80 }], "team"), peer("STRICT", {})],
    ["security default/api:80", "security default/web:80"],
  ],
  [
    "a mesh-wide PeerAuthentication changes every port's security and the mesh's",
    [web, service("other", [{ port: 80 }], "team")],
    [web, service("other", [{ port: 80 }], "team"), peer("STRICT", {}, "meshplane-system")],
    ["mesh security", "security default/web:80", "security team/other:80"],
  ],
  [
    "an AuthorizationPolicy edit changes the security of the port it targets",
    [web, api, allowOnly("spiffe://cluster.local/ns/shop/sa/a")],
    [web, api, allowOnly("spiffe://cluster.local/ns/shop/sa/b")],
    ["security default/api:80"],
  ],
];

for (const [name, before, after, changed] of cases) {
  test(`facets changed: ${name}`, () => {
    const keys = new MeshFacets(build(...after)).changedSince(new MeshFacets(build(...before)));
    assert.deepEqual([...keys].sort(), changed);
  });
}
