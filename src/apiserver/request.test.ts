// Which endpoint a path names, and which response format an Accept header asks for.
import assert from "node:assert/strict";
import { test } from "node:test";
import { negotiate, resolvePath, type Endpoint } from "./request.ts";
import { ApiError } from "./status.ts";

type Expect =
  | string
  | {
      kind: string;
      plural?: string;
      version?: string;
      namespace?: string;
      name?: string;
      subresource?: string;
    };

function summary(endpoint: Endpoint): Expect {
  if (endpoint.kind !== "resource") return endpoint.kind;
  const t = endpoint.target;
  return {
    kind: "resource",
    plural: t.def.plural,
    version: t.version,
    ...(t.namespace === undefined ? {} : { namespace: t.namespace }),
    ...(t.name === undefined ? {} : { name: t.name }),
    ...(t.subresource === undefined ? {} : { subresource: t.subresource }),
  };
}

const cases: [path: string, expected: Expect | 404][] = [
  ["/version", "version"],
  ["/api", "api"],
  ["/apis", "apis"],
  ["/api/v1", "groupVersion"],
  ["/apis/gateway.networking.k8s.io", "group"],
  ["/apis/gateway.networking.k8s.io/v1beta1", "groupVersion"],
  ["/apis/gateway.networking.k8s.io/v2", 404],
  ["/apis/nope.example.com/v1", 404],
  ["/openapi/v3", "openapiIndex"],
  ["/openapi/v3/apis/discovery.k8s.io/v1", "openapiDoc"],
  ["/api/v1/namespaces", { kind: "resource", plural: "namespaces", version: "v1" }],
  ["/api/v1/namespaces/default", { kind: "resource", plural: "namespaces", version: "v1", name: "default" }],
  [
    "/api/v1/namespaces/team/status",
    { kind: "resource", plural: "namespaces", version: "v1", name: "team", subresource: "status" },
  ],
  [
    "/api/v1/namespaces/team/services",
    { kind: "resource", plural: "services", version: "v1", namespace: "team" },
  ],
  [
    "/api/v1/namespaces/team/services/web/status",
    {
      kind: "resource",
      plural: "services",
      version: "v1",
      namespace: "team",
      name: "web",
      subresource: "status",
    },
  ],
  ["/api/v1/services", { kind: "resource", plural: "services", version: "v1" }],
  ["/api/v1/services/web", 404],
  ["/api/v1/namespaces/team/services/web/scale", 404],
  ["/apis/discovery.k8s.io/v1/namespaces/a/endpointslices/s/status", 404],
  [
    "/apis/gateway.networking.k8s.io/v1beta1/namespaces/a/httproutes/r",
    { kind: "resource", plural: "httproutes", version: "v1beta1", namespace: "a", name: "r" },
  ],
  ["/apis/gateway.networking.k8s.io/v1beta1/namespaces/a/grpcroutes/r", 404],
  [
    "/apis/gateway.networking.k8s.io/v1/grpcroutes",
    { kind: "resource", plural: "grpcroutes", version: "v1" },
  ],
  ["/api/v1/namespaces/a/pods", 404],
  ["/api//v1", 404],
  ["/api/v1/namespaces/a/services/%2E%2E", 404],
  ["/", 404],
];

for (const [path, expected] of cases) {
  test(`resolvePath ${path}`, () => {
    if (expected === 404) {
      assert.throws(
        () => resolvePath(path),
        (e: unknown) => e instanceof ApiError && e.code === 404,
      );
    } else {
      assert.deepEqual(summary(resolvePath(path)), expected);
    }
  });
}

const accepts: [accept: string | undefined, expected: ReturnType<typeof negotiate>][] = [
  [undefined, { as: "json" }],
  ["application/json", { as: "json" }],
  ["application/vnd.kubernetes.protobuf,application/json", { as: "json" }],
  [
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
    { as: "table", version: "v1" },
  ],
  ["application/json;as=Table;v=v1beta1;g=meta.k8s.io", { as: "table", version: "v1beta1" }],
  ["application/json;as=Table;v=v2;g=meta.k8s.io, application/json", { as: "json" }],
  ["application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", { as: "json" }],
  ["*/*", { as: "json" }],
];

test("negotiate refuses only conversions it can not do", () => {
  assert.throws(
    () => negotiate("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"),
    (e: unknown) => e instanceof ApiError && e.code === 406 && e.reason === "NotAcceptable",
  );
});

for (const [accept, expected] of accepts) {
  test(`negotiate ${accept ?? "(none)"}`, () => assert.deepEqual(negotiate(accept), expected));
}
