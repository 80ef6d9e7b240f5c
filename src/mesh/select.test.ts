// Route selection: which routes apply to a caller and in which order (Gateway API precedence).
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateResource, type Resource } from "../api/index.ts";
import { buildMeshSnapshot } from "./build.ts";
import { selectRoutes } from "./select.ts";

function resources(...objects: object[]): Resource[] {
  return objects.map((object) => {
    const result = validateResource(object);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.resource;
  });
}

const svc = (name: string, namespace = "default") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { ports: [{ port: 80 }] },
});

const parent = (namespace?: string) => [
  { group: "", kind: "Service", name: "web", ...(namespace ? { namespace } : {}) },
];

function httpRoute(
  name: string,
  matches: object[],
  options: { namespace?: string; created?: string; parentNamespace?: string } = {},
) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: options.namespace ?? "default", creationTimestamp: options.created },
    spec: {
      parentRefs: parent(options.parentNamespace),
      rules: [{ matches, backendRefs: [{ name: "web", namespace: "default", port: 80 }] }],
    },
  };
}

function order(objects: object[], caller = "default"): string[] {
  const mesh = buildMeshSnapshot(resources(svc("web"), ...objects), { domain: "cluster.local" });
  const table = selectRoutes(mesh, { namespace: "default", name: "web", port: 80 }, caller);
  return (table?.entries ?? []).map((e) => `${e.route.name}:${e.match.path.type}:${e.match.path.value}`);
}

test("HTTPRoute precedence: exact, longest prefix, regex, method, headers, query params", () => {
  const got = order([
    httpRoute("a", [{ path: { type: "PathPrefix", value: "/" } }]),
    httpRoute("b", [{ path: { type: "PathPrefix", value: "/api/v1" } }]),
    httpRoute("c", [{ path: { type: "Exact", value: "/api" } }]),
    httpRoute("d", [{ path: { type: "PathPrefix", value: "/api" }, headers: [{ name: "x", value: "1" }] }]),
    httpRoute("e", [{ path: { type: "PathPrefix", value: "/api" }, method: "POST" }]),
    httpRoute("f", [{ path: { type: "RegularExpression", value: "/a.*" } }]),
    httpRoute("g", [{ path: { type: "PathPrefix", value: "/api" } }]),
    httpRoute("h", [{ path: { type: "RegularExpression", value: "/api/v[0-9]+" } }]),
  ]);
  assert.deepEqual(got, [
    "c:Exact:/api",
    "b:Prefix:/api/v1",
    "e:Prefix:/api",
    "d:Prefix:/api",
    "g:Prefix:/api",
    "a:Prefix:/",
    "h:Regex:/api/v[0-9]+",
    "f:Regex:/a.*",
  ]);
});

// Each row: two matches that tie on everything before the criterion named; the first must win.
const httpTies: [criterion: string, winner: object, loser: object][] = [
  ["exact over a longer prefix", { path: { type: "Exact", value: "/a" } }, { path: { value: "/a/b/c" } }],
  ["longer prefix", { path: { value: "/a/b" } }, { path: { value: "/a" } }],
  [
    "a prefix over a regex",
    { path: { value: "/" } },
    { path: { type: "RegularExpression", value: "/a/b/c/d" } },
  ],
  [
    "method over headers",
    { method: "POST" },
    {
      headers: [
        { name: "a", value: "1" },
        { name: "b", value: "1" },
      ],
    },
  ],
  [
    "more headers over query params",
    {
      headers: [
        { name: "a", value: "1" },
        { name: "b", value: "1" },
      ],
    },
    {
      headers: [{ name: "a", value: "1" }],
      queryParams: [
        { name: "q", value: "1" },
        { name: "r", value: "1" },
      ],
    },
  ],
  ["more query params", { queryParams: [{ name: "q", value: "1" }] }, {}],
  [
    "header names count once (duplicates: the first wins)",
    {
      headers: [
        { name: "a", value: "1" },
        { name: "b", value: "1" },
      ],
    },
    {
      headers: [
        { name: "a", value: "1" },
        { name: "A", value: "2" },
      ],
    },
  ],
];

for (const [criterion, winner, loser] of httpTies) {
  test(`HTTPRoute precedence: ${criterion}`, () => {
    // The loser is older and sorts first by name, so only the criterion can make the winner first.
    const got = order([
      httpRoute("a-loser", [loser], { created: "2026-01-01T00:00:00Z" }),
      httpRoute("z-winner", [winner], { created: "2026-02-01T00:00:00Z" }),
    ]);
    assert.equal(got[0]?.split(":")[0], "z-winner", JSON.stringify(got));
  });
}

