// Strategic merge patch on Service, EndpointSlice and metadata, with the bodies kubectl sends
// (client-side apply computes them with $setElementOrder and $patch: delete) and every directive.
// List-order expectations are upstream's (apimachinery strategicpatch patch_test.go raw cases).
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyStrategicMergePatch } from "./strategic.ts";
import { isPatchError, type PatchErrorReason } from "./errors.ts";
import type { JsonObject, JsonValue } from "./json.ts";

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";
const svcKind = { group: "", kind: "Service" };
const sliceKind = { group: "discovery.k8s.io", kind: "EndpointSlice" };

const service = (spec: JsonObject = {}, metadata: JsonObject = {}): JsonObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "greeter", namespace: "default", uid: "5c1f", labels: { app: "greeter" }, ...metadata },
  spec: {
    clusterIP: "10.96.0.10",
    type: "ClusterIP",
    sessionAffinity: "None",
    selector: { app: "greeter" },
    ports: [{ name: "grpc", port: 80, protocol: "TCP", targetPort: 9090 }],
    ...spec,
  },
});

const ports = (...numbers: number[]) => numbers.map((port) => ({ port }));

type Case = [name: string, original: JsonObject, patch: JsonValue, expected: JsonObject];

const cases: Case[] = [
  [
    "kubectl client-side apply of an existing Service (the body kubectl 1.32 sends)",
    service({}, { annotations: { [lastApplied]: '{"old":true}\n' } }),
    {
      metadata: { annotations: { [lastApplied]: '{"apiVersion":"v1","kind":"Service"}\n' } },
      spec: { "$setElementOrder/ports": [{ port: 80 }], ports: [{ port: 80, targetPort: 8080 }] },
    },
    service(
      { ports: [{ name: "grpc", port: 80, protocol: "TCP", targetPort: 8080 }] },
      { annotations: { [lastApplied]: '{"apiVersion":"v1","kind":"Service"}\n' } },
    ),
  ],
  [
    "client-side apply adds a port in the configured order",
    service(),
    {
      spec: {
        "$setElementOrder/ports": [{ port: 443 }, { port: 80 }],
        ports: [{ name: "https", port: 443, targetPort: 8443 }],
      },
    },
    service({
      ports: [
        { name: "https", port: 443, targetPort: 8443 },
        { name: "grpc", port: 80, protocol: "TCP", targetPort: 9090 },
      ],
    }),
  ],
  [
    "client-side apply removes a port with $patch: delete",
    service({ ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] }),
    { spec: { "$setElementOrder/ports": [{ port: 443 }], ports: [{ $patch: "delete", port: 80 }] } },
    service({ ports: [{ port: 443 }] }),
  ],
  [
    "kubectl patch without $setElementOrder puts a new port first, as upstream",
    service(),
    { spec: { ports: [{ port: 443, targetPort: 8443 }] } },
    service({
      ports: [
        { port: 443, targetPort: 8443 },
        { name: "grpc", port: 80, protocol: "TCP", targetPort: 9090 },
      ],
    }),
  ],
  [
    "server-only ports keep their place when $setElementOrder reorders",
    service({ ports: ports(1, 2, 7, 9, 8, 3, 4) }),
    { spec: { "$setElementOrder/ports": ports(2, 1, 4, 3) } },
    service({ ports: ports(2, 1, 7, 9, 8, 4, 3) }),
  ],
  [
    "add and delete in one patch: the new port takes the deleted one's place",
    service({ ports: [{ port: 1 }, { port: 2, name: "b" }, { port: 4, name: "c" }] }),
    { spec: { "$setElementOrder/ports": ports(2, 3), ports: [{ port: 3 }, { port: 1, $patch: "delete" }] } },
    service({ ports: [{ port: 2, name: "b" }, { port: 4, name: "c" }, { port: 3 }] }),
  ],
  [
    "53/UDP merges into the UDP port, not the TCP one (protocol compared when both set)",
    service({
      ports: [
        { name: "dns", port: 53, protocol: "TCP" },
        { name: "dns-udp", port: 53, protocol: "UDP" },
      ],
    }),
    { spec: { ports: [{ port: 53, protocol: "UDP", targetPort: 5353 }] } },
    service({
      ports: [
        { name: "dns", port: 53, protocol: "TCP" },
        { name: "dns-udp", port: 53, protocol: "UDP", targetPort: 5353 },
      ],
    }),
  ],
  [
    "null deletes a field; unmatched nulls are dropped",
    service(),
    { spec: { clusterIP: null, externalName: null, sessionAffinityConfig: { clientIP: null } } },
    (() => {
      const s = service({ sessionAffinityConfig: {} });
      delete (s.spec as JsonObject).clusterIP;
      return s;
    })(),
  ],
  [
    "maps merge key by key (selector, labels)",
    service(),
    { metadata: { labels: { tier: "backend", app: null } }, spec: { selector: { version: "v2" } } },
    service({ selector: { app: "greeter", version: "v2" } }, { labels: { tier: "backend" } }),
  ],
  [
    "$patch: replace on a map",
    service({ selector: { app: "greeter", version: "v1" } }),
    { spec: { selector: { $patch: "replace", app: "greeter-v2" } } },
    service({ selector: { app: "greeter-v2" } }),
  ],
  [
    "$patch: delete on a map removes it",
    service(),
    { metadata: { labels: { $patch: "delete" } } },
    (() => {
      const s = service();
      delete (s.metadata as JsonObject).labels;
      return s;
    })(),
  ],
  [
    "$patch: merge on a map is the default",
    service(),
    { spec: { selector: { $patch: "merge", version: "v2" } } },
    service({ selector: { app: "greeter", version: "v2" } }),
  ],
  [
    "$patch: replace as a list element replaces the list",
    service({ ports: ports(80, 443) }),
    { spec: { ports: [{ $patch: "replace" }, { port: 9090, name: "metrics" }] } },
    service({ ports: [{ port: 9090, name: "metrics" }] }),
  ],
  [
    "$patch: merge as a list element is accepted",
    service(),
    { spec: { ports: [{ $patch: "merge", port: 80, name: "http" }] } },
    service({ ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 9090 }] }),
  ],
  [
    "$retainKeys clears unlisted keys",
    service(),
    { spec: { $retainKeys: ["ports", "selector", "type"], type: "NodePort" } },
    {
      ...service(),
      spec: {
        type: "NodePort",
        selector: { app: "greeter" },
        ports: [{ name: "grpc", port: 80, protocol: "TCP", targetPort: 9090 }],
      },
    },
  ],
  [
    "finalizers merge as a set; a new one goes first without $setElementOrder",
    service({}, { finalizers: ["a.example.com/x"] }),
    { metadata: { finalizers: ["b.example.com/y", "a.example.com/x"] } },
    service({}, { finalizers: ["b.example.com/y", "a.example.com/x"] }),
  ],
  [
    "finalizers with $setElementOrder, server-only one after",
    service({}, { finalizers: ["1", "2", "4"] }),
    { metadata: { "$setElementOrder/finalizers": ["1", "2", "3"], finalizers: ["3"] } },
    service({}, { finalizers: ["1", "2", "3", "4"] }),
  ],
  [
    "$deleteFromPrimitiveList/finalizers",
    service({}, { finalizers: ["a", "b", "c"] }),
    { metadata: { "$deleteFromPrimitiveList/finalizers": ["b", "zzz"] } },
    service({}, { finalizers: ["a", "c"] }),
  ],
  [
    "$deleteFromPrimitiveList does not create a missing list",
    service(),
    { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
    service(),
  ],
  [
    "ownerReferences merge by uid",
    service({}, { ownerReferences: [{ apiVersion: "v1", kind: "Namespace", name: "default", uid: "u1" }] }),
    {
      metadata: {
        ownerReferences: [
          { uid: "u1", blockOwnerDeletion: true },
          { apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "u2" },
        ],
      },
    },
    service(
      {},
      {
        ownerReferences: [
          { apiVersion: "v1", kind: "Namespace", name: "default", uid: "u1", blockOwnerDeletion: true },
          { apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "u2" },
        ],
      },
    ),
  ],
  [
    "a list with no merge strategy is replaced (clusterIPs)",
    service({ clusterIPs: ["10.96.0.10", "fd00::10"] }),
    { spec: { clusterIPs: ["10.96.0.11"] } },
    service({ clusterIPs: ["10.96.0.11"] }),
  ],
  [
    "$patch: replace at the top replaces the object",
    service(),
    {
      $patch: "replace",
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "x" },
      spec: { ports: [{ port: 1, $patch: "delete" }] },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [] } },
  ],
];

