// RDS for gRPC clients: retries (A44), faults (A33), ring-hash keys (A42), and the filters gRPC
// clients cannot apply.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toBinary, toJson } from "@bufbuild/protobuf";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { MeshSnapshot, RetryPolicy, RouteFilter, RouteRule, ServicePolicy } from "../../mesh/index.ts";
import { generateResources } from "../generator.ts";
import { packedTypesRegistry } from "../json.ts";
import { blackholeCluster, clusterName } from "../names.ts";
import { typeUrlOf } from "../proto.ts";
import { backend, mesh, policy, prefixMatch, route, rule, service, servicePort } from "./testing/mesh.ts";

const registry = packedTypesRegistry();
const rds = typeUrlOf(RouteConfigurationSchema);
const greeterRoutes = "greeter.default.svc.cluster.local:50051";
const cluster = (name: string) => clusterName("default", name, 50051, "cluster.local");

interface RouteJson {
  name: string;
  match: Record<string, unknown>;
  route: Record<string, unknown>;
  typedPerFilterConfig?: Record<string, unknown>;
}

function generate(snapshot: MeshSnapshot) {
  const profile = { namespace: "default", flavour: "grpc" as const, instanceIps: [] };
  const [config] = generateResources(snapshot, profile, rds, { wildcard: false, names: [greeterRoutes] });
  return config ?? assert.fail(`no route configuration ${greeterRoutes}`);
}

function routes(snapshot: MeshSnapshot): RouteJson[] {
  const json = toJson(RouteConfigurationSchema, generate(snapshot).message as never, {
    registry,
  }) as unknown as {
    virtualHosts: { routes: RouteJson[] }[];
  };
  return json.virtualHosts[0]?.routes ?? [];
}

/** `greeter` (with `greeterPolicy`) routed by one GRPCRoute with `rules`, backends v1 and v2. */
function routed(
  rules: RouteRule[],
  greeterPolicy?: ServicePolicy,
  backendPolicy?: ServicePolicy,
): MeshSnapshot {
  return mesh(
    [
      service("greeter", { policy: greeterPolicy }),
      service("v1", { policy: backendPolicy }),
      service("v2", { policy: backendPolicy }),
    ],
    [{ route: route(rules), parent: "greeter" }],
  );
}

const retry = (grpcCodes: string[], attempts = 2, httpCodes: number[] = []): RetryPolicy => ({
  attempts,
  grpcCodes,
  httpCodes,
  backoffBaseMs: undefined,
  backoffMaxMs: undefined,
});

test("retry: the rule's own, else the called Service's TrafficPolicy", () => {
  const all = routes(
    routed(
      [
        rule({ name: "own", backends: [backend("v1")], retry: retry(["cancelled"], 4) }),
        rule({ index: 1, name: "inherited", matches: [prefixMatch("/x/")], backends: [backend("v2")] }),
      ],
      policy({ retry: retry(["unavailable"]) }),
      policy({ retry: retry(["internal"]) }),
    ),
  );
  const own = all.find((r) => r.name.endsWith("/own"));
  const inherited = all.find((r) => r.name.endsWith("/inherited"));
  assert.deepEqual(inherited?.route.retryPolicy, { retryOn: "unavailable", numRetries: 2 });
  assert.deepEqual(own?.route.retryPolicy, { retryOn: "cancelled", numRetries: 4 });
});

test("retry: a rule's retry gRPC cannot apply replaces the Service's and emits none", () => {
  const [only] = routes(
    routed(
      [rule({ backends: [backend("v1")], retry: retry([], 2, [500]) })],
      policy({ retry: retry(["unavailable"]) }),
    ),
  );
  assert.equal(only?.route.retryPolicy, undefined);
});

test("retry: the port's policy replaces the Service's; the default route carries it too", () => {
  const greeter = service("greeter", {
    ports: [servicePort(50051, [], policy({ retry: retry(["resource-exhausted"], 1) }))],
    policy: policy({ retry: retry(["unavailable"]) }),
  });
  const [only] = routes(mesh([greeter]));
  assert.equal(only?.name, "default");
  assert.deepEqual(only?.route, {
    cluster: cluster("greeter"),
    retryPolicy: { retryOn: "resource-exhausted", numRetries: 1 },
  });
});

test("hash policies: header and channel keys of RingHash backends; source IP skipped", () => {
  const ringHash = policy({
    loadBalancer: "RingHash",
    hashPolicies: [{ type: "Header", name: "X-User" }, { type: "SourceIP" }, { type: "Channel" }],
  });
  const [only] = routes(
    routed([rule({ backends: [backend("v1", 50051, 3), backend("v2")] })], undefined, ringHash),
  );
  assert.deepEqual(only?.route.hashPolicy, [
    { header: { headerName: "x-user" } },
    { filterState: { key: "io.grpc.channel_id" } },
  ]);
});

