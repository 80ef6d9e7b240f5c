// Table output and printer columns: kubectl prints what these cells say.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../store/index.ts";
import { humanDuration } from "./columns.ts";
import { findResource } from "./resources.ts";
import { parseIncludeObject, toTable } from "./table.ts";

const s = 1000;
const durations: [ms: number, text: string][] = [
  [-5 * s, "<invalid>"],
  [-1 * s, "0s"],
  [0, "0s"],
  [119 * s, "119s"],
  [120 * s, "2m"],
  [200 * s, "3m20s"],
  [10 * 60 * s, "10m"],
  [179 * 60 * s, "179m"],
  [3 * 3600 * s, "3h"],
  [(5 * 3600 + 7 * 60) * s, "5h7m"],
  [47 * 3600 * s, "47h"],
  [(3 * 24 + 4) * 3600 * s, "3d4h"],
  [8 * 24 * 3600 * s, "8d"],
  [(2 * 365 + 3) * 24 * 3600 * s, "2y3d"],
  [9 * 365 * 24 * 3600 * s, "9y"],
];

for (const [ms, text] of durations)
  test(`humanDuration(${ms}) = ${text}`, () => assert.equal(humanDuration(ms), text));

const now = Date.parse("2025-01-01T00:10:00Z");
const created = "2025-01-01T00:00:00Z";
const def = (plural: string, group = "") =>
  findResource(group, "v1", plural) ?? findResource(group, "v1alpha1", plural) ?? assert.fail(plural);
const obj = (rest: object): KubeObject =>
  ({
    apiVersion: "v1",
    kind: "X",
    metadata: { name: "n", namespace: "default", creationTimestamp: created, labels: { a: "b" } },
    ...rest,
  }) as KubeObject;

const rows: [plural: string, group: string, object: KubeObject, cells: unknown[]][] = [
  [
    "services",
    "",
    obj({
      spec: {
        type: "ClusterIP",
        clusterIP: "10.96.0.9",
        ports: [
          { port: 80, protocol: "TCP" },
          { port: 53, protocol: "UDP" },
        ],
        selector: { b: "2", a: "1" },
      },
    }),
    ["n", "ClusterIP", "10.96.0.9", "<none>", "80/TCP,53/UDP", "10m", "a=1,b=2"],
  ],
  [
    "services",
    "",
    obj({ spec: { type: "LoadBalancer", clusterIP: "10.96.0.9", ports: [{ port: 80, nodePort: 30080 }] } }),
    ["n", "LoadBalancer", "10.96.0.9", "<pending>", "80:30080/TCP", "10m", "<none>"],
  ],
  [
    "services",
    "",
    obj({ spec: { type: "ExternalName", externalName: "x.example" } }),
    ["n", "ExternalName", "<none>", "x.example", "<none>", "10m", "<none>"],
  ],
  ["namespaces", "", obj({ status: { phase: "Terminating" } }), ["n", "Terminating", "10m"]],
  [
    "endpointslices",
    "discovery.k8s.io",
    obj({
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.0.0.1", "10.0.0.2"] }, { addresses: ["10.0.0.3", "10.0.0.4"] }],
      ports: [{ port: 8080 }, { name: "grpc" }],
    }),
    ["n", "IPv4", "8080,grpc", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "10m"],
  ],
  [
    "endpointslices",
    "discovery.k8s.io",
    obj({ addressType: "IPv6", endpoints: [] }),
    ["n", "IPv6", "<unset>", "<unset>", "10m"],
  ],
  [
    "grpcroutes",
    "gateway.networking.k8s.io",
    obj({ spec: { hostnames: ["a.example"] } }),
    ["n", '["a.example"]', "10m"],
  ],
  ["httproutes", "gateway.networking.k8s.io", obj({ spec: {} }), ["n", null, "10m"]],
  [
    "trafficpolicies",
    "meshplane.dev",
    obj({
      spec: {
        targetRefs: ["a", "b", "c", "d"].map((name) => ({
          name,
          ...(name === "b" ? { sectionName: "grpc" } : {}),
        })),
        loadBalancer: { type: "RingHash" },
      },
    }),
    ["n", "a,b/grpc,c + 1 more...", "RingHash", "10m"],
  ],
  [
    "trafficpolicies",
    "meshplane.dev",
    obj({ spec: { targetRefs: [{ name: "a" }] } }),
    ["n", "a", null, "10m"],
  ],
  [
    "faultinjections",
    "meshplane.dev",
    obj({
      spec: { delay: { fixedDelay: "2s", percentage: 10 }, abort: { grpcStatus: 14, percentage: 0.5 } },
    }),
    ["n", "2s (10%)", "grpc 14 (0.5%)", "10m"],
  ],
  [
    "faultinjections",
    "meshplane.dev",
    obj({ spec: { abort: { httpStatus: 503, percentage: 100 } } }),
    ["n", null, "http 503 (100%)", "10m"],
  ],
  [
    "peerauthentications",
    "meshplane.dev",
    obj({ spec: { targetRefs: [{ name: "a", sectionName: "grpc" }], mtls: { mode: "STRICT" } } }),
    ["n", "a/grpc", "STRICT", "10m"],
  ],
  ["peerauthentications", "meshplane.dev", obj({ spec: { portLevelMtls: [] } }), ["n", null, null, "10m"]],
  ["authorizationpolicies", "meshplane.dev", obj({ spec: {} }), ["n", null, "ALLOW", "10m"]],
  [
    "authorizationpolicies",
    "meshplane.dev",
    obj({ spec: { targetRefs: [{ name: "a" }], action: "DENY" } }),
    ["n", "a", "DENY", "10m"],
  ],
  [
    "requestauthentications",
    "meshplane.dev",
    obj({ spec: { jwtRules: ["a", "b", "c", "d"].map((issuer) => ({ issuer })) } }),
    ["n", null, "a,b,c + 1 more...", "10m"],
  ],
];

