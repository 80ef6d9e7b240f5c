// The two resources the codec benchmark encodes, built identically for @bufbuild/protobuf and
// protobufjs from one set of library-neutral constants.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { DurationSchema } from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
} from "../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import type { Cluster } from "../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { RoutingPriority } from "../src/gen/envoy/config/core/v3/base_pb.js";
import { ApiVersion } from "../src/gen/envoy/config/core/v3/config_source_pb.js";
import type { RouteSchema } from "../src/gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../src/gen/envoy/config/route/v3/route_pb.js";
import type { RouteConfiguration } from "../src/gen/envoy/config/route/v3/route_pb.js";
import { UpstreamTlsContextSchema } from "../src/gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";

const root = join(import.meta.dirname, "..");
const require = createRequire(join(root, "package.json"));

// ---------------------------------------------------------------------------------------------
// The resources, as library-neutral constants. Both builders below read only these.

export const SERVICE = "greeter.default.svc.cluster.local";
export const CLUSTER = {
  name: `outbound|50051||${SERVICE}`,
  connectTimeoutMs: 5_000,
  thresholds: [
    { priority: "DEFAULT", maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    { priority: "HIGH", maxConnections: 2048, maxPendingRequests: 2048, maxRequests: 2048, maxRetries: 5 },
  ],
  // gRFC A50 outlier detection: success-rate and failure-percentage ejection.
  outlier: {
    consecutive5xx: 5,
    intervalMs: 10_000,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 10,
    enforcingSuccessRate: 100,
    successRateMinimumHosts: 5,
    successRateRequestVolume: 100,
    successRateStdevFactor: 1900,
    failurePercentageThreshold: 85,
    enforcingFailurePercentage: 100,
    failurePercentageMinimumHosts: 5,
    failurePercentageRequestVolume: 50,
  },
  // gRFC A29 xDS mTLS: certificates come from the client's certificate-provider plugin instances.
  tls: {
    certInstance: "default",
    certName: "default",
    caInstance: "default",
    caName: "ROOTCA",
    sans: [
      "spiffe://cluster.local/ns/default/sa/greeter",
      "spiffe://cluster.local/ns/default/sa/greeter-canary",
    ],
  },
} as const;
export const TLS_TYPE_URL =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

// Oneofs as { case, value } unions: protoc-gen-es's shape, and easy to spread into protobufjs keys.
type HeaderSpec = {
  name: string;
  match: { case: "exact"; value: string } | { case: "prefix"; value: string };
};
type RouteSpec = {
  name: string;
  match: { case: "prefix"; value: string } | { case: "path"; value: string };
  headers: HeaderSpec[];
  backends: { name: string; weight: number }[];
  timeoutMs: number;
};
export const RETRY = {
  retryOn: "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable",
  numRetries: 3,
  baseIntervalMs: 25,
  maxIntervalMs: 250,
};
export const ROUTE_CONFIG_NAME = `${SERVICE}:50051`;
export const DOMAINS = [
  `${SERVICE}:50051`,
  "greeter.default.svc:50051",
  "greeter.default:50051",
  "greeter:50051",
];
export const ROUTES: RouteSpec[] = Array.from({ length: 20 }, (_, i) => ({
  name: `default/greeter/rule-${i}`,
  match:
    i % 2 === 0
      ? { case: "path", value: `/helloworld.Greeter/Method${i}` }
      : { case: "prefix", value: `/helloworld.Greeter${i}/` },
  headers: [
    { name: "x-canary", match: { case: "exact", value: i % 3 === 0 ? "true" : "false" } },
    { name: "x-tenant", match: { case: "prefix", value: `team-${i}` } },
  ],
  backends: [
    { name: `outbound|50051|v1|${SERVICE}`, weight: 80 - i },
    { name: `outbound|50051|v2|${SERVICE}`, weight: 15 + i },
    { name: `outbound|50051|v3|${SERVICE}`, weight: 5 },
  ],
  timeoutMs: 1_000 + 500 * (i % 4),
}));
const sumWeights = (r: RouteSpec): number => r.backends.reduce((sum, b) => sum + b.weight, 0);

// ---------------------------------------------------------------------------------------------
// @bufbuild/protobuf: typed init objects, checked by tsc against the generated types.

const bufDuration = (ms: number): MessageInitShape<typeof DurationSchema> => ({
  seconds: BigInt(Math.floor(ms / 1000)),
  nanos: (ms % 1000) * 1e6,
});

export function bufCluster(): Cluster {
  const { tls, outlier: o } = CLUSTER;
  const upstreamTls = create(UpstreamTlsContextSchema, {
    commonTlsContext: {
      tlsCertificateProviderInstance: { instanceName: tls.certInstance, certificateName: tls.certName },
      validationContextType: {
        case: "combinedValidationContext",
        value: {
          defaultValidationContext: {
            caCertificateProviderInstance: { instanceName: tls.caInstance, certificateName: tls.caName },
            matchSubjectAltNames: tls.sans.map((san) => ({
              matchPattern: { case: "exact" as const, value: san },
            })),
          },
        },
      },
    },
  });
  return create(ClusterSchema, {
    name: CLUSTER.name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: {
      edsConfig: { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ApiVersion.V3 },
      serviceName: CLUSTER.name,
    },
    connectTimeout: bufDuration(CLUSTER.connectTimeoutMs),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    circuitBreakers: {
      thresholds: CLUSTER.thresholds.map((t) => ({ ...t, priority: RoutingPriority[t.priority] })),
    },
    outlierDetection: {
      consecutive5xx: o.consecutive5xx,
      interval: bufDuration(o.intervalMs),
      baseEjectionTime: bufDuration(o.baseEjectionTimeMs),
      maxEjectionTime: bufDuration(o.maxEjectionTimeMs),
      maxEjectionPercent: o.maxEjectionPercent,
      enforcingSuccessRate: o.enforcingSuccessRate,
      successRateMinimumHosts: o.successRateMinimumHosts,
      successRateRequestVolume: o.successRateRequestVolume,
      successRateStdevFactor: o.successRateStdevFactor,
      failurePercentageThreshold: o.failurePercentageThreshold,
      enforcingFailurePercentage: o.enforcingFailurePercentage,
      failurePercentageMinimumHosts: o.failurePercentageMinimumHosts,
      failurePercentageRequestVolume: o.failurePercentageRequestVolume,
    },
    transportSocket: {
      name: "envoy.transport_sockets.tls",
      configType: { case: "typedConfig", value: anyPack(UpstreamTlsContextSchema, upstreamTls) },
    },
  });
}

export function bufRouteConfiguration(): RouteConfiguration {
  return create(RouteConfigurationSchema, {
    name: ROUTE_CONFIG_NAME,
    virtualHosts: [
      {
        name: ROUTE_CONFIG_NAME,
        domains: DOMAINS,
        // Annotated so the oneof `case` literals inside keep their literal types.
        routes: ROUTES.map((r): MessageInitShape<typeof RouteSchema> => ({
          name: r.name,
          match: {
            pathSpecifier: r.match,
            headers: r.headers.map((h) => ({
              name: h.name,
              headerMatchSpecifier: { case: "stringMatch" as const, value: { matchPattern: h.match } },
            })),
          },
          action: {
            case: "route",
            value: {
              clusterSpecifier: {
                case: "weightedClusters",
                value: { clusters: r.backends, totalWeight: sumWeights(r) },
              },
              maxStreamDuration: { maxStreamDuration: bufDuration(r.timeoutMs) },
              retryPolicy: {
                retryOn: RETRY.retryOn,
                numRetries: RETRY.numRetries,
                retryBackOff: {
                  baseInterval: bufDuration(RETRY.baseIntervalMs),
                  maxInterval: bufDuration(RETRY.maxIntervalMs),
                },
              },
            },
          },
        })),
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// protobufjs: runtime-loaded Root, untyped plain objects converted by Type.fromObject. keepCase
// keeps proto field names, as @grpc/grpc-js-xds loads them.

export function loadProtobufjsRoot(): protobuf.Root {
  const xdsDeps = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
  const includeDirs = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xdsDeps, d));
  // Like @grpc/proto-loader's addCommonProtos: protobufjs bundles any/duration/wrappers/... but not
  // descriptor.proto, which validate.proto and the udpa annotations import. Bundled names are
  // served before resolvePath is consulted (protobufjs src/root.js getBundledFileName).
  const descriptor = require("protobufjs/google/protobuf/descriptor.json") as {
    nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } };
  };
  protobuf.common("descriptor", descriptor.nested.google.nested.protobuf.nested);
  const pbRoot = new protobuf.Root();
  pbRoot.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) if (existsSync(join(dir, target))) return join(dir, target);
    throw new Error(`protobufjs: ${target} not found under ${includeDirs.join(", ")}`);
  };
  pbRoot.loadSync(
    [
      "envoy/config/cluster/v3/cluster.proto",
      "envoy/config/route/v3/route.proto",
      "envoy/extensions/transport_sockets/tls/v3/tls.proto",
    ],
    { keepCase: true },
  );
  pbRoot.resolveAll();
  return pbRoot;
}

