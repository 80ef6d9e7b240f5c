// The simulation on hand-built xDS: listener, virtual host and route selection with the reason
// every route passed over did not match, shares of weighted clusters, and the explain text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { FilterChainSchema } from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { blackholeCluster } from "../names.ts";
import { explainText } from "./explain.ts";
import { simulateRequest } from "./simulate.ts";
import {
  apiListener,
  assignment,
  call,
  edsCluster,
  manager,
  mesh,
  percent,
  prefixRoute,
  resources,
  route,
  routeConfiguration,
  socketListener,
  target,
} from "./testing.ts";
import type { SimulationFlavour } from "./types.ts";

for (const flavour of ["grpc", "envoy"] as const) {
  test(`${flavour}: the first matching route wins; earlier routes say which condition failed`, () => {
    const result = simulateRequest(
      mesh(
        flavour,
        [
          route({
            name: "HTTPRoute/default/greeter/rule/0",
            match: { pathSpecifier: { case: "path", value: "/pkg.Greeter/SayBye" } },
            action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "v2" } } },
          }),
          route({
            name: "GRPCRoute/default/greeter/rule/vip",
            match: {
              pathSpecifier: { case: "prefix", value: "/pkg.Greeter/" },
              headers: [{ name: "x-user", headerMatchSpecifier: { case: "exactMatch", value: "alice" } }],
            },
            action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "v2" } } },
          }),
          prefixRoute("GRPCRoute/default/greeter/rule/1", "/pkg.Greeter/", "v1"),
        ],
        ["v1", "v2"],
      ),
      call,
      flavour,
    );
    assert.equal(result.outcome, "routed");
    assert.deepEqual(
      result.routes.map((r) => [r.result, r.reason]),
      [
        ["no-match", "path /pkg.Greeter/SayHello is not /pkg.Greeter/SayBye"],
        ["no-match", 'header x-user: missing (wants exact "alice")'],
        ["matched", undefined],
      ],
    );
    assert.deepEqual(result.route?.origin, {
      kind: "GRPCRoute",
      namespace: "default",
      name: "greeter",
      rule: "1",
    });
    assert.deepEqual(result.route?.held, ["path /pkg.Greeter/SayHello starts with /pkg.Greeter/"]);
    assert.deepEqual(result.routes[1]?.origin?.rule, "vip");
    assert.deepEqual(
      result.backends.map((b) => [b.cluster, b.share, b.ok, b.usableEndpoints]),
      [["v1", 1, true, 1]],
    );
  });

  test(`${flavour}: no matching route fails the request`, () => {
    const result = simulateRequest(
      mesh(flavour, [prefixRoute("only", "/other/", "v1")], ["v1"]),
      call,
      flavour,
    );
    assert.equal(result.outcome, "failed");
    assert.equal(result.failure?.stage, "route");
    assert.deepEqual(
      flavour === "grpc" ? result.failure?.grpcStatus : result.failure?.httpStatus,
      flavour === "grpc" ? 14 : 404,
    );
  });

  test(`${flavour}: weighted clusters report each share; an invalid backend's share fails`, () => {
    const result = simulateRequest(
      mesh(
        flavour,
        [
          route({
            name: "split",
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            action: {
              case: "route",
              value: {
                clusterSpecifier: {
                  case: "weightedClusters",
                  value: {
                    clusters: [
                      { name: "v1", weight: 70 },
                      { name: blackholeCluster, weight: 20 },
                      { name: "v2", weight: 10 },
                    ],
                    totalWeight: 100,
                  },
                },
              },
            },
          }),
        ],
        ["v1", "v2"],
        { clusters: [edsCluster(blackholeCluster)], endpoints: [assignment(blackholeCluster, [])] },
      ),
      call,
      flavour,
    );
    assert.equal(result.outcome, "partial");
    assert.deepEqual(
      result.backends.map((b) => [b.cluster, b.weight, b.share, b.ok]),
      [
        ["v1", 70, 0.7, true],
        [blackholeCluster, 20, 0.2, false],
        ["v2", 10, 0.1, true],
      ],
    );
    assert.match(result.backends[1]?.reason ?? "", /invalid backendRef/);
    assert.match(explainText(result), /PARTIAL: 80% of matching requests are served/);
  });

  test(`${flavour}: every share invalid fails the request`, () => {
    const result = simulateRequest(
      mesh(flavour, [prefixRoute("r", "/", blackholeCluster)], [], {
        clusters: [edsCluster(blackholeCluster)],
        endpoints: [assignment(blackholeCluster, [])],
      }),
      call,
      flavour,
    );
    assert.equal(result.outcome, "failed");
    assert.equal(result.failure?.stage, "backend");
  });

  test(`${flavour}: a route to a cluster the data plane does not have`, () => {
    const result = simulateRequest(mesh(flavour, [prefixRoute("r", "/", "ghost")], []), call, flavour);
    assert.equal(result.outcome, "failed");
    assert.match(
      result.backends[0]?.reason ?? "",
      flavour === "grpc" ? /waits 15 s/ : /unknown cluster ghost/,
    );
  });

  test(`${flavour}: runtime_fraction takes part of the matching requests, the rest fall through`, () => {
    const result = simulateRequest(
      mesh(
        flavour,
        [
          prefixRoute("canary", "/", "v2", {
            match: {
              pathSpecifier: { case: "prefix", value: "/" },
              runtimeFraction: { defaultValue: percent(25) },
            },
          }),
          prefixRoute("stable", "/", "v1"),
        ],
        ["v1", "v2"],
      ),
      call,
      flavour,
    );
    assert.deepEqual(
      result.routes.map((r) => [r.name, r.result, r.fraction]),
      [
        ["canary", "fraction", 0.25],
        ["stable", "matched", undefined],
      ],
    );
    assert.match(explainText(result), /canary: takes 25% of matching requests/);
  });
}