test("within one route, rule order and then match order break ties", () => {
  const route = {
    ...httpRoute("r", []),
    spec: {
      parentRefs: parent(),
      rules: [
        {
          matches: [{ path: { value: "/x" } }, { path: { value: "/y" } }],
          backendRefs: [{ name: "web", port: 80 }],
        },
        { matches: [{ path: { value: "/x" } }], backendRefs: [{ name: "web", port: 80 }] },
      ],
    },
  };
  const mesh = buildMeshSnapshot(resources(svc("web"), route), { domain: "cluster.local" });
  const table = selectRoutes(mesh, { namespace: "default", name: "web", port: 80 }, "default");
  assert.deepEqual(
    table?.entries.map((e) => `${e.rule.index}:${e.match.path.value}`),
    ["0:/x", "0:/y", "1:/x"],
  );
});

function grpcRoute(name: string, matches: object[], created = "2026-01-01T00:00:00Z") {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GRPCRoute",
    metadata: { name, namespace: "default", creationTimestamp: created },
    spec: { parentRefs: parent(), rules: [{ matches, backendRefs: [{ name: "web", port: 80 }] }] },
  };
}

test("GRPCRoute precedence: longest service, then longest method, then most headers, then age", () => {
  const got = order([
    grpcRoute("all", []),
    grpcRoute("method-only", [{ method: { method: "SayHello" } }]),
    grpcRoute("short-service", [{ method: { service: "a.B" } }]),
    grpcRoute("long-service", [{ method: { service: "demo.Greeter" } }]),
    grpcRoute("service-method", [{ method: { service: "demo.Greeter", method: "SayHello" } }]),
    grpcRoute("service-method-headers", [
      { method: { service: "demo.Greeter", method: "SayHello" }, headers: [{ name: "x", value: "1" }] },
    ]),
    grpcRoute("younger-twin", [{ method: { service: "demo.Greeter" } }], "2026-03-01T00:00:00Z"),
    grpcRoute("headers-only", [{ headers: [{ name: "x", value: "1" }] }]),
  ]);
  assert.deepEqual(
    got.map((g) => g.split(":")[0]),
    [
      "service-method-headers",
      "service-method",
      "long-service",
      "younger-twin",
      "short-service",
      "method-only",
      "headers-only",
      "all",
    ],
  );
});

test("ties go to the oldest route, then to namespace/name", () => {
  const got = order([
    httpRoute("zeta", [{ path: { type: "PathPrefix", value: "/x" } }], { created: "2026-01-01T00:00:00Z" }),
    httpRoute("beta", [{ path: { type: "PathPrefix", value: "/x" } }], { created: "2026-02-01T00:00:00Z" }),
    httpRoute("alpha", [{ path: { type: "PathPrefix", value: "/x" } }], { created: "2026-02-01T00:00:00Z" }),
  ]);
  assert.deepEqual(got, ["zeta:Prefix:/x", "alpha:Prefix:/x", "beta:Prefix:/x"]);
});

test("consumer routes replace producer routes for their namespace only", () => {
  const objects = [
    httpRoute("producer", [{ path: { type: "PathPrefix", value: "/" } }]),
    httpRoute("consumer", [{ path: { type: "PathPrefix", value: "/c" } }], {
      namespace: "frontend",
      parentNamespace: "default",
    }),
  ];
  assert.deepEqual(order(objects, "frontend"), ["consumer:Prefix:/c"]);
  assert.deepEqual(order(objects, "default"), ["producer:Prefix:/"]);
  assert.deepEqual(order(objects, "other"), ["producer:Prefix:/"]);
});

test("a GRPCRoute on the same port wins over HTTPRoutes, which are reported as conflicted", () => {
  const grpc = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GRPCRoute",
    metadata: { name: "grpc", namespace: "default" },
    spec: { parentRefs: parent(), rules: [{ backendRefs: [{ name: "web", port: 80 }] }] },
  };
  const http = httpRoute("http", [{ path: { type: "PathPrefix", value: "/" } }]);
  assert.deepEqual(order([grpc, http]), ["grpc:Prefix:/"]);
  const mesh = buildMeshSnapshot(resources(svc("web"), grpc, http), { domain: "cluster.local" });
  assert.deepEqual(
    mesh.issues.map((i) => `${i.object} ${i.reason}`),
    ["HTTPRoute default/http Conflicted"],
  );
});

test("no attached route means no route table (default routing to the Service)", () => {
  assert.deepEqual(order([]), []);
  const mesh = buildMeshSnapshot(resources(svc("web")), { domain: "cluster.local" });
  assert.equal(selectRoutes(mesh, { namespace: "default", name: "web", port: 80 }, "default"), undefined);
});
