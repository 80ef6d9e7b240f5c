// OpenAPI v3: what kubectl's query-param verifier, explain and SMP builder look for.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Type } from "@sinclair/typebox";
import { buildOpenApi } from "./openapi.ts";
import { applyOverlay, toOpenApi, type OpenApiSchema } from "./openapi-schema.ts";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const conversions: [name: string, input: unknown, expected: OpenApiSchema][] = [
  [
    "string with limits",
    Type.String({ minLength: 1, maxLength: 3 }),
    { type: "string", minLength: 1, maxLength: 3 },
  ],
  [
    "literal union becomes an enum",
    Type.Union([Type.Literal("TCP"), Type.Literal("UDP")]),
    { type: "string", enum: ["TCP", "UDP"] },
  ],
  ["single literal", Type.Literal("v1"), { type: "string", enum: ["v1"] }],
  [
    "int or string",
    Type.Union([Type.Integer({ minimum: 1 }), Type.String()]),
    { anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true },
  ],
  [
    "string map",
    Type.Record(Type.String(), Type.String()),
    { type: "object", additionalProperties: { type: "string" } },
  ],
  ["free form", Type.Unknown(), { type: "object", "x-kubernetes-preserve-unknown-fields": true }],
  [
    "object drops additionalProperties false",
    Type.Object({ a: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
    { type: "object", properties: { a: { type: "integer" } } },
  ],
  [
    "array",
    Type.Array(Type.String(), { maxItems: 2 }),
    { type: "array", maxItems: 2, items: { type: "string" } },
  ],
];

for (const [name, input, expected] of conversions) {
  test(`toOpenApi: ${name}`, () => assert.deepEqual(toOpenApi(input as never), expected));
}

test("overlay descends through list items", () => {
  const schema = toOpenApi(Type.Object({ rules: Type.Array(Type.Object({ name: Type.String() })) }));
  applyOverlay(schema, {
    rules: { description: "R" },
    "rules.name": { description: "N" },
    "missing.x": { description: "?" },
  });
  assert.equal(schema.properties && (schema.properties as Json).rules.description, "R");
  assert.equal((schema.properties as Json).rules.items.properties.name.description, "N");
});

const docs = buildOpenApi();
const doc = (path: string): Json => JSON.parse(docs.byPath.get(path)?.body ?? "null") as Json;

test("the index names every group-version with a hash", () => {
  const index = JSON.parse(docs.index) as Json;
  assert.deepEqual(Object.keys(index.paths), [
    "api/v1",
    "apis/discovery.k8s.io/v1",
    "apis/gateway.networking.k8s.io/v1",
    "apis/gateway.networking.k8s.io/v1beta1",
    "apis/meshplane.dev/v1alpha1",
    "apis/events.k8s.io/v1",
  ]);
  const entry = index.paths["apis/gateway.networking.k8s.io/v1"].serverRelativeURL as string;
  assert.match(entry, /^\/openapi\/v3\/apis\/gateway\.networking\.k8s\.io\/v1\?hash=[0-9A-F]{128}$/);
});

const patchCases: [path: string, item: string, kind: string, types: string[]][] = [
  [
    "api/v1",
    "/api/v1/namespaces/{namespace}/services/{name}",
    "Service",
    ["json-patch", "merge-patch", "strategic-merge-patch", "apply-patch"],
  ],
  [
    "api/v1",
    "/api/v1/namespaces/{name}",
    "Namespace",
    ["json-patch", "merge-patch", "strategic-merge-patch", "apply-patch"],
  ],
  [
    "apis/discovery.k8s.io/v1",
    "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}",
    "EndpointSlice",
    ["json-patch", "merge-patch", "strategic-merge-patch", "apply-patch"],
  ],
  [
    "apis/gateway.networking.k8s.io/v1",
    "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/grpcroutes/{name}",
    "GRPCRoute",
    ["json-patch", "merge-patch", "apply-patch"],
  ],
  [
    "apis/gateway.networking.k8s.io/v1beta1",
    "/apis/gateway.networking.k8s.io/v1beta1/namespaces/{namespace}/httproutes/{name}",
    "HTTPRoute",
    ["json-patch", "merge-patch", "apply-patch"],
  ],
];

for (const [path, item, kind, types] of patchCases) {
  test(`PATCH of ${kind} in ${path} declares the GVK, options and media types`, () => {
    const patch = doc(path).paths[item].patch as Json;
    const version = path.split("/").at(-1);
    assert.deepEqual(patch["x-kubernetes-group-version-kind"], {
      group: path.startsWith("api/") ? "" : path.split("/")[1],
      version,
      kind,
    });
    assert.deepEqual(
      patch.parameters.map((p: Json) => [p.name, p.in]),
      [
        ["dryRun", "query"],
        ["fieldManager", "query"],
        ["fieldValidation", "query"],
        ["force", "query"],
      ],
    );
    assert.deepEqual(
      Object.keys(patch.requestBody.content).map((t) => t.replace(/^application\/|\+(json|yaml)$/g, "")),
      types,
    );
  });
}

test("components carry the GVK list explain matches exactly, with descriptions", () => {
  const schemas = doc("apis/gateway.networking.k8s.io/v1").components.schemas as Json;
  const route = schemas["io.k8s.networking.gateway.v1.GRPCRoute"];
  assert.deepEqual(route["x-kubernetes-group-version-kind"], [
    { group: "gateway.networking.k8s.io", kind: "GRPCRoute", version: "v1" },
  ]);
  assert.deepEqual(schemas["io.k8s.networking.gateway.v1.GRPCRouteList"]["x-kubernetes-group-version-kind"], [
    { group: "gateway.networking.k8s.io", kind: "GRPCRouteList", version: "v1" },
  ]);
  assert.match(route.properties.spec.properties.rules.description, /matchers, filters and actions/);
  assert.deepEqual(route.properties.metadata.allOf, [
    { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" },
  ]);
  assert.ok(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]);
});

test("Service ports carry the merge key kubectl builds strategic merge patches with", () => {
  const svc = doc("api/v1").components.schemas["io.k8s.api.core.v1.Service"] as Json;
  const ports = svc.properties.spec.properties.ports;
  assert.equal(ports["x-kubernetes-patch-merge-key"], "port");
  assert.deepEqual(ports["x-kubernetes-list-map-keys"], ["port", "protocol"]);
  assert.deepEqual(ports.items.properties.targetPort["x-kubernetes-int-or-string"], true);
});

test("every $ref resolves inside its document", () => {
  for (const [path, entry] of docs.byPath) {
    const body = JSON.parse(entry.body) as Json;
    for (const [, name] of entry.body.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(body.components.schemas[name as string], `${path}: ${name}`);
    }
  }
});

test("operation ids are unique within each document", () => {
  for (const [path, entry] of docs.byPath) {
    const ids = [...entry.body.matchAll(/"operationId":"([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, path);
    assert.ok(ids.length > 0);
  }
  assert.ok(docs.byPath.get("api/v1")?.body.includes('"operationId":"listServiceForAllNamespaces"'));
});

test("the security kinds are explained field by field (kubectl explain peerauthentication.spec.mtls)", () => {
  const schemas = doc("apis/meshplane.dev/v1alpha1").components.schemas as Json;
  const pa = schemas["dev.meshplane.v1alpha1.PeerAuthentication"];
  assert.match(pa.description, /most specific one wins/);
  assert.match(
    pa.properties.spec.properties.mtls.properties.mode.description,
    /^STRICT: servers accept only/,
  );
  assert.deepEqual(pa.properties.spec.properties.mtls.properties.mode.enum, [
    "STRICT",
    "PERMISSIVE",
    "DISABLE",
  ]);
  const ap = schemas["dev.meshplane.v1alpha1.AuthorizationPolicy"].properties.spec.properties;
  const source = ap.rules.items.properties.from.items.properties.source.properties;
  assert.match(source.principals.description, /SPIFFE IDs/);
  assert.match(
    ap.rules.items.properties.to.items.properties.operation.properties.grpc.description,
    /\/ledger.Ledger\/Post/,
  );
  const ra = schemas["dev.meshplane.v1alpha1.RequestAuthentication"].properties.spec.properties;
  assert.match(ra.jwtRules.items.properties.jwksUri.description, /https/);
});
