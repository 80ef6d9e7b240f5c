// CDS and EDS for sidecars: TrafficPolicy on outbound clusters, HTTP/2 for gRPC ports, inbound
// and pass-through clusters, endpoints shared with proxyless gRPC.
import { test } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { HttpProtocolOptionsSchema } from "../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import type { MeshSnapshot, ServicePolicy } from "../../mesh/index.ts";
import { typeUrlOf } from "../proto.ts";
import { generateResources } from "../generator.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { isHttp2Port } from "./protocol.ts";
import { endpoint, envoyProfile, meshOf, policy, service, servicePort } from "./testing.ts";

const cds = typeUrlOf(ClusterSchema);
const eds = typeUrlOf(ClusterLoadAssignmentSchema);

function clusters(mesh: MeshSnapshot, names?: string[]): Map<string, Cluster> {
  const request = names ? { wildcard: false, names } : { wildcard: true, names: [] };
  const resources = generateResources(mesh, envoyProfile("shop"), cds, request);
  assertValidEnvoy(resources);
  return new Map(resources.map((r) => [r.name, r.message as Cluster]));
}

function clusterWith(servicePolicy: ServicePolicy): Cluster {
  const web = service("shop", "web", { ports: [servicePort(80)], policy: servicePolicy });
  const cluster = clusters(meshOf([web])).get("outbound|80||web.shop.svc.cluster.local");
  assert.ok(cluster);
  return cluster;
}

function upstreamProtocol(cluster: Cluster | undefined): string | undefined {
  const packed =
    cluster?.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
  const options = packed && anyUnpack(packed, HttpProtocolOptionsSchema);
  const config = options?.upstreamProtocolOptions;
  if (config?.case === "explicitHttpConfig") return config.value.protocolConfig.case;
  return config?.case;
}

const web = service("shop", "web", {
  ports: [
    servicePort(80, { endpoints: [endpoint("10.1.0.1", 8080), endpoint("10.1.0.2", 8080, "zone-b")] }),
    servicePort(9090, { name: "grpc-api", endpoints: [endpoint("10.1.0.1", 9000)] }),
  ],
});
const mesh = meshOf([web]);

test("wildcard CDS: outbound EDS clusters, one inbound cluster per workload port, pass-through and blackhole", () => {
  assert.deepEqual(
    [...clusters(mesh).keys()],
    [
      "outbound|80||web.shop.svc.cluster.local",
      "outbound|9090||web.shop.svc.cluster.local",
      "inbound|8080||",
      "inbound|9000||",
      "PassthroughCluster",
      "InboundPassthroughCluster",
      "meshplane|blackhole",
    ],
  );
  assert.deepEqual(
    [
      ...clusters(mesh, [
        "inbound|9000||",
        "inbound|1234||",
        "outbound|81||web.shop.svc.cluster.local",
        "PassthroughCluster",
      ]).keys(),
    ],
    ["inbound|9000||", "PassthroughCluster"],
  );
});

test("an outbound cluster fetches endpoints over ADS; without a policy it is round robin with a 5s connect timeout", () => {
  const cluster = clusters(mesh).get("outbound|80||web.shop.svc.cluster.local");
  assert.equal(cluster?.clusterDiscoveryType.value, Cluster_DiscoveryType.EDS);
  assert.equal(cluster?.edsClusterConfig?.serviceName, "outbound|80||web.shop.svc.cluster.local");
  assert.equal(cluster?.edsClusterConfig?.edsConfig?.configSourceSpecifier.case, "ads");
  assert.equal(cluster?.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN);
  assert.equal(cluster?.connectTimeout?.seconds, 5n);
  assert.equal(cluster?.circuitBreakers, undefined);
  assert.equal(cluster?.outlierDetection, undefined);
  assert.equal(upstreamProtocol(cluster), undefined);
});

