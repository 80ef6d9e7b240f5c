// What the taken route does on the way, as each data plane applies it: faults (per route, per
// weighted cluster, header-driven), timeouts, retries, header modifiers, rewrites, mirrors,
// redirects and direct responses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { durationMs } from "../proto.ts";
import { explainText } from "./explain.ts";
import { simulateRequest } from "./simulate.ts";
import { call, fault, faultFilterName, mesh, percent, prefixRoute, route, target } from "./testing.ts";

for (const flavour of ["grpc", "envoy"] as const) {
  test(`${flavour}: fault abort for every request fails with its status; for some, the share is partial`, () => {
    const abortAll = simulateRequest(
      mesh(
        flavour,
        [
          prefixRoute("r", "/", "v1", {
            typedPerFilterConfig: fault({
              abort: { errorType: { case: "grpcStatus", value: 8 }, percentage: percent(100) },
            }),
          }),
        ],
        ["v1"],
      ),
      call,
      flavour,
    );
    assert.equal(abortAll.outcome, "failed");
    assert.equal(abortAll.failure?.grpcStatus, 8);
    assert.deepEqual(abortAll.backends[0]?.fault, {
      filter: faultFilterName,
      level: "route",
      delay: undefined,
      abort: { grpcStatus: 8, httpStatus: undefined, fromHeader: false, percent: 100 },
    });
    const someAborted = simulateRequest(
      mesh(
        flavour,
        [
          prefixRoute("r", "/", "v1", {
            typedPerFilterConfig: fault({
              abort: { errorType: { case: "httpStatus", value: 503 }, percentage: percent(30) },
              delay: {
                faultDelaySecifier: { case: "fixedDelay", value: durationMs(200) },
                percentage: percent(100),
              },
            }),
          }),
        ],
        ["v1"],
      ),
      call,
      flavour,
    );
    assert.equal(someAborted.outcome, "partial");
    // gRPC clients map an HTTP abort status to a gRPC code (503 → UNAVAILABLE).
    assert.equal(someAborted.backends[0]?.fault?.abort?.grpcStatus, flavour === "grpc" ? 14 : undefined);
    assert.deepEqual(someAborted.backends[0]?.fault?.delay, { ms: 200, fromHeader: false, percent: 100 });
    assert.match(explainText(someAborted), /delay 200 ms for 100%, abort with .* for 30%/);
  });

  test(`${flavour}: a weighted cluster's own fault override beats the route's`, () => {
    const result = simulateRequest(
      mesh(
        flavour,
        [
          route({
            name: "r",
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            typedPerFilterConfig: fault({
              delay: {
                faultDelaySecifier: { case: "fixedDelay", value: durationMs(50) },
                percentage: percent(100),
              },
            }),
            action: {
              case: "route",
              value: {
                clusterSpecifier: {
                  case: "weightedClusters",
                  value: {
                    clusters: [
                      { name: "v1", weight: 1 },
                      {
                        name: "v2",
                        weight: 1,
                        typedPerFilterConfig: fault({
                          abort: { errorType: { case: "grpcStatus", value: 14 }, percentage: percent(100) },
                        }),
                      },
                    ],
                  },
                },
              },
            },
          }),
        ],
        ["v1", "v2"],
      ),
      call,
      flavour,
    );
    assert.deepEqual(
      result.backends.map((b) => [b.cluster, b.fault?.level, b.ok]),
      [
        ["v1", "route", true],
        ["v2", "weighted cluster v2", false],
      ],
    );
    assert.equal(result.outcome, "partial");
  });

  test(`${flavour}: header-driven faults read the x-envoy-fault headers`, () => {
    const resources = mesh(
      flavour,
      [
        prefixRoute("r", "/", "v1", {
          typedPerFilterConfig: fault({
            abort: { errorType: { case: "headerAbort", value: {} }, percentage: percent(100) },
          }),
        }),
      ],
      ["v1"],
    );
    assert.equal(simulateRequest(resources, call, flavour).outcome, "routed");
    const aborted = simulateRequest(
      resources,
      { ...call, headers: [["x-envoy-fault-abort-grpc-request", "7"]] },
      flavour,
    );
    assert.equal(aborted.outcome, "failed");
    assert.equal(aborted.backends[0]?.fault?.abort?.fromHeader, true);
    assert.equal(aborted.failure?.grpcStatus, 7);
  });
}

