// Route actions: weighted and invalid backends, timeouts, retries, filters, hash keys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { Route, RouteAction } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { HeaderValueOption_HeaderAppendAction } from "../../gen/envoy/config/core/v3/base_pb.js";
import { RedirectAction_RedirectResponseCode } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { MeshService, RouteFilter, RouteKind, RouteRule } from "../../mesh/index.ts";
import { blackholeCluster } from "../names.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { outboundRouteConfiguration } from "./route-config.ts";
import { attach, backend, meshOf, policy, route, rule, service, servicePort } from "./testing.ts";
import { viewOf } from "../testing.ts";

const outbound = (name: string, port = 80) => `outbound|${port}||${name}.default.svc.cluster.local`;

const v1 = service("default", "v1", { ports: [servicePort(80)] });
const v2 = service("default", "v2", { ports: [servicePort(80)] });

/** The first route of `web`'s virtual host when one rule attaches to it. */
function routeFor(
  r: Partial<RouteRule>,
  options: { kind?: RouteKind; web?: MeshService; extra?: MeshService[] } = {},
): Route {
  const web = options.web ?? service("default", "web", { ports: [servicePort(80)] });
  const attached = route(options.kind ?? "HTTPRoute", "default", "r", [rule(r)]);
  const mesh = meshOf([web, v1, v2, ...(options.extra ?? [])], [attach(attached, web, 80)]);
  const config = outboundRouteConfiguration(viewOf(mesh), 80, "default");
  assert.ok(config);
  assertValidEnvoy([{ schema: RouteConfigurationSchema, message: config }]);
  const vhost = config?.virtualHosts.find((v) => v.name === "web.default.svc.cluster.local:80");
  assert.ok(vhost?.routes[0]);
  return vhost.routes[0];
}

function actionOf(r: Route): RouteAction {
  assert.equal(r.action.case, "route");
  return r.action.value as RouteAction;
}

function abortOf(config: Record<string, Any> | undefined) {
  const packed = config?.["envoy.filters.http.fault"];
  assert.ok(packed, "fault filter config expected");
  return anyUnpack(packed, HTTPFaultSchema)?.abort;
}

test("weights: zero weights are dropped, the same backend twice is merged, a single backend is a cluster", () => {
  const split = actionOf(
    routeFor({
      backends: [
        backend("default", "v1", 80, 70),
        backend("default", "v2", 80, 30),
        backend("default", "v1", 80, 10),
        backend("default", "web", 80, 0),
      ],
    }),
  );
  assert.equal(split.clusterSpecifier.case, "weightedClusters");
  const clusters =
    split.clusterSpecifier.case === "weightedClusters" ? split.clusterSpecifier.value.clusters : [];
  assert.deepEqual(
    clusters.map((c) => [c.name, c.weight]),
    [
      [outbound("v1"), 80],
      [outbound("v2"), 30],
    ],
  );
  const single = actionOf(routeFor({ backends: [backend("default", "v1", 80, 5)] }));
  assert.deepEqual(single.clusterSpecifier, { case: "cluster", value: outbound("v1") });
});

test("an invalid backend's share aborts with 500 (HTTPRoute) or UNAVAILABLE (GRPCRoute)", () => {
  for (const [kind, expected] of [
    ["HTTPRoute", { case: "httpStatus", value: 500 }],
    ["GRPCRoute", { case: "grpcStatus", value: 14 }],
  ] as const) {
    const action = actionOf(
      routeFor(
        { backends: [backend("default", "v1", 80, 3), backend("default", "gone", 80, 1, "BackendNotFound")] },
        { kind },
      ),
    );
    assert.equal(action.clusterSpecifier.case, "weightedClusters");
    const clusters =
      action.clusterSpecifier.case === "weightedClusters" ? action.clusterSpecifier.value.clusters : [];
    assert.deepEqual(
      clusters.map((c) => [c.name, c.weight]),
      [
        [outbound("v1"), 3],
        [blackholeCluster, 1],
      ],
    );
    assert.deepEqual(Object.keys(clusters[0]?.typedPerFilterConfig ?? {}), []);
    const abort = abortOf(clusters[1]?.typedPerFilterConfig);
    assert.deepEqual({ case: abort?.errorType.case, value: abort?.errorType.value }, expected);
    assert.equal(abort?.percentage?.numerator, 100);
  }
});