test("gRPC and HTTP/2 ports get HTTP/2 upstream", () => {
  assert.equal(
    upstreamProtocol(clusters(mesh).get("outbound|9090||web.shop.svc.cluster.local")),
    "http2ProtocolOptions",
  );
  const table: [string | undefined, string | undefined, boolean][] = [
    [undefined, "grpc", true],
    [undefined, "grpc-api", true],
    [undefined, "http2-x", true],
    [undefined, "h2c", true],
    [undefined, "grpc-web", false],
    [undefined, "http", false],
    [undefined, undefined, false],
    ["kubernetes.io/h2c", "http", true],
    ["grpc", undefined, true],
    ["http", "grpc", false],
  ];
  for (const [appProtocol, name, expected] of table) {
    assert.equal(isHttp2Port({ appProtocol, name }), expected, `appProtocol=${appProtocol} name=${name}`);
  }
});

test("load balancer: least request, ring hash with ring sizes, and locality weighting when zones are weighed", () => {
  assert.equal(
    clusterWith(policy({ loadBalancer: "LeastRequest" })).lbPolicy,
    Cluster_LbPolicy.LEAST_REQUEST,
  );
  const ring = clusterWith(
    policy({ loadBalancer: "RingHash", ringHash: { minimumRingSize: 1024, maximumRingSize: 4096 } }),
  );
  assert.equal(ring.lbPolicy, Cluster_LbPolicy.RING_HASH);
  assert.equal(ring.lbConfig.case, "ringHashLbConfig");
  const sizes = ring.lbConfig.case === "ringHashLbConfig" ? ring.lbConfig.value : undefined;
  assert.deepEqual([sizes?.minimumRingSize, sizes?.maximumRingSize], [1024n, 4096n]);
  const weighted = clusterWith(
    policy({ locality: { weights: new Map([["zone-a", 3]]), failoverOrder: [] } }),
  );
  assert.equal(weighted.commonLbConfig?.localityConfigSpecifier.case, "localityWeightedLbConfig");
  const failoverOnly = clusterWith(policy({ locality: { weights: new Map(), failoverOrder: ["zone-a"] } }));
  assert.equal(failoverOnly.commonLbConfig, undefined);
});

test("circuit breakers and connect timeout come from the policy", () => {
  const cluster = clusterWith(
    policy({
      connectTimeoutMs: 250,
      circuitBreaker: { maxRequests: 100, maxConnections: 10, maxPendingRequests: 5, maxRetries: 3 },
    }),
  );
  assert.deepEqual([cluster.connectTimeout?.seconds, cluster.connectTimeout?.nanos], [0n, 250_000_000]);
  const [thresholds, ...rest] = cluster.circuitBreakers?.thresholds ?? [];
  assert.deepEqual(rest, []);
  assert.deepEqual(
    [
      thresholds?.maxRequests,
      thresholds?.maxConnections,
      thresholds?.maxPendingRequests,
      thresholds?.maxRetries,
    ],
    [100, 10, 5, 3],
  );
  const partial = clusterWith(
    policy({
      circuitBreaker: {
        maxRequests: 7,
        maxConnections: undefined,
        maxPendingRequests: undefined,
        maxRetries: undefined,
      },
    }),
  );
  assert.equal(partial.circuitBreakers?.thresholds[0]?.maxConnections, undefined);
});

test("outlier detection enforces only what the policy asks for", () => {
  const base = { intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 };
  const consecutive = clusterWith(
    policy({ outlierDetection: { ...base, consecutiveErrors: 5, failurePercentage: undefined } }),
  ).outlierDetection;
  assert.equal(consecutive?.consecutive5xx, 5);
  assert.equal(consecutive?.enforcingConsecutive5xx, 100);
  assert.equal(consecutive?.enforcingSuccessRate, 0);
  assert.equal(consecutive?.enforcingConsecutiveGatewayFailure, 0);
  assert.equal(consecutive?.enforcingFailurePercentage, undefined);
  assert.equal(consecutive?.interval?.seconds, 10n);
  assert.equal(consecutive?.baseEjectionTime?.seconds, 30n);
  assert.equal(consecutive?.maxEjectionPercent, 50);

  const failure = clusterWith(
    policy({
      outlierDetection: {
        ...base,
        consecutiveErrors: undefined,
        failurePercentage: { threshold: 80, minimumHosts: 3, requestVolume: 20 },
      },
    }),
  ).outlierDetection;
  assert.equal(failure?.enforcingConsecutive5xx, 0);
  assert.deepEqual(
    [
      failure?.failurePercentageThreshold,
      failure?.failurePercentageMinimumHosts,
      failure?.failurePercentageRequestVolume,
      failure?.enforcingFailurePercentage,
    ],
    [80, 3, 20, 100],
  );
});

