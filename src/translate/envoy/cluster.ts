// CDS for Envoy sidecars. Outbound clusters share names and endpoints (EDS over ADS) with
// proxyless gRPC but carry the whole TrafficPolicy, which Envoy implements in full: load
// balancer, circuit breakers, consecutive-error and failure-percentage outlier detection, connect
// timeout, and HTTP/2 upstream for gRPC ports.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { RoutingPriority, type TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { OutlierDetectionPolicy, PortShape, ServicePolicy } from "../../mesh/index.ts";
import { blackholeCluster } from "../names.ts";
import { adsConfigSource, durationMs } from "../proto.ts";
import {
  inboundClusterName,
  inboundPassthroughBindAddress,
  inboundPassthroughCluster,
  passthroughCluster,
} from "./names.ts";
import { downstreamProtocolOptions, http2ProtocolOptions, isHttp2Port } from "./protocol.ts";

/** The plain-object form of a Cluster init, which spreads into others. */
type ClusterInit = Exclude<MessageInitShape<typeof ClusterSchema>, Cluster>;

const defaultConnectTimeoutMs = 5000;
const loopback = "127.0.0.1";

/** `mtls`: the transport socket for a STRICT destination (tls.ts upstreamMtls), else plaintext. */
export function outboundCluster(
  name: string,
  port: PortShape,
  policy: ServicePolicy | undefined,
  mtls?: TransportSocket,
): Cluster {
  const init: ClusterInit = {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: name },
    connectTimeout: durationMs(policy?.connectTimeoutMs ?? defaultConnectTimeoutMs),
    ...loadBalancing(policy),
    ...circuitBreakers(policy?.circuitBreaker),
    ...(policy?.outlierDetection && { outlierDetection: outlierDetection(policy.outlierDetection) }),
    ...(isHttp2Port(port) && { typedExtensionProtocolOptions: http2ProtocolOptions() }),
    ...(mtls && { transportSocket: mtls }),
  };
  return create(ClusterSchema, init);
}

/**
 * Envoy ignores EDS locality weights unless the cluster asks for locality-weighted balancing, so
 * it does whenever the policy weighs zones. Failover priorities need nothing here.
 */
function loadBalancing(policy: ServicePolicy | undefined): ClusterInit {
  const localityWeighted = policy?.locality && policy.locality.weights.size > 0;
  const common: ClusterInit = localityWeighted
    ? { commonLbConfig: { localityConfigSpecifier: { case: "localityWeightedLbConfig", value: {} } } }
    : {};
  switch (policy?.loadBalancer) {
    case "LeastRequest":
      return { lbPolicy: Cluster_LbPolicy.LEAST_REQUEST, ...common };
    case "RingHash": {
      const ring = policy.ringHash;
      return {
        lbPolicy: Cluster_LbPolicy.RING_HASH,
        ...(ring && {
          lbConfig: {
            case: "ringHashLbConfig",
            value: {
              minimumRingSize: BigInt(ring.minimumRingSize),
              maximumRingSize: BigInt(ring.maximumRingSize),
            },
          },
        }),
        ...common,
      };
    }
    default:
      return { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN, ...common };
  }
}

function circuitBreakers(breaker: ServicePolicy["circuitBreaker"]): ClusterInit {
  if (!breaker) return {};
  return {
    circuitBreakers: {
      thresholds: [
        {
          priority: RoutingPriority.DEFAULT,
          maxConnections: breaker.maxConnections,
          maxPendingRequests: breaker.maxPendingRequests,
          maxRequests: breaker.maxRequests,
          maxRetries: breaker.maxRetries,
        },
      ],
    },
  };
}

/**
 * Only what the policy asks for is enforced: Envoy's defaults would otherwise eject on 5
 * consecutive 5xx and on success rate. gRPC errors count as their HTTP mapping (UNAVAILABLE is
 * 503), so consecutive 5xx covers gateway failures too.
 */
function outlierDetection(policy: OutlierDetectionPolicy): NonNullable<ClusterInit["outlierDetection"]> {
  const consecutive = policy.consecutiveErrors;
  const failure = policy.failurePercentage;
  return {
    interval: durationMs(policy.intervalMs),
    baseEjectionTime: durationMs(policy.baseEjectionTimeMs),
    maxEjectionPercent: policy.maxEjectionPercent,
    ...(consecutive === undefined
      ? { enforcingConsecutive5xx: 0 }
      : { consecutive5xx: consecutive, enforcingConsecutive5xx: 100 }),
    enforcingConsecutiveGatewayFailure: 0,
    enforcingSuccessRate: 0,
    ...(failure && {
      failurePercentageThreshold: failure.threshold,
      failurePercentageMinimumHosts: failure.minimumHosts,
      failurePercentageRequestVolume: failure.requestVolume,
      enforcingFailurePercentage: 100,
    }),
  };
}

/**
 * The application behind a served port. Its protocol is whatever the calling sidecar spoke (the
 * same port number may be HTTP/1.1 in one workload and gRPC in another), so the cluster does not
 * depend on which workload asks.
 */
export function inboundCluster(port: number): Cluster {
  const name = inboundClusterName(port);
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
    connectTimeout: durationMs(defaultConnectTimeoutMs),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    loadAssignment: {
      clusterName: name,
      endpoints: [
        { lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: endpointAt(loopback, port) } }] },
      ],
    },
    typedExtensionProtocolOptions: downstreamProtocolOptions(),
  });
}

/** Outbound traffic to destinations outside the mesh, to the address it was sent to. */
export function outboundPassthroughCluster(): Cluster {
  return originalDestination(passthroughCluster, {});
}

/**
 * Inbound traffic to a port no Service names. It leaves from 127.0.0.6 because iptables lets
 * the proxy's own connections from that address through instead of capturing them again.
 */
export function inboundPassthroughClusterResource(): Cluster {
  return originalDestination(inboundPassthroughCluster, {
    upstreamBindConfig: {
      sourceAddress: {
        address: inboundPassthroughBindAddress,
        portSpecifier: { case: "portValue", value: 0 },
      },
    },
  });
}

function originalDestination(name: string, extra: ClusterInit): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
    connectTimeout: durationMs(defaultConnectTimeoutMs),
    lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    typedExtensionProtocolOptions: downstreamProtocolOptions(),
    ...extra,
  });
}

/**
 * Where the share of an invalid backend goes. Routes abort that share before it gets here (fault
 * filter); should one not, a cluster without endpoints fails it with 503, which Gateway API allows.
 */
export function blackholeClusterResource(): Cluster {
  return create(ClusterSchema, {
    name: blackholeCluster,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
    connectTimeout: durationMs(defaultConnectTimeoutMs),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    loadAssignment: { clusterName: blackholeCluster },
  });
}

function endpointAt(address: string, port: number) {
  return {
    address: {
      address: {
        case: "socketAddress" as const,
        value: { address, portSpecifier: { case: "portValue" as const, value: port } },
      },
    },
  };
}