test("no valid backend: the route answers 500 itself (503, UNAVAILABLE to gRPC callers)", () => {
  const cases: [Partial<RouteRule>, RouteKind, number][] = [
    [{ backends: [backend("default", "gone", 80, 1, "BackendNotFound")] }, "HTTPRoute", 500],
    [{ backends: [] }, "HTTPRoute", 500],
    [{ backends: [backend("default", "v1", 80, 0)] }, "HTTPRoute", 500],
    [{ backends: [backend("default", "gone", 80, 1, "BackendNotFound")] }, "GRPCRoute", 503],
  ];
  for (const [r, kind, status] of cases) {
    const got = routeFor(r, { kind });
    assert.equal(got.action.case, "directResponse");
    assert.equal(got.action.case === "directResponse" ? got.action.value.status : 0, status);
  }
});

test("timeouts: request timeout is the route timeout, unset means none (0s), backendRequest is per try", () => {
  const unset = actionOf(routeFor({ backends: [backend("default", "v1", 80)] }));
  assert.equal(unset.timeout?.seconds, 0n);
  assert.equal(unset.timeout?.nanos, 0);
  assert.equal(unset.retryPolicy, undefined);
  const set = actionOf(
    routeFor({
      backends: [backend("default", "v1", 80)],
      requestTimeoutMs: 2500,
      backendRequestTimeoutMs: 500,
    }),
  );
  assert.deepEqual([set.timeout?.seconds, set.timeout?.nanos], [2n, 500_000_000]);
  assert.equal(set.retryPolicy?.numRetries, 0);
  assert.equal(set.retryPolicy?.retryOn, "");
  assert.deepEqual(
    [set.retryPolicy?.perTryTimeout?.seconds, set.retryPolicy?.perTryTimeout?.nanos],
    [0n, 500_000_000],
  );
});

test("retry: HTTP codes, gRPC codes, attempts and back-off; the Service's policy fills in", () => {
  const retry = {
    attempts: 3,
    httpCodes: [503, 500, 503],
    grpcCodes: ["unavailable"],
    backoffBaseMs: 100,
    backoffMaxMs: 50,
  };
  const own = actionOf(routeFor({ backends: [backend("default", "v1", 80)], retry })).retryPolicy;
  assert.equal(own?.retryOn, "connect-failure,refused-stream,retriable-status-codes,unavailable");
  assert.deepEqual(own?.retriableStatusCodes, [503, 500]);
  assert.equal(own?.numRetries, 3);
  // A maximum below the base is raised to it: Envoy rejects max < base.
  assert.deepEqual(
    [own?.retryBackOff?.baseInterval?.nanos, own?.retryBackOff?.maxInterval?.nanos],
    [100_000_000, 100_000_000],
  );

  const fromPolicy = policy({
    retry: {
      attempts: 2,
      httpCodes: [],
      grpcCodes: ["resource-exhausted"],
      backoffBaseMs: undefined,
      backoffMaxMs: undefined,
    },
  });
  const web = service("default", "web", { ports: [servicePort(80, { policy: fromPolicy })] });
  const inherited = actionOf(routeFor({ backends: [backend("default", "v1", 80)] }, { web })).retryPolicy;
  assert.equal(inherited?.retryOn, "connect-failure,refused-stream,resource-exhausted");
  assert.deepEqual(inherited?.retriableStatusCodes, []);
  assert.equal(inherited?.retryBackOff, undefined);
});

test("header modifiers: set overwrites, add appends, remove removes, on requests and responses", () => {
  const filters: RouteFilter[] = [
    {
      type: "RequestHeaderModifier",
      modifier: { set: [{ name: "x-a", value: "1" }], add: [{ name: "x-b", value: "2" }], remove: ["x-c"] },
    },
    {
      type: "ResponseHeaderModifier",
      modifier: { set: [], add: [{ name: "x-d", value: "4" }], remove: ["server"] },
    },
  ];
  const got = routeFor({ backends: [backend("default", "v1", 80)], filters });
  assert.deepEqual(
    got.requestHeadersToAdd.map((h) => [h.header?.key, h.header?.value, h.appendAction]),
    [
      ["x-a", "1", HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD],
      ["x-b", "2", HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD],
    ],
  );
  assert.deepEqual(got.requestHeadersToRemove, ["x-c"]);
  assert.deepEqual(
    got.responseHeadersToAdd.map((h) => [h.header?.key, h.appendAction]),
    [["x-d", HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD]],
  );
  assert.deepEqual(got.responseHeadersToRemove, ["server"]);
});

test("mirrors: valid backends with their fraction; invalid or 0% mirrors are left out", () => {
  const filters: RouteFilter[] = [
    { type: "RequestMirror", backend: backend("default", "v2", 80), percent: 12.5 },
    { type: "RequestMirror", backend: backend("default", "v2", 80), percent: 100 },
    { type: "RequestMirror", backend: backend("default", "gone", 80, 1, "BackendNotFound"), percent: 50 },
    { type: "RequestMirror", backend: backend("default", "v1", 80), percent: 0 },
  ];
  const mirrors = actionOf(
    routeFor({ backends: [backend("default", "v1", 80)], filters }),
  ).requestMirrorPolicies;
  assert.deepEqual(
    mirrors.map((m) => [
      m.cluster,
      m.runtimeFraction?.defaultValue?.numerator,
      m.runtimeFraction?.defaultValue?.denominator,
    ]),
    [
      [outbound("v2"), 1250, 1],
      [outbound("v2"), 100, 0],
    ],
  );
});

