// From a cluster name to the endpoints a share of requests can reach: the cluster (CDS), its
// endpoints (EDS or inline), which of them the data plane uses, and the fault the share meets.
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { Cluster_DiscoveryType, Cluster_LbPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { RoutingPriority } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { HttpConnectionManager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { blackholeCluster } from "../names.ts";
import type { PlannedBackend } from "./action.ts";
import { durationToMs, effectiveFault } from "./fault.ts";
import type { ClientIdentity } from "../clients/index.ts";
import { clusterVerdicts } from "./client-verdicts.ts";
import { clusterProblems, loadAssignmentProblems } from "./grpc-validation.ts";
import type {
  BackendResult,
  ClusterReport,
  LocalityReport,
  ObservedRequest,
  SimulationFlavour,
  SimulationResources,
} from "./types.ts";

export interface BackendContext {
  readonly resources: SimulationResources;
  readonly flavour: SimulationFlavour;
  readonly manager: HttpConnectionManager;
  readonly request: ObservedRequest;
  /** The route's timeout, to tell when an injected delay always runs out the clock. */
  readonly timeoutMs: number | undefined;
  /** The client release whose verdicts count (proxyless gRPC), if one was named. */
  readonly client: ClientIdentity | undefined;
  /** Resources the data plane rejects, collected for the result. */
  readonly rejected: string[];
  /** Features the client ignores, collected for the result. */
  readonly ignored: string[];
  readonly notes: string[];
}

export function resolveBackend(planned: PlannedBackend, context: BackendContext): BackendResult {
  const { flavour, resources } = context;
  const base = { cluster: planned.cluster, weight: planned.weight, share: planned.share };
  const fail = (reason: string, rest: Partial<BackendResult> = {}): BackendResult => ({
    ...base,
    ok: false,
    reason,
    fault: undefined,
    details: undefined,
    localities: [],
    usableEndpoints: 0,
    ...rest,
  });
  if (planned.failure) return fail(planned.failure);
  const cluster = resources.clusters.find((c) => c.name === planned.cluster);
  if (!cluster) {
    return fail(
      flavour === "grpc"
        ? `no cluster ${planned.cluster}: the client waits 15 s for it, then fails calls routed to it (UNAVAILABLE)`
        : `unknown cluster ${planned.cluster}`,
    );
  }
  const details = clusterReport(cluster, flavour, context.notes);
  if (flavour === "grpc") {
    const verdicts = clusterVerdicts(cluster, context.client);
    context.ignored.push(...verdicts.ignored.map((i) => `Cluster ${cluster.name}: ${i}`));
    const problems = [...clusterProblems(cluster), ...verdicts.rejected];
    if (problems.length > 0) {
      context.rejected.push(...problems.map((p) => `Cluster ${cluster.name}: ${p}`));
      return fail(`the client rejects cluster ${cluster.name}: ${problems.join("; ")}`, { details });
    }
  }
  const fault = effectiveFault(context.manager, planned.levels, context.request, flavour, planned.cluster);
  // The fault filter runs before the router picks an endpoint (Envoy and gRFC A33 alike).
  const abort = fault?.abort;
  const invalid = cluster.name === blackholeCluster ? " (the share of an invalid backendRef)" : "";
  if (abort && abort.percent >= 100) {
    const status =
      abort.grpcStatus !== undefined ? `gRPC status ${abort.grpcStatus}` : `HTTP ${abort.httpStatus}`;
    return fail(`every request is aborted by fault injection (${status})${invalid}`, { details, fault });
  }
  const endpoints = loadAssignmentOf(cluster, resources);
  if (endpoints === "original-destination" || endpoints === "aggregate") {
    return { ...base, ok: true, reason: undefined, fault, details, localities: [], usableEndpoints: 0 };
  }
  if (!endpoints)
    return fail(`no endpoints resource (EDS) ${details.edsServiceName ?? cluster.name}`, { details, fault });
  if (flavour === "grpc") {
    const problems = loadAssignmentProblems(endpoints);
    if (problems.length > 0) {
      context.rejected.push(...problems.map((p) => `ClusterLoadAssignment ${endpoints.clusterName}: ${p}`));
      return fail(`the client rejects the endpoints of ${cluster.name}: ${problems.join("; ")}`, {
        details,
        fault,
      });
    }
  }
  const localities = localityReports(endpoints, flavour);
  const usableEndpoints = localities
    .filter((l) => !l.skipped)
    .reduce((count, l) => count + l.endpoints.filter((e) => e.usable).length, 0);
  const rest = { details, fault, localities, usableEndpoints };
  if (usableEndpoints === 0) {
    return fail(invalid ? `no endpoints${invalid}` : "no usable endpoints", rest);
  }
  const delay = fault?.delay;
  if (
    delay &&
    delay.percent >= 100 &&
    delay.ms !== undefined &&
    context.timeoutMs !== undefined &&
    delay.ms >= context.timeoutMs
  ) {
    return fail(
      `the injected delay (${delay.ms} ms) always exceeds the timeout (${context.timeoutMs} ms)`,
      rest,
    );
  }
  return { ...base, ok: true, reason: undefined, ...rest };
}

/** The fraction of the route's requests that reach an endpoint: served shares less their aborts. */
export function servedShare(backends: readonly BackendResult[]): number {
  return backends.reduce(
    (total, b) => total + (b.ok ? b.share * (1 - (b.fault?.abort?.percent ?? 0) / 100) : 0),
    0,
  );
}

function loadAssignmentOf(
  cluster: Cluster,
  resources: SimulationResources,
): ClusterLoadAssignment | "original-destination" | "aggregate" | undefined {
  const discovery = cluster.clusterDiscoveryType;
  if (discovery.case === "clusterType") return "aggregate";
  if (discovery.case === "type" && discovery.value === Cluster_DiscoveryType.ORIGINAL_DST)
    return "original-destination";
  if (discovery.case === "type" && discovery.value === Cluster_DiscoveryType.EDS) {
    const name = cluster.edsClusterConfig?.serviceName || cluster.name;
    return resources.endpoints.find((e) => e.clusterName === name);
  }
  return cluster.loadAssignment;
}

function clusterReport(cluster: Cluster, flavour: SimulationFlavour, notes: string[]): ClusterReport {
  const discovery = cluster.clusterDiscoveryType;
  const type =
    discovery.case === "type"
      ? (Cluster_DiscoveryType[discovery.value] ?? String(discovery.value))
      : discovery.case === "clusterType"
        ? discovery.value.name
        : "STATIC";
  const policies = cluster.loadBalancingPolicy?.policies.map((p) => p.typedExtensionConfig?.name ?? "?");
  const thresholds = cluster.circuitBreakers?.thresholds.find((t) => t.priority === RoutingPriority.DEFAULT);
  const circuitBreaker = thresholds
    ? defined({
        maxConnections: thresholds.maxConnections,
        maxPendingRequests: thresholds.maxPendingRequests,
        maxRequests: thresholds.maxRequests,
        maxRetries: thresholds.maxRetries,
      })
    : undefined;
  if (flavour === "grpc" && circuitBreaker && Object.keys(circuitBreaker).some((k) => k !== "maxRequests")) {
    notes.push(`cluster ${cluster.name}: gRPC clients honour only the circuit breaker's max_requests`);
  }
  const od = cluster.outlierDetection;
  const outlierDetection = od
    ? defined({
        intervalMs: durationToMs(od.interval),
        baseEjectionTimeMs: durationToMs(od.baseEjectionTime),
        maxEjectionTimeMs: durationToMs(od.maxEjectionTime),
        maxEjectionPercent: od.maxEjectionPercent,
        consecutive5xx: od.consecutive5xx,
        consecutiveGatewayFailure: od.consecutiveGatewayFailure,
        enforcingConsecutive5xx: od.enforcingConsecutive5xx,
        successRateMinimumHosts: od.successRateMinimumHosts,
        successRateRequestVolume: od.successRateRequestVolume,
        successRateStdevFactor: od.successRateStdevFactor,
        enforcingSuccessRate: od.enforcingSuccessRate,
        failurePercentageThreshold: od.failurePercentageThreshold,
        failurePercentageMinimumHosts: od.failurePercentageMinimumHosts,
        failurePercentageRequestVolume: od.failurePercentageRequestVolume,
        enforcingFailurePercentage: od.enforcingFailurePercentage,
      })
    : undefined;
  return {
    type,
    lbPolicy: policies?.length
      ? policies.join(" > ")
      : (Cluster_LbPolicy[cluster.lbPolicy] ?? String(cluster.lbPolicy)),
    connectTimeoutMs: durationToMs(cluster.connectTimeout),
    circuitBreaker,
    outlierDetection,
    edsServiceName:
      discovery.case === "type" && discovery.value === Cluster_DiscoveryType.EDS
        ? cluster.edsClusterConfig?.serviceName || cluster.name
        : undefined,
  };
}

function defined(values: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, number] => entry[1] !== undefined),
  );
}