for (const [name, original, patch, expected] of cases) {
  test(`strategic merge patch: ${name}`, () => {
    const before = structuredClone(original);
    const body = JSON.parse(JSON.stringify(patch)) as JsonValue;
    assert.deepEqual(applyStrategicMergePatch(svcKind, original, body), expected);
    assert.deepEqual(original, before, "the live object is not changed");
  });
}

const slice = (endpoints: JsonValue, ports: JsonValue): JsonObject => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "greeter-abc", labels: { "kubernetes.io/service-name": "greeter" } },
  addressType: "IPv4",
  endpoints,
  ports,
});

test("strategic merge patch: EndpointSlice endpoints and ports are atomic", () => {
  const original = slice(
    [{ addresses: ["10.0.0.1"], conditions: { ready: true } }, { addresses: ["10.0.0.2"] }],
    [{ name: "grpc", port: 50051 }],
  );
  const patch = { endpoints: [{ addresses: ["10.0.0.3"] }], ports: [{ name: "grpc", port: 50052 }] };
  assert.deepEqual(
    applyStrategicMergePatch(sliceKind, original, patch),
    slice([{ addresses: ["10.0.0.3"] }], [{ name: "grpc", port: 50052 }]),
  );
});

test("strategic merge patch: Namespace takes the ObjectMeta rules", () => {
  const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", finalizers: ["x"] } };
  const result = applyStrategicMergePatch({ group: "", kind: "Namespace" }, ns, {
    metadata: { finalizers: ["y"] },
  });
  assert.deepEqual((result.metadata as JsonObject).finalizers, ["y", "x"]);
});