test("hash policies: the default route of a RingHash Service carries its keys", () => {
  const ringHash = policy({ loadBalancer: "RingHash", hashPolicies: [{ type: "Channel" }] });
  const [only] = routes(mesh([service("greeter", { policy: ringHash })]));
  assert.deepEqual(only?.route, {
    cluster: cluster("greeter"),
    hashPolicy: [{ filterState: { key: "io.grpc.channel_id" } }],
  });
});

test("hash policies: none for round-robin backends, invalid or zero-weight backends", () => {
  const ringHash = policy({ loadBalancer: "RingHash", hashPolicies: [{ type: "Channel" }] });
  const roundRobin = policy({ hashPolicies: [{ type: "Channel" }] });
  const zero = { ...backend("v1"), weight: 0 };
  const invalid = { ...backend("v1"), invalid: "Service default/v1 has no port 50051" };
  for (const [what, rules, backendPolicy] of [
    ["round robin", [rule({ backends: [backend("v1")] })], roundRobin],
    ["zero weight", [rule({ backends: [zero, backend("gone")] })], ringHash],
    ["invalid", [rule({ backends: [invalid, backend("gone")] })], ringHash],
  ] as const) {
    const [only] = routes(routed([...rules], undefined, backendPolicy));
    assert.equal(only?.route.hashPolicy, undefined, what);
  }
});

test("a Fault filter becomes the route's fault filter config, on every route of the rule", () => {
  const faulty: RouteFilter = {
    type: "Fault",
    fault: {
      source: "FaultInjection default/f",
      delay: { fixedDelayMs: 200, percent: 10 },
      abort: { grpcStatus: 14, httpStatus: undefined, percent: 5 },
    },
  };
  const both = routes(
    routed([rule({ matches: [prefixMatch("/a")], backends: [backend("v1")], filters: [faulty] })]),
  );
  assert.equal(both.length, 2);
  for (const r of both) {
    assert.deepEqual(r.typedPerFilterConfig, {
      "envoy.filters.http.fault": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
        delay: { fixedDelay: "0.200s", percentage: { numerator: 10 } },
        abort: { grpcStatus: 14, percentage: { numerator: 5 } },
      },
    });
  }
});

test("a redirect rule fails its calls on the blackhole instead of reaching a later rule", () => {
  const redirect: RouteFilter = {
    type: "RequestRedirect",
    scheme: "https",
    hostname: "elsewhere",
    path: undefined,
    port: undefined,
    statusCode: 302,
  };
  const [only] = routes(
    routed(
      [rule({ backends: [backend("v1")], filters: [redirect], retry: retry(["unavailable"]) })],
      undefined,
      policy({ loadBalancer: "RingHash", hashPolicies: [{ type: "Channel" }] }),
    ),
  );
  assert.deepEqual(only?.route, { cluster: blackholeCluster });
  assert.equal(only?.typedPerFilterConfig, undefined);
});

test("header modifiers, mirrors, rewrites and per-try timeouts are not emitted", () => {
  const modifier = { set: [{ name: "x-a", value: "1" }], add: [], remove: ["x-b"] };
  const filters: RouteFilter[] = [
    { type: "RequestHeaderModifier", modifier },
    { type: "ResponseHeaderModifier", modifier },
    { type: "RequestMirror", backend: backend("v2"), percent: 100 },
    { type: "URLRewrite", hostname: "other", path: { type: "ReplaceFullPath", value: "/x" } },
  ];
  const plain = rule({ backends: [backend("v1")], requestTimeoutMs: 1000 });
  assert.deepEqual(
    routes(routed([{ ...plain, filters, backendRequestTimeoutMs: 300 }])),
    routes(routed([plain])),
  );
  assert.deepEqual(routes(routed([plain]))[0]?.route, {
    cluster: cluster("v1"),
    maxStreamDuration: { maxStreamDuration: "1s", grpcTimeoutHeaderMax: "1s" },
  });
});

test("equal input gives byte-identical route configurations", () => {
  const build = () =>
    routed(
      [rule({ backends: [backend("v1", 50051, 9), backend("v2")], retry: retry(["unavailable"]) })],
      undefined,
      policy({ loadBalancer: "RingHash", hashPolicies: [{ type: "Header", name: "x-user" }] }),
    );
  const encode = () => {
    const generated = generate(build());
    return toBinary(RouteConfigurationSchema, generated.message as never);
  };
  assert.deepEqual(encode(), encode());
});