test("grpc: query parameter routes never match; grpc-js-xds 1.14 would take them (noted)", () => {
  const result = simulateRequest(
    mesh(
      "grpc",
      [
        prefixRoute("debug", "/", "v2", {
          match: {
            pathSpecifier: { case: "prefix", value: "/" },
            queryParameters: [
              { name: "debug", queryParameterMatchSpecifier: { case: "presentMatch", value: true } },
            ],
          },
        }),
        prefixRoute("rest", "/", "v1"),
      ],
      ["v1", "v2"],
    ),
    call,
    "grpc",
  );
  assert.deepEqual(
    result.routes.map((r) => r.result),
    ["skipped", "matched"],
  );
  assert.equal(result.routes[0]?.reason, "query parameter matchers never match a gRPC call (gRFC A28)");
  assert.ok(result.notes.some((n) => n.includes("grpc-js-xds 1.14 ignores query_parameters")));
});

test("envoy: query parameters, method and content-type match", () => {
  const resources = mesh(
    "envoy",
    [
      prefixRoute("debug", "/", "v2", {
        match: {
          pathSpecifier: { case: "prefix", value: "/" },
          queryParameters: [
            {
              name: "debug",
              queryParameterMatchSpecifier: {
                case: "stringMatch",
                value: { matchPattern: { case: "exact", value: "1" } },
              },
            },
          ],
        },
      }),
      prefixRoute("get", "/", "v1", {
        match: {
          pathSpecifier: { case: "prefix", value: "/" },
          headers: [{ name: ":method", headerMatchSpecifier: { case: "exactMatch", value: "GET" } }],
        },
      }),
      prefixRoute("grpc", "/", "v1", { match: { pathSpecifier: { case: "prefix", value: "/" }, grpc: {} } }),
    ],
    ["v1", "v2"],
  );
  assert.equal(simulateRequest(resources, { target, path: "/x?debug=1" }, "envoy").route?.name, "debug");
  assert.equal(simulateRequest(resources, { target, path: "/x?debug=0" }, "envoy").route?.name, "get");
  const post = simulateRequest(resources, { target, path: "/x", method: "POST" }, "envoy");
  assert.equal(post.outcome, "failed");
  assert.deepEqual(
    post.routes.map((r) => r.reason),
    [
      'query parameter debug: missing (wants exact "1")',
      'header :method "POST" does not match exact "GET"',
      "content-type missing is not gRPC (match.grpc)",
    ],
  );
  assert.equal(simulateRequest(resources, { ...call, grpc: true }, "envoy").route?.name, "grpc");
});