const failures: [name: string, patch: JsonValue, reason: PatchErrorReason, message: RegExp][] = [
  ["not an object", [{ op: "add" }], "BadRequest", /^invalid JSON document$/],
  [
    "unknown directive",
    { spec: { $setOrder: [] } },
    "BadRequest",
    /^spec: unknown patch directive "\$setOrder"$/,
  ],
  [
    "unknown $patch value on a map",
    { spec: { selector: { $patch: "frob" } } },
    "BadRequest",
    /spec.selector: unknown patch type: "frob" in map/,
  ],
  [
    "unknown $patch value on a list item",
    { spec: { ports: [{ $patch: "frob", port: 80 }] } },
    "BadRequest",
    /spec.ports: unknown patch type: "frob"/,
  ],
  [
    "missing merge key",
    { spec: { ports: [{ targetPort: 1 }] } },
    "BadRequest",
    /spec.ports: map: \{"targetPort":1\} does not contain declared merge key: port/,
  ],
  [
    "delete without merge key",
    { spec: { ports: [{ $patch: "delete" }] } },
    "BadRequest",
    /does not contain declared merge key: port/,
  ],
  [
    "list item not a map",
    { spec: { ports: [80] } },
    "BadRequest",
    /spec.ports: expected a map, but received 80/,
  ],
  [
    "$setElementOrder out of step with the patch list",
    { spec: { "$setElementOrder/ports": ports(80, 443), ports: ports(443, 80) } },
    "BadRequest",
    /spec.ports: the order in patch list:\n.*\n doesn't match \$setElementOrder list/,
  ],
  [
    "$setElementOrder not a list",
    { spec: { "$setElementOrder/ports": { port: 80 } } },
    "BadRequest",
    /invalid patch format of setElementOrder list/,
  ],
  [
    "$deleteFromPrimitiveList without a list name",
    { metadata: { "$deleteFromPrimitiveList/": ["a"] } },
    "BadRequest",
    /invalid patch format of primitive list/,
  ],
  [
    "$retainKeys not a list of names",
    { spec: { $retainKeys: "ports" } },
    "BadRequest",
    /invalid patch format of retainKeys/,
  ],
  [
    "$retainKeys without a patched key",
    { spec: { $retainKeys: ["ports"], type: "NodePort" } },
    "BadRequest",
    /"type" is not in \$retainKeys/,
  ],
  [
    "$patch: delete of the whole object",
    { $patch: "delete" },
    "BadRequest",
    /can not remove the whole object/,
  ],
  [
    "objects in a primitive merge list",
    { metadata: { finalizers: [{ $patch: "replace" }] } },
    "BadRequest",
    /expected a list of scalars/,
  ],
  [
    "lists of lists",
    { metadata: { finalizers: [["a"]] } },
    "Invalid",
    /metadata.finalizers: lists of lists are not supported/,
  ],
];

for (const [name, patch, reason, message] of failures) {
  test(`strategic merge patch error: ${name}`, () => {
    assert.throws(
      () => applyStrategicMergePatch(svcKind, service({}, { finalizers: ["a"] }), patch),
      (error: unknown) => isPatchError(error, reason) && message.test(error.message),
    );
  });
}

test("strategic merge patch: custom resources answer 415 with the accepted types", () => {
  const route = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "r" } };
  assert.throws(
    () => applyStrategicMergePatch({ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }, route, {}),
    (error: unknown) =>
      isPatchError(error, "UnsupportedMediaType") &&
      error.code === 415 &&
      error.message ===
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
  );
});

test("long lists merge in time proportional to their length, not its square", () => {
  const n = 10_000;
  const names = (prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const numbered = (from: number) => Array.from({ length: n }, (_, i) => ({ port: from + i, name: `p${i}` }));
  const live = service({ ports: numbered(1) }, { finalizers: names("f") });
  const patches: [string, JsonValue][] = [
    ["a set (finalizers)", { metadata: { finalizers: names("g") } }],
    ["a list merged by key (ports), half of it new", { spec: { ports: numbered(n / 2) } }],
    [
      "$setElementOrder and deletions",
      { spec: { "$setElementOrder/ports": numbered(1).reverse(), ports: [] } },
    ],
  ];
  for (const [name, patch] of patches) {
    const started = performance.now();
    applyStrategicMergePatch(svcKind, live, patch);
    const ms = performance.now() - started;
    // Before the index: 9 s for the set alone on a 2-core test machine.
    assert.ok(ms < 2000, `${name}: ${Math.round(ms)} ms`);
  }
  const merged = applyStrategicMergePatch(svcKind, live, { metadata: { finalizers: ["f1", "new"] } });
  assert.equal((merged.metadata as JsonObject & { finalizers: string[] }).finalizers.length, n + 1);
});
