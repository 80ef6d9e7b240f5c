// A real peer's verdict: every resource generated for a mesh using every policy and filter goes
// through @grpc/grpc-js-xds's own validation (what it ACKs or NACKs) and grpc-js's parsing of the
// resulting load-balancing configs. The helper itself must reject what the client rejects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpFilterSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { UpstreamTlsContextSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { openPortSecurity } from "../../mesh/index.ts";
import { OutlierDetectionSchema } from "../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { clientView } from "../client-chain.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource } from "../types.ts";
import { edsCluster } from "./cluster.ts";
import { grpcServerListener, serverListenerPrefix } from "./server-listener.ts";
import { clientTlsSocket } from "./tls.ts";
import { grpcJsXdsErrors } from "./testing/grpc-js-xds.ts";
import {
  backend,
  endpoint,
  mesh,
  policy,
  prefixMatch,
  route,
  rule,
  service,
  servicePort,
} from "./testing/mesh.ts";

const everything = policy({
  loadBalancer: "RingHash",
  ringHash: { minimumRingSize: 64, maximumRingSize: 8_388_608 },
  hashPolicies: [{ type: "Header", name: "x-user" }, { type: "Channel" }, { type: "SourceIP" }],
  locality: { weights: new Map([["a", 3]]), failoverOrder: ["b", "missing", "a"] },
  circuitBreaker: { maxRequests: 100, maxConnections: 1, maxPendingRequests: 1, maxRetries: 1 },
  outlierDetection: {
    intervalMs: 1500,
    baseEjectionTimeMs: 30_000,
    maxEjectionPercent: 100,
    consecutiveErrors: 5,
    failurePercentage: { threshold: 85, minimumHosts: 2, requestVolume: 20 },
  },
  connectTimeoutMs: 750,
  retry: {
    attempts: 3,
    grpcCodes: ["unavailable", "cancelled", "unknown"],
    httpCodes: [503, 500],
    backoffBaseMs: 40,
    backoffMaxMs: 900,
  },
});

const snapshot = mesh(
  [
    service("greeter", { policy: everything }),
    service("v1", {
      ports: [
        servicePort(
          50051,
          [endpoint("10.0.0.1", "a"), endpoint("10.0.0.2", "b", false), endpoint("10.0.0.3", "c")],
          everything,
        ),
      ],
    }),
    service("v2", { ports: [servicePort(50051, [endpoint("10.0.1.1", "")])] }),
  ],
  [
    {
      parent: "greeter",
      route: route([
        rule({
          matches: [prefixMatch("/pkg.Greeter")],
          backends: [backend("v1", 50051, 9), backend("v2"), { ...backend("v3"), invalid: "not found" }],
          requestTimeoutMs: 2500,
          backendRequestTimeoutMs: 500,
          filters: [
            {
              type: "RequestHeaderModifier",
              modifier: { set: [], add: [{ name: "x-a", value: "1" }], remove: [] },
            },
            { type: "RequestMirror", backend: backend("v2"), percent: 50 },
            {
              type: "Fault",
              fault: {
                source: "FaultInjection default/f",
                delay: { fixedDelayMs: 100, percent: 0.5 },
                abort: { grpcStatus: undefined, httpStatus: 503, percent: 33.333 },
              },
            },
          ],
        }),
        rule({
          index: 1,
          matches: [prefixMatch("/")],
          backends: [backend("v1")],
          retry: {
            attempts: 1,
            grpcCodes: [],
            httpCodes: [504],
            backoffBaseMs: undefined,
            backoffMaxMs: 100,
          },
        }),
        rule({
          index: 2,
          matches: [{ ...prefixMatch(), path: { type: "Exact", value: "/pkg.Greeter/Old" } }],
          filters: [
            {
              type: "RequestRedirect",
              scheme: undefined,
              hostname: "x",
              path: undefined,
              port: undefined,
              statusCode: 301,
            },
          ],
        }),
      ]),
    },
  ],
);

function everyResource(): GeneratedResource[] {
  const view = clientView(snapshot, { namespace: "default", flavour: "grpc", instanceIps: [] }, [
    "greeter:50051",
    "v1.default.svc.cluster.local:50051",
  ]);
  return [...view.listeners, ...view.routeConfigurations, ...view.clusters, ...view.loadAssignments];
}