test("grpc: a POST-only method header never holds (pseudo-headers are not metadata)", () => {
  const result = simulateRequest(
    mesh(
      "grpc",
      [
        prefixRoute("post", "/", "v1", {
          match: {
            pathSpecifier: { case: "prefix", value: "/" },
            headers: [{ name: ":method", headerMatchSpecifier: { case: "exactMatch", value: "POST" } }],
          },
        }),
      ],
      ["v1"],
    ),
    { ...call, method: "GET" },
    "grpc",
  );
  assert.equal(result.routes[0]?.reason, 'header :method: not gRPC metadata (wants exact "POST")');
  assert.ok(result.notes.includes("a gRPC call is always a POST; method GET does not apply"));
});

test("virtual hosts: exact beats suffix beats prefix beats *", () => {
  const vhosts = (domains: string[][]) =>
    create(RouteConfigurationSchema, {
      name: "rc",
      virtualHosts: domains.map((d, i) => ({
        name: `vh${i}`,
        domains: d,
        routes: [prefixRoute("r", "/", "v1")],
      })),
    });
  const pick = (domains: string[][], flavour: SimulationFlavour, host = target) =>
    simulateRequest(
      { ...mesh(flavour, [], ["v1"]), routes: [vhosts(domains)] },
      { ...call, target: host },
      flavour,
    ).virtualHost;
  const all = [["*"], ["greet*"], ["*:50051"], ["greeter:50051"]];
  for (const flavour of ["grpc", "envoy"] as const) {
    assert.deepEqual(pick(all, flavour), { name: "vh3", domain: "greeter:50051", matchType: "exact" });
    assert.deepEqual(pick(all.slice(0, 3), flavour), { name: "vh2", domain: "*:50051", matchType: "suffix" });
    assert.deepEqual(pick(all.slice(0, 2), flavour), { name: "vh1", domain: "greet*", matchType: "prefix" });
    assert.deepEqual(pick(all.slice(0, 1), flavour), { name: "vh0", domain: "*", matchType: "any" });
    // The longest suffix wins among suffixes.
    assert.equal(pick([["*0051"], ["*:50051"]], flavour)?.domain, "*:50051");
  }
  // Envoy compares host names case-insensitively; grpc-js-xds compares the dialled string as is.
  assert.equal(pick([["greeter:50051"]], "envoy", "GREETER:50051")?.matchType, "exact");
  const grpcMiss = simulateRequest(
    {
      ...mesh("grpc", [], ["v1"]),
      listeners: [apiListener("GREETER:50051", manager("rc"))],
      routes: [vhosts([["greeter:50051"]])],
    },
    { ...call, target: "GREETER:50051" },
    "grpc",
  );
  assert.equal(grpcMiss.failure?.stage, "virtual-host");
});

test("grpc: listener lookup and its rules", () => {
  const missing = simulateRequest(
    mesh("grpc", [prefixRoute("r", "/", "v1")], ["v1"]),
    { ...call, target: "other:1" },
    "grpc",
  );
  assert.deepEqual([missing.failure?.stage, missing.failure?.grpcStatus], ["listener", 14]);
  assert.match(missing.failure?.message ?? "", /no listener named other:1/);
  const routerFirst = manager("rc");
  routerFirst.httpFilters.reverse();
  const nack = simulateRequest(
    { ...mesh("grpc", [], ["v1"]), listeners: [apiListener(target, routerFirst)] },
    call,
    "grpc",
  );
  assert.equal(nack.failure?.stage, "listener");
  assert.deepEqual(nack.rejected, [
    `Listener ${target}: the router filter is not the last HTTP filter`,
    `Listener ${target}: the last HTTP filter is not the router`,
  ]);
  const noRoutes = simulateRequest({ ...mesh("grpc", [], ["v1"]), routes: [] }, call, "grpc");
  assert.match(noRoutes.failure?.message ?? "", /no route configuration rc: the client waits 15 s/);
});