export type Plain = Record<string, unknown>;
const pbjsDuration = (ms: number): Plain => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

export function pbjsClusterObject(): Plain {
  const { tls, outlier: o } = CLUSTER;
  return {
    name: CLUSTER.name,
    type: "EDS",
    eds_cluster_config: {
      eds_config: { ads: {}, resource_api_version: "V3" },
      service_name: CLUSTER.name,
    },
    connect_timeout: pbjsDuration(CLUSTER.connectTimeoutMs),
    lb_policy: "ROUND_ROBIN",
    circuit_breakers: {
      thresholds: CLUSTER.thresholds.map((t) => ({
        priority: t.priority,
        max_connections: { value: t.maxConnections },
        max_pending_requests: { value: t.maxPendingRequests },
        max_requests: { value: t.maxRequests },
        max_retries: { value: t.maxRetries },
      })),
    },
    outlier_detection: {
      consecutive_5xx: { value: o.consecutive5xx },
      interval: pbjsDuration(o.intervalMs),
      base_ejection_time: pbjsDuration(o.baseEjectionTimeMs),
      max_ejection_time: pbjsDuration(o.maxEjectionTimeMs),
      max_ejection_percent: { value: o.maxEjectionPercent },
      enforcing_success_rate: { value: o.enforcingSuccessRate },
      success_rate_minimum_hosts: { value: o.successRateMinimumHosts },
      success_rate_request_volume: { value: o.successRateRequestVolume },
      success_rate_stdev_factor: { value: o.successRateStdevFactor },
      failure_percentage_threshold: { value: o.failurePercentageThreshold },
      enforcing_failure_percentage: { value: o.enforcingFailurePercentage },
      failure_percentage_minimum_hosts: { value: o.failurePercentageMinimumHosts },
      failure_percentage_request_volume: { value: o.failurePercentageRequestVolume },
    },
    transport_socket: {
      name: "envoy.transport_sockets.tls",
      // protobufjs's Any wrapper encodes the "@type" object into Any.value inside fromObject.
      typed_config: {
        "@type": TLS_TYPE_URL,
        common_tls_context: {
          tls_certificate_provider_instance: {
            instance_name: tls.certInstance,
            certificate_name: tls.certName,
          },
          combined_validation_context: {
            default_validation_context: {
              ca_certificate_provider_instance: {
                instance_name: tls.caInstance,
                certificate_name: tls.caName,
              },
              match_subject_alt_names: tls.sans.map((san) => ({ exact: san })),
            },
          },
        },
      },
    },
  };
}

export function pbjsRouteConfigurationObject(): Plain {
  return {
    name: ROUTE_CONFIG_NAME,
    virtual_hosts: [
      {
        name: ROUTE_CONFIG_NAME,
        domains: DOMAINS,
        routes: ROUTES.map((r) => ({
          name: r.name,
          match: {
            [r.match.case]: r.match.value,
            headers: r.headers.map((h) => ({
              name: h.name,
              string_match: { [h.match.case]: h.match.value },
            })),
          },
          route: {
            weighted_clusters: {
              clusters: r.backends.map((b) => ({ name: b.name, weight: { value: b.weight } })),
              total_weight: { value: sumWeights(r) },
            },
            max_stream_duration: { max_stream_duration: pbjsDuration(r.timeoutMs) },
            retry_policy: {
              retry_on: RETRY.retryOn,
              num_retries: { value: RETRY.numRetries },
              retry_back_off: {
                base_interval: pbjsDuration(RETRY.baseIntervalMs),
                max_interval: pbjsDuration(RETRY.maxIntervalMs),
              },
            },
          },
        })),
      },
    ],
  };
}
