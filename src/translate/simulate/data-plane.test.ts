// Clusters and endpoints as a data plane uses them, and the xDS a proxyless client rejects
// (NACKs): a rejected resource is as good as missing, so its share of the traffic fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cluster_DiscoveryType, Cluster_LbPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { durationMs } from "../proto.ts";
import { simulateRequest } from "./simulate.ts";
import { assignment, call, edsCluster, fault, mesh, prefixRoute, route } from "./testing.ts";

for (const flavour of ["grpc", "envoy"] as const) {
  test(`${flavour}: endpoints: unhealthy ones are unused; a zero-weight locality is skipped by gRPC`, () => {
    const result = simulateRequest(
      mesh(flavour, [prefixRoute("r", "/", "v1")], [], {
        clusters: [edsCluster("v1")],
        endpoints: [
          assignment("v1", [
            { address: "10.0.0.1", zone: "a", health: HealthStatus.UNHEALTHY },
            { address: "10.0.0.2", zone: "b", weight: 0 },
          ]),
        ],
      }),
      call,
      flavour,
    );
    const localities = result.backends[0]?.localities ?? [];
    assert.deepEqual(
      localities.map((l) => [l.locality, l.skipped, l.endpoints.map((e) => e.usable)]),
      [
        ["a", undefined, [false]],
        ["b", flavour === "grpc" ? "load_balancing_weight is 0 or unset" : undefined, [true]],
      ],
    );
    assert.equal(result.outcome, flavour === "grpc" ? "failed" : "routed");
  });

  test(`${flavour}: cluster details: load balancing, circuit breaker, outlier detection`, () => {
    const result = simulateRequest(
      mesh(flavour, [prefixRoute("r", "/", "v1")], [], {
        clusters: [
          edsCluster("v1", {
            lbPolicy: Cluster_LbPolicy.RING_HASH,
            connectTimeout: durationMs(5000),
            circuitBreakers: { thresholds: [{ maxRequests: 100, maxConnections: 10 }] },
            outlierDetection: {
              consecutive5xx: 5,
              interval: durationMs(10_000),
              baseEjectionTime: durationMs(30_000),
              maxEjectionPercent: 50,
            },
          }),
        ],
        endpoints: [assignment("v1", [{ address: "10.0.0.1" }])],
      }),
      call,
      flavour,
    );
    assert.deepEqual(result.backends[0]?.details, {
      type: "EDS",
      lbPolicy: "RING_HASH",
      connectTimeoutMs: 5000,
      circuitBreaker: { maxConnections: 10, maxRequests: 100 },
      outlierDetection: {
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionPercent: 50,
        consecutive5xx: 5,
      },
      edsServiceName: "v1",
    });
    assert.equal(
      result.notes.includes("cluster v1: gRPC clients honour only the circuit breaker's max_requests"),
      flavour === "grpc",
    );
  });
}

test("grpc: the client rejects route configurations with redirects, direct responses and unsupported matchers", () => {
  const rejected = (routes: ReturnType<typeof route>[]) =>
    simulateRequest(mesh("grpc", routes, ["v1"]), call, "grpc");
  const redirect = rejected([
    route({
      name: "moved",
      match: { pathSpecifier: { case: "prefix", value: "/" } },
      action: { case: "redirect", value: { hostRedirect: "x" } },
    }),
  ]);
  assert.equal(redirect.outcome, "failed");
  assert.equal(redirect.failure?.stage, "route-configuration");
  assert.deepEqual(redirect.rejected, [
    "RouteConfiguration rc: virtual host vhost route moved: action redirect is not supported (only route)",
  ]);
  const direct = rejected([
    route({
      name: "d",
      match: { pathSpecifier: { case: "prefix", value: "/" } },
      action: { case: "directResponse", value: { status: 500 } },
    }),
  ]);
  assert.match(direct.rejected[0] ?? "", /action directResponse is not supported/);
  const separated = rejected([
    prefixRoute("s", "/", "v1", { match: { pathSpecifier: { case: "pathSeparatedPrefix", value: "/pkg" } } }),
  ]);
  assert.match(separated.rejected[0] ?? "", /path matcher pathSeparatedPrefix is not supported/);
  const contains = rejected([
    prefixRoute("c", "/", "v1", {
      match: {
        pathSpecifier: { case: "prefix", value: "/" },
        headers: [{ name: "x", headerMatchSpecifier: { case: "containsMatch", value: "y" } }],
      },
    }),
  ]);
  assert.match(contains.rejected[0] ?? "", /header matcher containsMatch \(x\) is not supported/);
  const zeroRetries = rejected([
    prefixRoute("z", "/", "v1", {
      action: {
        case: "route",
        value: {
          clusterSpecifier: { case: "cluster", value: "v1" },
          retryPolicy: { retryOn: "unavailable", numRetries: 0 },
        },
      },
    }),
  ]);
  assert.match(zeroRetries.rejected[0] ?? "", /num_retries is 0/);
  const zeroWeights = rejected([
    prefixRoute("w", "/", "v1", {
      action: {
        case: "route",
        value: {
          clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: "v1", weight: 0 }] } },
        },
      },
    }),
  ]);
  assert.match(zeroWeights.rejected[0] ?? "", /add up to 0/);
});

test("grpc: clusters and endpoints a client rejects fail their share only", () => {
  const result = simulateRequest(
    mesh(
      "grpc",
      [
        route({
          name: "r",
          match: { pathSpecifier: { case: "prefix", value: "/" } },
          action: {
            case: "route",
            value: {
              clusterSpecifier: {
                case: "weightedClusters",
                value: {
                  clusters: [
                    { name: "static", weight: 1 },
                    { name: "fqdn", weight: 1 },
                    { name: "v1", weight: 2 },
                  ],
                },
              },
            },
          },
        }),
      ],
      ["v1"],
      {
        clusters: [
          edsCluster("static", {
            clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
          }),
          edsCluster("fqdn"),
        ],
        endpoints: [assignment("fqdn", [{ address: "greeter.example" }])],
      },
    ),
    call,
    "grpc",
  );
  assert.equal(result.outcome, "partial");
  assert.deepEqual(
    result.backends.map((b) => b.ok),
    [false, false, true],
  );
  assert.deepEqual(result.rejected, [
    "Cluster static: cluster type STATIC is not supported (EDS, LOGICAL_DNS or aggregate)",
    "ClusterLoadAssignment fqdn: endpoint address greeter.example is not an IP address",
  ]);
});

test("a fault without a percentage: gRPC clients reject it, Envoy injects nothing", () => {
  const routes = [
    prefixRoute("r", "/", "v1", {
      typedPerFilterConfig: fault({ abort: { errorType: { case: "grpcStatus", value: 14 } } }),
    }),
  ];
  const grpc = simulateRequest(mesh("grpc", routes, ["v1"]), call, "grpc");
  assert.deepEqual(grpc.rejected, [
    "RouteConfiguration rc: virtual host vhost route r: fault envoy.filters.http.fault has an abort without a percentage",
  ]);
  const envoy = simulateRequest(mesh("envoy", routes, ["v1"]), call, "envoy");
  assert.equal(envoy.outcome, "routed");
  assert.equal(envoy.backends[0]?.fault?.abort?.percent, 0);
});