test("URLRewrite hostname rewrites the Host header", () => {
  const action = actionOf(
    routeFor({
      backends: [backend("default", "v1", 80)],
      filters: [{ type: "URLRewrite", hostname: "internal.example", path: undefined }],
    }),
  );
  assert.deepEqual(action.hostRewriteSpecifier, { case: "hostRewriteLiteral", value: "internal.example" });
  assert.equal(action.prefixRewrite, "");
  assert.equal(action.regexRewrite, undefined);
});

test("RequestRedirect: scheme, host, port, path and every status code", () => {
  const codes = new Map([
    [301, RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY],
    [302, RedirectAction_RedirectResponseCode.FOUND],
    [303, RedirectAction_RedirectResponseCode.SEE_OTHER],
    [307, RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT],
    [308, RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT],
  ]);
  for (const [statusCode, expected] of codes) {
    const got = routeFor({
      filters: [
        {
          type: "RequestRedirect",
          scheme: "https",
          hostname: "example.com",
          port: 8443,
          path: { type: "ReplaceFullPath", value: "/moved" },
          statusCode,
        },
      ],
    });
    assert.equal(got.action.case, "redirect");
    const redirect = got.action.case === "redirect" ? got.action.value : undefined;
    assert.equal(redirect?.responseCode, expected);
    assert.deepEqual(redirect?.schemeRewriteSpecifier, { case: "schemeRedirect", value: "https" });
    assert.equal(redirect?.hostRedirect, "example.com");
    assert.equal(redirect?.portRedirect, 8443);
    assert.deepEqual(redirect?.pathRewriteSpecifier, { case: "pathRedirect", value: "/moved" });
  }
  const plain = routeFor({
    filters: [
      {
        type: "RequestRedirect",
        scheme: undefined,
        hostname: undefined,
        path: { type: "ReplacePrefixMatch", value: "/v2" },
        port: undefined,
        statusCode: 302,
      },
    ],
  });
  const redirect = plain.action.case === "redirect" ? plain.action.value : undefined;
  assert.equal(redirect?.schemeRewriteSpecifier.case, undefined);
  assert.equal(redirect?.portRedirect, 0);
  // Under PathPrefix `/` the replacement goes in front of the path.
  assert.equal(redirect?.pathRewriteSpecifier.case, "regexRewrite");
});

test("a Fault filter becomes the route's fault filter config", () => {
  const got = routeFor({
    backends: [backend("default", "v1", 80)],
    filters: [
      {
        type: "Fault",
        fault: {
          source: "FaultInjection default/f",
          delay: { fixedDelayMs: 1500, percent: 10 },
          abort: { grpcStatus: undefined, httpStatus: 503, percent: 5 },
        },
      },
    ],
  });
  const packed = got.typedPerFilterConfig["envoy.filters.http.fault"];
  assert.ok(packed);
  const fault = anyUnpack(packed, HTTPFaultSchema);
  assert.deepEqual(fault?.abort?.errorType, { case: "httpStatus", value: 503 });
  assert.equal(fault?.abort?.percentage?.numerator, 5);
  assert.equal(fault?.delay?.faultDelaySecifier.case, "fixedDelay");
  assert.equal(fault?.delay?.percentage?.numerator, 10);
});

test("hash keys come from RingHash backends: header and source IP; gRPC channel affinity has no Envoy form", () => {
  const ring = policy({
    loadBalancer: "RingHash",
    hashPolicies: [{ type: "Header", name: "x-user" }, { type: "SourceIP" }, { type: "Channel" }],
  });
  const sticky = service("default", "sticky", { ports: [servicePort(80, { policy: ring })] });
  const action = actionOf(
    routeFor(
      { backends: [backend("default", "sticky", 80), backend("default", "v1", 80)] },
      { extra: [sticky] },
    ),
  );
  const [header, source, ...rest] = action.hashPolicy.map((h) => h.policySpecifier);
  assert.equal(header?.case === "header" && header.value.headerName, "x-user");
  assert.equal(source?.case === "connectionProperties" && source.value.sourceIp, true);
  assert.deepEqual(rest, []);
  const plain = actionOf(routeFor({ backends: [backend("default", "v1", 80)] }));
  assert.deepEqual(plain.hashPolicy, []);
});