for (const [plural, group, object, cells] of rows) {
  test(`table row of ${plural}: ${JSON.stringify(cells)}`, () => {
    const table = toTable(def(plural, group), [object], {
      tableVersion: "v1",
      includeObject: "Metadata",
      now,
      withColumns: true,
    }) as {
      rows: { cells: unknown[]; object: { kind: string; metadata: object } }[];
      columnDefinitions: { name: string; format: string }[];
    };
    assert.deepEqual(table.rows[0]?.cells, cells);
    assert.equal(table.columnDefinitions.length, cells.length);
    assert.deepEqual(table.columnDefinitions[0], {
      ...table.columnDefinitions[0],
      name: "Name",
      format: "name",
    });
    assert.equal(table.rows[0]?.object.kind, "PartialObjectMetadata");
    assert.deepEqual(table.rows[0]?.object.metadata, object.metadata);
  });
}

test("tables without columns (later watch events) and includeObject", () => {
  const svc = def("services");
  const o = obj({ spec: {} });
  const bare = toTable(svc, [o], {
    tableVersion: "v1beta1",
    includeObject: "None",
    now,
    withColumns: false,
    resourceVersion: "7",
  }) as Record<string, unknown>;
  assert.equal(bare.apiVersion, "meta.k8s.io/v1beta1");
  assert.deepEqual(bare.columnDefinitions, []);
  assert.deepEqual(bare.metadata, { resourceVersion: "7" });
  assert.equal((bare.rows as { object?: unknown }[])[0]?.object, undefined);
  const full = toTable(svc, [o], { tableVersion: "v1", includeObject: "Object", now, withColumns: true }) as {
    rows: { object: unknown }[];
  };
  assert.equal(full.rows[0]?.object, o);
  assert.equal(parseIncludeObject(null), "Metadata");
  assert.throws(() => parseIncludeObject("All"), /includeObject: Unsupported value/);
});
