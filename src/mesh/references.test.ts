// References that do not resolve (backends, mirror targets, parents, policy targets) and endpoints
// that cannot be served: each issue says what is wrong and names the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build, route, service, serviceParent, trafficPolicy } from "./testing.ts";

const web = service("web", [
  { name: "http", port: 80 },
  { name: "admin", port: 9090 },
]);
const api = service("api", [{ port: 8080 }], "other");

interface Case {
  readonly name: string;
  readonly objects: readonly object[];
  /** `field reason: message` of every issue. */
  readonly issues: readonly string[];
}

const rule = (backendRefs: object[], extra: object = {}) => [{ backendRefs, ...extra }];
const mirrorTo = (backendRef: object) => ({
  filters: [{ type: "RequestMirror", requestMirror: { backendRef } }],
});

const cases: Case[] = [
  {
    name: "a backend Service that does not exist",
    objects: [route("HTTPRoute", "r", rule([{ name: "gone", port: 80 }]))],
    issues: [
      "spec.rules[0].backendRefs[0] BackendNotFound: Service default/gone does not exist: create it or fix spec.rules[0].backendRefs[0].name",
    ],
  },
  {
    name: "a backend in a namespace without that Service: name or namespace is wrong",
    objects: [route("GRPCRoute", "r", rule([{ name: "web", namespace: "other", port: 80 }]))],
    issues: [
      "spec.rules[0].backendRefs[0] BackendNotFound: Service other/web does not exist: create it or fix spec.rules[0].backendRefs[0].name or namespace",
    ],
  },
  {
    name: "a backend port the Service does not have",
    objects: [route("HTTPRoute", "r", rule([{ name: "web", port: 81 }]))],
    issues: [
      "spec.rules[0].backendRefs[0] BackendNotFound: Service default/web has no port 81: set spec.rules[0].backendRefs[0].port to one of its ports (80, 9090)",
    ],
  },
  {
    name: "a backend without a port",
    objects: [route("HTTPRoute", "r", rule([{ name: "api", namespace: "other" }]))],
    issues: [
      "spec.rules[0].backendRefs[0] UnsupportedValue: port is required when the backend is a Service: set spec.rules[0].backendRefs[0].port",
    ],
  },
  {
    name: "a mirror target that does not exist names the mirror's backendRef",
    objects: [
      route("HTTPRoute", "r", rule([{ name: "web", port: 80 }], mirrorTo({ name: "shadow", port: 80 }))),
    ],
    issues: [
      "spec.rules[0].filters[0].requestMirror.backendRef BackendNotFound: Service default/shadow does not exist: create it or fix spec.rules[0].filters[0].requestMirror.backendRef.name; the mirror is skipped until this is fixed",
    ],
  },
  {
    name: "a parent Service that does not exist",
    objects: [route("HTTPRoute", "r", [], {}, [serviceParent("nowhere")])],
    issues: [
      "spec.parentRefs[0] NoMatchingParent: parent Service default/nowhere does not exist: create it or fix spec.parentRefs[0].name",
    ],
  },
  {
    name: "a parent in another namespace: name or namespace is wrong",
    objects: [route("GRPCRoute", "r", [], {}, [serviceParent("web", { namespace: "other" })])],
    issues: [
      "spec.parentRefs[0] NoMatchingParent: parent Service other/web does not exist: create it or fix spec.parentRefs[0].name or namespace",
    ],
  },
  {
    name: "a parent port the Service does not have lists its ports",
    objects: [route("HTTPRoute", "r", [], {}, [serviceParent("web", { port: 81 })])],
    issues: [
      "spec.parentRefs[0] NoMatchingParent: parent Service default/web has no port matching port 81: its ports are 80 (http), 9090 (admin); fix spec.parentRefs[0].port",
    ],
  },
  {
    name: "a parent port and sectionName that name different ports",
    objects: [route("HTTPRoute", "r", [], {}, [serviceParent("web", { port: 80, sectionName: "admin" })])],
    issues: [
      "spec.parentRefs[0] NoMatchingParent: parent Service default/web has no port matching port 80 and sectionName admin: its ports are 80 (http), 9090 (admin); fix spec.parentRefs[0].port or spec.parentRefs[0].sectionName",
    ],
  },
  {
    name: "a parent sectionName the Service does not have",
    objects: [
      route("GRPCRoute", "r", [], {}, [serviceParent("api", { namespace: "other", sectionName: "grpc" })]),
    ],
    issues: [
      "spec.parentRefs[0] NoMatchingParent: parent Service other/api has no port matching sectionName grpc: its ports are 8080; fix spec.parentRefs[0].sectionName",
    ],
  },
  {
    name: "a TrafficPolicy target that does not exist",
    objects: [
      trafficPolicy("p", {
        targetRefs: [{ group: "", kind: "Service", name: "gone" }],
        connectTimeout: "1s",
      }),
    ],
    issues: [
      "spec.targetRefs[0] TargetNotFound: Service default/gone does not exist: create it or fix spec.targetRefs[0].name (a TrafficPolicy targets Services in its own namespace)",
    ],
  },
  {
    name: "FQDN endpoints are skipped",
    objects: [
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "web-dns", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "FQDN",
        endpoints: [{ addresses: ["web.example.com"] }],
        ports: [{ name: "http", port: 80 }],
      },
    ],
    issues: [
      "addressType UnsupportedValue: FQDN endpoints are skipped: xDS endpoints for gRPC clients must be IP addresses; list the endpoints' IP addresses in an EndpointSlice with addressType IPv4 or IPv6",
    ],
  },
];

for (const c of cases) {
  test(`references: ${c.name}`, () => {
    const mesh = build(web, api, ...c.objects);
    assert.deepEqual(
      mesh.issues.map((i) => `${i.field} ${i.reason}: ${i.message}`),
      c.issues,
    );
  });
}

test("an unresolved backend keeps its share of traffic and carries the message", () => {
  const mesh = build(web, route("HTTPRoute", "r", rule([{ name: "gone", port: 80, weight: 3 }])));
  const [backend] = mesh.attachments.get("default/web:80")?.[0]?.route.rules[0]?.backends ?? [];
  assert.deepEqual(backend, {
    namespace: "default",
    name: "gone",
    port: 80,
    weight: 3,
    invalid: "Service default/gone does not exist: create it or fix spec.rules[0].backendRefs[0].name",
  });
});