test("grpc-js-xds accepts every resource of a mesh that uses every policy and filter", () => {
  const resources = everyResource();
  assert.deepEqual(resources.map((r) => r.typeUrl.split(".").at(-1)).sort(), [
    // v1, v2, and the blackhole for the invalid v3.
    ...Array(3).fill("Cluster"),
    ...Array(3).fill("ClusterLoadAssignment"),
    ...Array(2).fill("Listener"),
    ...Array(2).fill("RouteConfiguration"),
  ]);
  for (const resource of resources) assert.deepEqual(grpcJsXdsErrors(resource), [], resource.name);
});

test("the check rejects what grpc-js-xds rejects", () => {
  const name = "outbound|1||bad.default.svc.cluster.local";
  const badCluster = edsCluster(name, undefined);
  badCluster.outlierDetection = create(OutlierDetectionSchema, { enforcingFailurePercentage: 101 });
  const cluster = {
    name,
    typeUrl: typeUrlOf(ClusterSchema),
    schema: ClusterSchema,
    message: badCluster,
  };
  assert.match(grpcJsXdsErrors(cluster).join(), /enforcing_failure_percentage out of range/);

  const routes = create(RouteConfigurationSchema, {
    name: "r",
    virtualHosts: [
      {
        name: "v",
        domains: ["*"],
        routes: [
          {
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            action: {
              case: "route",
              value: {
                clusterSpecifier: { case: "cluster", value: "c" },
                retryPolicy: { retryOn: "unavailable", numRetries: 0 },
              },
            },
          },
        ],
      },
    ],
  });
  const config = {
    name: "r",
    typeUrl: typeUrlOf(RouteConfigurationSchema),
    schema: RouteConfigurationSchema,
    message: routes,
  };
  assert.match(grpcJsXdsErrors(config).join(), /num_retries/);
});

test("the check rejects the server listeners and TLS clusters grpc-js-xds rejects", () => {
  const address = { ip: "127.0.0.1", port: 50051 };
  const strict = { ...openPortSecurity, mtls: "STRICT" as const };
  const listener = grpcServerListener(`${serverListenerPrefix}127.0.0.1:50051`, address, strict, []);
  const asResource = (message: Listener) => ({
    name: listener.name,
    typeUrl: typeUrlOf(ListenerSchema),
    schema: ListenerSchema,
    message,
  });
  assert.deepEqual(grpcJsXdsErrors(asResource(listener)), []);
  assert.match(grpcJsXdsErrors(asResource({ ...listener, useOriginalDst: true })).join(), /use_original_dst/);
  const router = create(HttpFilterSchema, {
    name: "router-first",
    configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) },
  });
  const routerFirst = grpcServerListener(listener.name, address, strict, [router]);
  assert.match(grpcJsXdsErrors(asResource(routerFirst)).join(), /router filter is before the end/);

  const name = "outbound|50051||greeter.default.svc.cluster.local";
  const tlsCluster = edsCluster(
    name,
    undefined,
    clientTlsSocket(["spiffe://cluster.local/ns/default/sa/greeter"]),
  );
  const cluster = (message: Cluster) => ({
    name,
    typeUrl: typeUrlOf(ClusterSchema),
    schema: ClusterSchema,
    message,
  });
  assert.deepEqual(grpcJsXdsErrors(cluster(tlsCluster)), []);
  const context = tlsCluster.transportSocket;
  assert.ok(context?.configType.case === "typedConfig");
  const unknownInstance = anyPack(
    UpstreamTlsContextSchema,
    create(UpstreamTlsContextSchema, {
      commonTlsContext: { tlsCertificateProviderInstance: { instanceName: "elsewhere" } },
    }),
  );
  const badCluster = {
    ...tlsCluster,
    transportSocket: { ...context, configType: { case: "typedConfig" as const, value: unknownInstance } },
  };
  assert.match(
    grpcJsXdsErrors(cluster(badCluster)).join(),
    /Unmatched UpstreamTlsContext.tls_certificate_provider_instance/,
  );
});
