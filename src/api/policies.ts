// meshplane.dev/v1alpha1 policy kinds. TrafficPolicy attaches to Services (GEP-713 direct policy
// attachment through targetRefs); FaultInjection is referenced from route rules as an ExtensionRef
// filter. Unknown fields are rejected, as for routes: a typo must never silently change traffic.
import { Type, type Static } from "@sinclair/typebox";
import { ObjectMeta, durationPattern } from "./meta.ts";

export const meshplaneApiVersion = "meshplane.dev/v1alpha1";
export const meshplaneGroup = "meshplane.dev";

const strict = { additionalProperties: false } as const;
const Duration = Type.String({ pattern: durationPattern });
const literals = <T extends string>(...values: T[]) => Type.Union(values.map((v) => Type.Literal(v)));
/** Envoy and gRPC carry these limits as uint32. */
const Count = Type.Integer({ minimum: 1, maximum: 4_294_967_295 });
const Percentage = Type.Number({ minimum: 0, maximum: 100 });

export const PolicyTargetReference = Type.Object(
  {
    group: Type.String({ maxLength: 253 }),
    kind: Type.String({ minLength: 1, maxLength: 63 }),
    name: Type.String({ minLength: 1, maxLength: 253 }),
    sectionName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  },
  strict,
);
export type PolicyTargetReference = Static<typeof PolicyTargetReference>;

/** gRFC A42 hash policies: exactly one of the three is set. */
export const HashPolicySpec = Type.Object(
  {
    header: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$" }),
        },
        strict,
      ),
    ),
    sourceIP: Type.Optional(Type.Object({}, strict)),
    channel: Type.Optional(Type.Object({}, strict)),
  },
  strict,
);
export type HashPolicySpec = Static<typeof HashPolicySpec>;

/** Envoy's defaults (cluster.proto RingHashLbConfig); the mesh build applies them. */
export const ringHashDefaults = { minimumRingSize: 1024, maximumRingSize: 8_388_608 } as const;
const ringSize = (value: number) =>
  Type.Integer({ minimum: 1, maximum: ringHashDefaults.maximumRingSize, default: value });
const Zone = Type.String({ maxLength: 253 });

export const LoadBalancerSpec = Type.Object(
  {
    type: literals("RoundRobin", "LeastRequest", "RingHash"),
    ringHash: Type.Optional(
      Type.Object(
        {
          minimumRingSize: Type.Optional(ringSize(ringHashDefaults.minimumRingSize)),
          maximumRingSize: Type.Optional(ringSize(ringHashDefaults.maximumRingSize)),
        },
        strict,
      ),
    ),
    hashPolicies: Type.Optional(Type.Array(HashPolicySpec, { minItems: 1, maxItems: 8 })),
    locality: Type.Optional(
      Type.Object(
        {
          weights: Type.Optional(
            Type.Array(
              Type.Object({ zone: Zone, weight: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }, strict),
              { maxItems: 64 },
            ),
          ),
          failover: Type.Optional(Type.Array(Zone, { maxItems: 64 })),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type LoadBalancerSpec = Static<typeof LoadBalancerSpec>;

export const CircuitBreakerSpec = Type.Object(
  {
    maxRequests: Type.Optional(Count),
    maxConnections: Type.Optional(Count),
    maxPendingRequests: Type.Optional(Count),
    maxRetries: Type.Optional(Count),
  },
  strict,
);
export type CircuitBreakerSpec = Static<typeof CircuitBreakerSpec>;

/** Defaults shared by Envoy and gRFC A50. */
export const outlierDetectionDefaults = {
  interval: "10s",
  baseEjectionTime: "30s",
  maxEjectionPercent: 10,
  minimumHosts: 5,
  requestVolume: 50,
} as const;

export const OutlierDetectionSpec = Type.Object(
  {
    interval: Type.Optional(
      Type.String({ pattern: durationPattern, default: outlierDetectionDefaults.interval }),
    ),
    baseEjectionTime: Type.Optional(
      Type.String({ pattern: durationPattern, default: outlierDetectionDefaults.baseEjectionTime }),
    ),
    maxEjectionPercent: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 100, default: outlierDetectionDefaults.maxEjectionPercent }),
    ),
    consecutiveErrors: Type.Optional(Count),
    failurePercentage: Type.Optional(
      Type.Object(
        {
          threshold: Type.Integer({ minimum: 0, maximum: 100 }),
          minimumHosts: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 4_294_967_295,
              default: outlierDetectionDefaults.minimumHosts,
            }),
          ),
          requestVolume: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 4_294_967_295,
              default: outlierDetectionDefaults.requestVolume,
            }),
          ),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type OutlierDetectionSpec = Static<typeof OutlierDetectionSpec>;

/** gRPC status codes a TrafficPolicy may retry on, spelled as Envoy's `retry_on` and gRFC A44. */
export const retryableGrpcStatuses = [
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
] as const;

export const TrafficRetrySpec = Type.Object(
  {
    attempts: Type.Integer({ minimum: 1, maximum: 100 }),
    // Not `on`: YAML 1.1, which kubectl reads, turns an `on` key into `true`.
    retryOn: Type.Array(literals(...retryableGrpcStatuses), { minItems: 1, maxItems: 5, uniqueItems: true }),
    backoff: Type.Optional(
      Type.Object({ baseInterval: Duration, maxInterval: Type.Optional(Duration) }, strict),
    ),
  },
  strict,
);
export type TrafficRetrySpec = Static<typeof TrafficRetrySpec>;

export const TrafficPolicy = Type.Object({
  apiVersion: Type.Literal(meshplaneApiVersion),
  kind: Type.Literal("TrafficPolicy"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      targetRefs: Type.Array(PolicyTargetReference, { minItems: 1, maxItems: 16 }),
      loadBalancer: Type.Optional(LoadBalancerSpec),
      circuitBreaker: Type.Optional(CircuitBreakerSpec),
      outlierDetection: Type.Optional(OutlierDetectionSpec),
      connectTimeout: Type.Optional(Duration),
      retry: Type.Optional(TrafficRetrySpec),
    },
    strict,
  ),
  status: Type.Optional(Type.Unknown()),
});
export type TrafficPolicy = Static<typeof TrafficPolicy>;

export const FaultInjection = Type.Object({
  apiVersion: Type.Literal(meshplaneApiVersion),
  kind: Type.Literal("FaultInjection"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      delay: Type.Optional(Type.Object({ fixedDelay: Duration, percentage: Percentage }, strict)),
      abort: Type.Optional(
        Type.Object(
          {
            grpcStatus: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
            httpStatus: Type.Optional(Type.Integer({ minimum: 200, maximum: 599 })),
            percentage: Percentage,
          },
          strict,
        ),
      ),
    },
    strict,
  ),
  status: Type.Optional(Type.Unknown()),
});
export type FaultInjection = Static<typeof FaultInjection>;
