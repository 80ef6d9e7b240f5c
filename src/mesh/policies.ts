// TrafficPolicy attachment (GEP-713 direct policy): a policy targets Services of its own namespace,
// the whole Service or one port (sectionName = the port's name). One policy per target: the oldest
// wins, then namespace/name; a port-scoped policy replaces the Service-wide one for that port.
import {
  objectRef,
  outlierDetectionDefaults,
  parseDurationMs,
  ringHashDefaults,
  type LoadBalancerSpec,
  type OutlierDetectionSpec,
  type TrafficPolicy,
  type TrafficRetrySpec,
} from "../api/index.ts";
import {
  serviceKey,
  type HashPolicy,
  type MeshIssue,
  type MeshService,
  type OutlierDetectionPolicy,
  type RetryPolicy,
  type ServicePolicy,
} from "./model.ts";
import { proxylessPolicyIssues } from "./proxyless.ts";

/** The Services with the policies that won their targets attached. */
export function attachTrafficPolicies(
  policies: readonly TrafficPolicy[],
  services: ReadonlyMap<string, MeshService>,
  issues: MeshIssue[],
  proxyless: MeshIssue[],
): Map<string, MeshService> {
  /** Target (`ns/name` or `ns/name:port`) → the policy that holds it. */
  const winners = new Map<string, { ref: string; policy: ServicePolicy }>();
  for (const policy of [...policies].sort(compareAge)) {
    const namespace = policy.metadata.namespace ?? "default";
    const ref = objectRef("TrafficPolicy", policy.metadata);
    const resolved = toServicePolicy(policy);
    policy.spec.targetRefs.forEach((target, i) => {
      const field = `spec.targetRefs[${i}]`;
      const service = services.get(serviceKey(namespace, target.name));
      const report = (reason: string, message: string) =>
        issues.push({ object: ref, field, reason, message });
      if (!service) {
        return report(
          "TargetNotFound",
          `Service ${namespace}/${target.name} does not exist: create it or fix ${field}.name (a TrafficPolicy targets Services in its own namespace)`,
        );
      }
      const port = target.sectionName && service.ports.find((p) => p.name === target.sectionName);
      if (target.sectionName && !port) {
        return report(
          "TargetNotFound",
          `Service ${namespace}/${target.name} has no port named ${target.sectionName}; sectionName is a Service port name`,
        );
      }
      const key = port
        ? `${serviceKey(namespace, target.name)}:${port.port}`
        : serviceKey(namespace, target.name);
      const holder = winners.get(key);
      if (holder) {
        const what = port
          ? `port ${target.sectionName} of Service ${namespace}/${target.name}`
          : `Service ${namespace}/${target.name}`;
        return report(
          "Conflicted",
          `${holder.ref} already targets ${what} and is older (or sorts first); merge the two policies or target different ports`,
        );
      }
      winners.set(key, { ref, policy: resolved });
    });
    proxyless.push(...proxylessPolicyIssues(ref, policy));
  }
  const result = new Map<string, MeshService>();
  for (const [key, service] of services) {
    const whole = winners.get(key)?.policy;
    const ports = service.ports.map((port) => {
      const policy = winners.get(`${key}:${port.port}`)?.policy;
      return policy ? { ...port, policy } : port;
    });
    result.set(key, { ...service, ports, policy: whole });
  }
  return result;
}

/** Policy precedence (GEP-713): the oldest creationTimestamp, then namespace/name. */
function compareAge(a: TrafficPolicy, b: TrafficPolicy): number {
  const created = (p: TrafficPolicy) => p.metadata.creationTimestamp ?? "";
  const name = (p: TrafficPolicy) => `${p.metadata.namespace ?? "default"}/${p.metadata.name}`;
  return compare(created(a), created(b)) || compare(name(a), name(b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toServicePolicy(policy: TrafficPolicy): ServicePolicy {
  const { loadBalancer, circuitBreaker, outlierDetection, connectTimeout, retry } = policy.spec;
  return {
    source: objectRef("TrafficPolicy", policy.metadata),
    loadBalancer: loadBalancer?.type,
    ringHash:
      loadBalancer?.type === "RingHash"
        ? {
            minimumRingSize: loadBalancer.ringHash?.minimumRingSize ?? ringHashDefaults.minimumRingSize,
            maximumRingSize: loadBalancer.ringHash?.maximumRingSize ?? ringHashDefaults.maximumRingSize,
          }
        : undefined,
    hashPolicies: (loadBalancer?.hashPolicies ?? []).flatMap(hashPolicy),
    locality: loadBalancer?.locality && locality(loadBalancer.locality),
    circuitBreaker: circuitBreaker && {
      maxRequests: circuitBreaker.maxRequests,
      maxConnections: circuitBreaker.maxConnections,
      maxPendingRequests: circuitBreaker.maxPendingRequests,
      maxRetries: circuitBreaker.maxRetries,
    },
    outlierDetection: outlierDetection && outlierDetectionPolicy(outlierDetection),
    connectTimeoutMs: connectTimeout === undefined ? undefined : parseDurationMs(connectTimeout),
    retry: retry && retryPolicy(retry),
  };
}

function hashPolicy(spec: NonNullable<LoadBalancerSpec["hashPolicies"]>[number]): HashPolicy[] {
  if (spec.header) return [{ type: "Header", name: spec.header.name.toLowerCase() }];
  if (spec.sourceIP) return [{ type: "SourceIP" }];
  if (spec.channel) return [{ type: "Channel" }];
  return [];
}

function locality(spec: NonNullable<LoadBalancerSpec["locality"]>): ServicePolicy["locality"] {
  return {
    weights: new Map((spec.weights ?? []).map((w) => [w.zone, w.weight])),
    failoverOrder: spec.failover ?? [],
  };
}

function outlierDetectionPolicy(spec: OutlierDetectionSpec): OutlierDetectionPolicy {
  const failure = spec.failurePercentage;
  return {
    intervalMs: parseDurationMs(spec.interval ?? outlierDetectionDefaults.interval),
    baseEjectionTimeMs: parseDurationMs(spec.baseEjectionTime ?? outlierDetectionDefaults.baseEjectionTime),
    maxEjectionPercent: spec.maxEjectionPercent ?? outlierDetectionDefaults.maxEjectionPercent,
    consecutiveErrors: spec.consecutiveErrors,
    failurePercentage: failure && {
      threshold: failure.threshold,
      minimumHosts: failure.minimumHosts ?? outlierDetectionDefaults.minimumHosts,
      requestVolume: failure.requestVolume ?? outlierDetectionDefaults.requestVolume,
    },
  };
}

function retryPolicy(spec: TrafficRetrySpec): RetryPolicy {
  return {
    attempts: spec.attempts,
    httpCodes: [],
    grpcCodes: spec.retryOn,
    backoffBaseMs: spec.backoff && parseDurationMs(spec.backoff.baseInterval),
    backoffMaxMs:
      spec.backoff?.maxInterval === undefined ? undefined : parseDurationMs(spec.backoff.maxInterval),
  };
}