test("envoy: redirects and direct responses are answered by the sidecar", () => {
  const redirect = simulateRequest(
    mesh(
      "envoy",
      [
        route({
          name: "moved",
          match: { pathSpecifier: { case: "prefix", value: "/old/" } },
          action: {
            case: "redirect",
            value: {
              schemeRewriteSpecifier: { case: "httpsRedirect", value: true },
              hostRedirect: "new.example",
              portRedirect: 8443,
              pathRewriteSpecifier: { case: "prefixRewrite", value: "/new/" },
              responseCode: 4,
            },
          },
        }),
      ],
      [],
    ),
    { target, path: "/old/page?q=1" },
    "envoy",
  );
  assert.equal(redirect.outcome, "redirected");
  assert.deepEqual(redirect.action?.redirect, {
    status: 308,
    location: "https://new.example:8443/new/page?q=1",
  });
  const ok = simulateRequest(
    mesh(
      "envoy",
      [
        route({
          name: "d",
          match: { pathSpecifier: { case: "prefix", value: "/" } },
          action: {
            case: "directResponse",
            value: { status: 200, body: { specifier: { case: "inlineString", value: "hi" } } },
          },
        }),
      ],
      [],
    ),
    call,
    "envoy",
  );
  assert.equal(ok.outcome, "direct-response");
  assert.deepEqual(ok.action?.directResponse, { status: 200, body: "hi" });
  const error = simulateRequest(
    mesh(
      "envoy",
      [
        route({
          name: "d",
          match: { pathSpecifier: { case: "prefix", value: "/" } },
          action: { case: "directResponse", value: { status: 500 } },
        }),
      ],
      [],
    ),
    call,
    "envoy",
  );
  assert.equal(error.outcome, "failed");
  assert.equal(error.failure?.httpStatus, 500);
});

test("timeouts: gRPC caps the deadline with max_stream_duration; Envoy uses route.timeout (default 15 s)", () => {
  const routes = [
    prefixRoute("r", "/", "v1", {
      action: {
        case: "route",
        value: {
          clusterSpecifier: { case: "cluster", value: "v1" },
          timeout: durationMs(3000),
          maxStreamDuration: { maxStreamDuration: durationMs(1500), grpcTimeoutHeaderMax: durationMs(1500) },
        },
      },
    }),
  ];
  const grpc = simulateRequest(mesh("grpc", routes, ["v1"]), call, "grpc");
  assert.deepEqual(grpc.action?.timeout, { ms: 1500, source: "max_stream_duration.grpc_timeout_header_max" });
  assert.ok(
    grpc.notes.includes(
      "proxyless gRPC clients ignore RouteAction.timeout (they use max_stream_duration) on this route",
    ),
  );
  const envoy = simulateRequest(mesh("envoy", routes, ["v1"]), call, "envoy");
  assert.deepEqual(envoy.action?.timeout, { ms: 3000, source: "route timeout" });
  assert.equal(envoy.action?.maxStreamDurationMs, 1500);
  const unset = simulateRequest(mesh("envoy", [prefixRoute("r", "/", "v1")], ["v1"]), call, "envoy");
  assert.deepEqual(unset.action?.timeout, { ms: 15_000, source: "Envoy's default (route timeout unset)" });
  const none = simulateRequest(mesh("grpc", [prefixRoute("r", "/", "v1")], ["v1"]), call, "grpc");
  assert.deepEqual(none.action?.timeout, {
    ms: undefined,
    source: "no max_stream_duration: the caller's deadline applies",
  });
});

test("timeouts: an injected delay longer than the timeout always fails", () => {
  const result = simulateRequest(
    mesh(
      "grpc",
      [
        prefixRoute("r", "/", "v1", {
          typedPerFilterConfig: fault({
            delay: {
              faultDelaySecifier: { case: "fixedDelay", value: durationMs(2000) },
              percentage: percent(100),
            },
          }),
          action: {
            case: "route",
            value: {
              clusterSpecifier: { case: "cluster", value: "v1" },
              maxStreamDuration: { maxStreamDuration: durationMs(1000) },
            },
          },
        }),
      ],
      ["v1"],
    ),
    call,
    "grpc",
  );
  assert.equal(result.outcome, "failed");
  assert.match(result.backends[0]?.reason ?? "", /delay \(2000 ms\) always exceeds the timeout \(1000 ms\)/);
});