test("a port's own policy replaces the Service's", () => {
  const svc = service("shop", "web", {
    ports: [servicePort(80, { policy: policy({ loadBalancer: "LeastRequest" }) }), servicePort(81)],
    policy: policy({ loadBalancer: "RingHash" }),
  });
  const all = clusters(meshOf([svc]));
  assert.equal(all.get("outbound|80||web.shop.svc.cluster.local")?.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST);
  assert.equal(all.get("outbound|81||web.shop.svc.cluster.local")?.lbPolicy, Cluster_LbPolicy.RING_HASH);
});

test("inbound clusters reach the application on loopback in the caller's protocol", () => {
  const all = clusters(mesh);
  const inbound = all.get("inbound|9000||");
  assert.equal(inbound?.clusterDiscoveryType.value, Cluster_DiscoveryType.STATIC);
  const host = inbound?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
  const address = host?.case === "endpoint" ? host.value.address?.address : undefined;
  assert.equal(
    address?.case === "socketAddress" && `${address.value.address}:${address.value.portSpecifier.value}`,
    "127.0.0.1:9000",
  );
  assert.equal(upstreamProtocol(inbound), "useDownstreamProtocolConfig");
  const passthrough = all.get("InboundPassthroughCluster");
  assert.equal(passthrough?.clusterDiscoveryType.value, Cluster_DiscoveryType.ORIGINAL_DST);
  assert.equal(passthrough?.lbPolicy, Cluster_LbPolicy.CLUSTER_PROVIDED);
  assert.equal(passthrough?.upstreamBindConfig?.sourceAddress?.address, "127.0.0.6");
  assert.equal(all.get("PassthroughCluster")?.upstreamBindConfig, undefined);
  assert.deepEqual(all.get("meshplane|blackhole")?.loadAssignment?.endpoints, []);
});

test("EDS: the proxyless assignment for each outbound cluster, with the policy's failover order", () => {
  const zoned = service("shop", "zoned", {
    ports: [
      servicePort(80, {
        endpoints: [endpoint("10.2.0.1", 80, "zone-a"), endpoint("10.2.0.2", 80, "zone-b")],
        policy: policy({ locality: { weights: new Map(), failoverOrder: ["zone-b"] } }),
      }),
    ],
  });
  const resources = generateResources(meshOf([web, zoned]), envoyProfile("shop"), eds, {
    wildcard: false,
    names: [
      "outbound|80||zoned.shop.svc.cluster.local",
      "inbound|8080||",
      "outbound|80||nope.shop.svc.cluster.local",
    ],
  });
  assertValidEnvoy(resources);
  assert.deepEqual(
    resources.map((r) => r.name),
    ["outbound|80||zoned.shop.svc.cluster.local"],
  );
  const assignment = resources[0]?.message as ClusterLoadAssignment;
  assert.deepEqual(
    assignment.endpoints.map((l) => [l.locality?.zone, l.priority]),
    [
      ["zone-a", 1],
      ["zone-b", 0],
    ],
  );
  const all = generateResources(meshOf([web, zoned]), envoyProfile("shop"), eds, {
    wildcard: true,
    names: [],
  });
  assertValidEnvoy(all);
  assert.equal(all.length, 3);
});
