// meshplane.dev/v1alpha1 Rollout: progressive delivery of one route rule from a stable to a canary
// backend, step by step (set a weight, pause, analyse metrics, expose by header). The controller in
// src/rollout moves the rule's weights; its progress lives in `status`, so any replica continues it.
// Unknown fields are rejected, as for every meshplane kind.
import { Type, type Static } from "@sinclair/typebox";
import { ObjectMeta, durationPattern } from "./meta.ts";
import { meshplaneApiVersion } from "./policies.ts";

const strict = { additionalProperties: false } as const;
const Duration = Type.String({ pattern: durationPattern });
const Name = Type.String({ minLength: 1, maxLength: 253 });
const HeaderName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$",
});
const literals = <T extends string>(...values: T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** `>= 0.95`, `< 0.5`: a comparison of the measured value with a number. */
export const conditionPattern = "^\\s*(<=|>=|==|!=|<|>)\\s*-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?\\s*$";
const MetricCondition = Type.String({ maxLength: 64, pattern: conditionPattern });

/** Ready-made PromQL over the standard gRPC server metrics (see src/rollout/templates.ts). */
export const prometheusTemplates = ["GrpcSuccessRate", "GrpcLatencyQuantile"] as const;

export const PrometheusProvider = Type.Object(
  {
    address: Type.String({ minLength: 1, maxLength: 2048, pattern: "^https?://" }),
    query: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    template: Type.Optional(literals(...prometheusTemplates)),
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    window: Type.Optional(Duration),
    // Strictly between 0 and 1 (checked in validate-rollout.ts: OpenAPI 3.0's exclusive bounds are flags).
    quantile: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  strict,
);
export type PrometheusProvider = Static<typeof PrometheusProvider>;

export const WebProvider = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, pattern: "^https?://" }),
    /** Dotted path to the number in the JSON answer; the answer itself when unset. */
    jsonPath: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9_.\\[\\]-]+$" }),
    ),
    timeout: Type.Optional(Duration),
  },
  strict,
);
export type WebProvider = Static<typeof WebProvider>;

export const RolloutMetric = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" }),
    successCondition: Type.Optional(MetricCondition),
    failureCondition: Type.Optional(MetricCondition),
    prometheus: Type.Optional(PrometheusProvider),
    web: Type.Optional(WebProvider),
  },
  strict,
);
export type RolloutMetric = Static<typeof RolloutMetric>;

export const AnalysisStep = Type.Object(
  {
    metrics: Type.Array(RolloutMetric, { minItems: 1, maxItems: 8 }),
    interval: Type.Optional(Duration),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    failureLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    inconclusiveLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  strict,
);
export type AnalysisStep = Static<typeof AnalysisStep>;

export const RolloutStep = Type.Object(
  {
    setWeight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    pause: Type.Optional(Type.Object({ duration: Type.Optional(Duration) }, strict)),
    analysis: Type.Optional(AnalysisStep),
    exposeByHeader: Type.Optional(
      Type.Object({ name: HeaderName, value: Type.String({ minLength: 1, maxLength: 4096 }) }, strict),
    ),
  },
  strict,
);
export type RolloutStep = Static<typeof RolloutStep>;

const BackendName = Type.Object({ name: Name }, strict);

export const Rollout = Type.Object({
  apiVersion: Type.Literal(meshplaneApiVersion),
  kind: Type.Literal("Rollout"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      routeRef: Type.Object(
        {
          group: Type.Optional(Type.Literal("gateway.networking.k8s.io")),
          kind: literals("GRPCRoute", "HTTPRoute"),
          name: Name,
          rule: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, default: 0 })),
        },
        strict,
      ),
      stableBackend: BackendName,
      canaryBackend: BackendName,
      steps: Type.Array(RolloutStep, { minItems: 1, maxItems: 64 }),
      paused: Type.Optional(Type.Boolean()),
      abort: Type.Optional(Type.Boolean()),
      promote: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    },
    strict,
  ),
  status: Type.Optional(Type.Unknown()),
});
export type Rollout = Static<typeof Rollout>;

/** Defaults of an analysis step (Argo Rollouts' AnalysisTemplate uses the same meanings). */
export const analysisDefaults = { interval: "10s", count: 3, failureLimit: 0, inconclusiveLimit: 0 } as const;
export const prometheusDefaults = { window: "30s", quantile: 0.99 } as const;