test("retries: gRPC keeps only gRPC status names; Envoy reports everything", () => {
  const routes = [
    prefixRoute("r", "/", "v1", {
      action: {
        case: "route",
        value: {
          clusterSpecifier: { case: "cluster", value: "v1" },
          retryPolicy: {
            retryOn: "unavailable,5xx,retriable-status-codes",
            numRetries: 3,
            retriableStatusCodes: [503],
            perTryTimeout: durationMs(500),
            retryBackOff: { baseInterval: durationMs(100) },
          },
        },
      },
    }),
  ];
  const grpc = simulateRequest(mesh("grpc", routes, ["v1"]), call, "grpc");
  assert.deepEqual(grpc.action?.retry, {
    retryOn: ["unavailable"],
    numRetries: 3,
    perTryTimeoutMs: undefined,
    retriableStatusCodes: [],
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    source: "route",
  });
  assert.ok(
    grpc.notes.includes(
      "gRPC clients ignore retry_on 5xx, retriable-status-codes (gRFC A44 retries gRPC status codes only)",
    ),
  );
  const envoy = simulateRequest(mesh("envoy", routes, ["v1"]), call, "envoy");
  assert.deepEqual(envoy.action?.retry?.retryOn, ["unavailable", "5xx", "retriable-status-codes"]);
  assert.equal(envoy.action?.retry?.perTryTimeoutMs, 500);
  assert.match(
    explainText(envoy),
    /retry \(route\): up to 3 on unavailable, 5xx, retriable-status-codes \[503\], backoff 100 ms-1 s, per try 500 ms/,
  );
});

test("header modifiers, rewrites and mirrors: applied by Envoy, ignored by gRPC clients", () => {
  const routes = [
    route({
      name: "r",
      match: { pathSpecifier: { case: "prefix", value: "/api/" } },
      requestHeadersToAdd: [
        { header: { key: "X-Canary", value: "yes" }, appendAction: 2 },
        { header: { key: "x-trace", value: "1" } },
      ],
      requestHeadersToRemove: ["x-debug"],
      responseHeadersToAdd: [{ header: { key: "x-served-by", value: "v1" }, appendAction: 1 }],
      action: {
        case: "route",
        value: {
          clusterSpecifier: { case: "cluster", value: "v1" },
          prefixRewrite: "/v2/",
          hostRewriteSpecifier: { case: "hostRewriteLiteral", value: "backend.internal" },
          requestMirrorPolicies: [
            { cluster: "shadow", runtimeFraction: { defaultValue: percent(10) } },
            { cluster: "nowhere" },
          ],
        },
      },
    }),
  ];
  const envoy = simulateRequest(
    mesh("envoy", routes, ["v1", "shadow"]),
    { target, path: "/api/items?x=1" },
    "envoy",
  );
  assert.deepEqual(envoy.action?.requestHeaders, [
    { action: "set", name: "x-canary", value: "yes", level: "route" },
    { action: "add", name: "x-trace", value: "1", level: "route" },
    { action: "remove", name: "x-debug", value: undefined, level: "route" },
  ]);
  assert.deepEqual(envoy.action?.responseHeaders, [
    { action: "add-if-absent", name: "x-served-by", value: "v1", level: "route" },
  ]);
  assert.equal(envoy.action?.rewrittenPath, "/v2/items?x=1");
  assert.equal(envoy.action?.rewrittenHost, "backend.internal");
  assert.deepEqual(envoy.action?.mirrors, [
    { cluster: "shadow", percent: 10, known: true },
    { cluster: "nowhere", percent: 100, known: false },
  ]);
  const grpc = simulateRequest(
    mesh("grpc", routes, ["v1", "shadow"]),
    { ...call, path: "/api/items" },
    "grpc",
  );
  assert.deepEqual(
    [grpc.action?.requestHeaders, grpc.action?.mirrors, grpc.action?.rewrittenPath],
    [[], [], undefined],
  );
  assert.ok(
    grpc.notes.includes(
      "proxyless gRPC clients ignore header modifiers, rewrites, request mirrors on this route",
    ),
  );
});

test("envoy: regex rewrite keeps the query string", () => {
  const routes = [
    prefixRoute("r", "/", "v1", {
      action: {
        case: "route",
        value: {
          clusterSpecifier: { case: "cluster", value: "v1" },
          regexRewrite: { pattern: { regex: "^/users/([0-9]+)/profile$" }, substitution: "/profiles/\\1" },
        },
      },
    }),
  ];
  const result = simulateRequest(
    mesh("envoy", routes, ["v1"]),
    { target, path: "/users/42/profile?full=1" },
    "envoy",
  );
  assert.equal(result.action?.rewrittenPath, "/profiles/42?full=1");
});