test("envoy: the listener is picked by destination address and port, the chain by prefix", () => {
  const hcm = manager("rc");
  const specific = socketListener("10.96.0.10_50051", "10.96.0.10", 50051, manager("rc-specific"));
  const wildcard = socketListener("0.0.0.0_50051", "0.0.0.0", 50051, hcm);
  const routes = [
    routeConfiguration("rc", ["*"], [prefixRoute("r", "/", "v1")]),
    routeConfiguration("rc-specific", ["*"], [prefixRoute("s", "/", "v1")]),
  ];
  const base = resources([specific, wildcard], routes, ["v1"]);
  assert.equal(simulateRequest(base, { ...call, destinationIp: "10.96.0.10" }, "envoy").route?.name, "s");
  assert.equal(simulateRequest(base, { ...call, destinationIp: "10.96.0.11" }, "envoy").route?.name, "r");
  const none = simulateRequest(base, { ...call, target: "greeter:9999" }, "envoy");
  assert.match(none.failure?.message ?? "", /no listener for port 9999/);
  const chained = socketListener("0.0.0.0_80", "0.0.0.0", 80, hcm);
  const httpFilters = chained.filterChains[0]?.filters ?? [];
  chained.filterChains = [
    create(FilterChainSchema, {
      name: "ten",
      filters: httpFilters,
      filterChainMatch: { prefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }] },
    }),
    create(FilterChainSchema, {
      name: "tcp",
      filters: [{ name: "envoy.filters.network.tcp_proxy" }],
      filterChainMatch: { prefixRanges: [{ addressPrefix: "10.1.0.0", prefixLen: 16 }] },
    }),
  ];
  const tcp = simulateRequest(
    { ...base, listeners: [chained] },
    { target: "web", path: "/", destinationIp: "10.1.2.3" },
    "envoy",
  );
  assert.match(
    tcp.failure?.message ?? "",
    /without HTTP routing \(filters: envoy.filters.network.tcp_proxy\)/,
  );
  const http = simulateRequest(
    { ...base, listeners: [chained] },
    { target: "web", path: "/", destinationIp: "10.2.0.1" },
    "envoy",
  );
  assert.equal(http.outcome, "routed");
});

test("explain text: every section for a routed gRPC call", () => {
  const result = simulateRequest(
    mesh(
      "grpc",
      [
        route({
          name: "HTTPRoute/default/greeter/rule/0",
          match: { pathSpecifier: { case: "path", value: "/pkg.Greeter/SayBye" } },
          action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "v2" } } },
        }),
        prefixRoute("HTTPRoute/default/greeter/rule/1", "/pkg.Greeter/", "v1"),
      ],
      ["v1", "v2"],
    ),
    { ...call, headers: [["x-user", "alice"]] },
    "grpc",
  );
  assert.equal(
    explainText(result),
    [
      "Request   POST /pkg.Greeter/SayHello to greeter:50051 (proxyless gRPC)",
      "          metadata: x-user=alice",
      "Listener  greeter:50051 -> route configuration rc",
      "          HTTP filters: envoy.filters.http.fault, envoy.filters.http.router",
      "VHost     vhost (domain greeter:50051, exact match)",
      "Routes",
      "  #0 HTTPRoute default/greeter rule 0: no match: path /pkg.Greeter/SayHello is not /pkg.Greeter/SayBye",
      "  #1 HTTPRoute default/greeter rule 1: MATCHED",
      "       held: path /pkg.Greeter/SayHello starts with /pkg.Greeter/",
      "Action    forward",
      "  timeout: none (no max_stream_duration: the caller's deadline applies)",
      "Backends",
      "     100%  v1 (weight 1): ok, 1 usable endpoint",
      "           EDS, ROUND_ROBIN",
      "           (no locality) priority 0 weight 1: 10.0.0.1:8080 HEALTHY",
      "Result    ROUTED: every matching request reaches a backend",
      "",
    ].join("\n"),
  );
});
