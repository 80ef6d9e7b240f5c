// CDS for proxyless gRPC: EDS clusters fetched over ADS (gRFC A27), with the Service's
// TrafficPolicy: ring hash (A42), a concurrent request limit (A32) and failure-percentage outlier
// detection (A50); mTLS to STRICT destinations (A29). Policy parts gRPC clients ignore are not
// emitted; the mesh layer reports them.
import { create } from "@bufbuild/protobuf";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  Cluster_RingHashLbConfigSchema,
  type Cluster,
  type Cluster_RingHashLbConfig,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { CircuitBreakers } from "../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js";
import { CircuitBreakersSchema } from "../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js";
import type { OutlierDetection } from "../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { OutlierDetectionSchema } from "../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { RoutingPriority, type TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { OutlierDetectionPolicy, ServicePolicy } from "../../mesh/index.ts";
import { adsConfigSource, durationMs } from "../proto.ts";

const defaultConnectTimeoutMs = 5000;

/** `tls`: the transport socket to a STRICT destination (tls.ts); plaintext without it. */
export function edsCluster(name: string, policy: ServicePolicy | undefined, tls?: TransportSocket): Cluster {
  const breakers = circuitBreakers(policy?.circuitBreaker?.maxRequests);
  const outliers = policy?.outlierDetection && outlierDetection(policy.outlierDetection);
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: name },
    connectTimeout: durationMs(policy?.connectTimeoutMs ?? defaultConnectTimeoutMs),
    ...loadBalancing(policy),
    ...(breakers && { circuitBreakers: breakers }),
    ...(outliers && { outlierDetection: outliers }),
    ...(tls && { transportSocket: tls }),
  });
}

/** RING_HASH or ROUND_ROBIN; gRPC has no least-request policy under `lb_policy`. */
function loadBalancing(
  policy: ServicePolicy | undefined,
): Pick<Cluster, "lbPolicy"> & { lbConfig?: { case: "ringHashLbConfig"; value: Cluster_RingHashLbConfig } } {
  if (policy?.loadBalancer !== "RingHash") return { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN };
  const ring = policy.ringHash;
  return {
    lbPolicy: Cluster_LbPolicy.RING_HASH,
    ...(ring && {
      lbConfig: {
        case: "ringHashLbConfig",
        value: create(Cluster_RingHashLbConfigSchema, {
          minimumRingSize: BigInt(ring.minimumRingSize),
          maximumRingSize: BigInt(ring.maximumRingSize),
        }),
      },
    }),
  };
}

/** gRPC honours only the DEFAULT priority's `max_requests` (A32). */
function circuitBreakers(maxRequests: number | undefined): CircuitBreakers | undefined {
  if (maxRequests === undefined) return undefined;
  return create(CircuitBreakersSchema, {
    thresholds: [{ priority: RoutingPriority.DEFAULT, maxRequests }],
  });
}

/**
 * Failure-percentage ejection only (A50). Success-rate ejection is on by default when
 * `enforcing_success_rate` is unset, so it is set to 0. Every failure-percentage field is set:
 * grpc-js copies unset ones over its defaults as undefined. Without a failure percentage, gRPC has
 * nothing to eject on (consecutive errors are Envoy's), so no outlier detection is emitted.
 */
function outlierDetection(policy: OutlierDetectionPolicy): OutlierDetection | undefined {
  const failure = policy.failurePercentage;
  if (!failure) return undefined;
  return create(OutlierDetectionSchema, {
    interval: durationMs(policy.intervalMs),
    baseEjectionTime: durationMs(policy.baseEjectionTimeMs),
    maxEjectionPercent: policy.maxEjectionPercent,
    enforcingSuccessRate: 0,
    failurePercentageThreshold: failure.threshold,
    failurePercentageMinimumHosts: failure.minimumHosts,
    failurePercentageRequestVolume: failure.requestVolume,
    enforcingFailurePercentage: 100,
  });
}