// gRFC A27: gRPC uses UNKNOWN and HEALTHY endpoints; Envoy also DEGRADED ones (after the healthy).
const usableHealth: Record<SimulationFlavour, ReadonlySet<HealthStatus>> = {
  grpc: new Set([HealthStatus.UNKNOWN, HealthStatus.HEALTHY]),
  envoy: new Set([HealthStatus.UNKNOWN, HealthStatus.HEALTHY, HealthStatus.DEGRADED]),
};

function localityReports(assignment: ClusterLoadAssignment, flavour: SimulationFlavour): LocalityReport[] {
  return assignment.endpoints.map((group) => {
    const l = group.locality;
    const name = [l?.region, l?.zone, l?.subZone].filter(Boolean).join("/") || "(no locality)";
    const weight = group.loadBalancingWeight ?? 0;
    return {
      locality: name,
      priority: group.priority,
      weight,
      // gRFC A27 / grpc-js-xds: a locality without a positive weight gets no traffic.
      skipped: flavour === "grpc" && weight === 0 ? "load_balancing_weight is 0 or unset" : undefined,
      endpoints: group.lbEndpoints.map((lb) => {
        const address =
          lb.hostIdentifier.case === "endpoint" ? lb.hostIdentifier.value.address?.address : undefined;
        const socket = address?.case === "socketAddress" ? address.value : undefined;
        return {
          address: socket?.address ?? "?",
          port: socket?.portSpecifier.case === "portValue" ? socket.portSpecifier.value : 0,
          health: HealthStatus[lb.healthStatus] ?? String(lb.healthStatus),
          usable: usableHealth[flavour].has(lb.healthStatus),
        };
      }),
    };
  });
}
