// Rules of the Rollout kind that the schema cannot express: one action per step, one provider per
// metric, template parameters only with a template, limits that leave an analysis able to pass.
import { duplicateErrors, type FieldError } from "./field-error.ts";
import { parseDurationMs } from "./meta.ts";
import { analysisDefaults, type AnalysisStep, type Rollout, type RolloutMetric } from "./rollout.ts";

const stepActions = ["setWeight", "pause", "analysis", "exposeByHeader"] as const;

export function rolloutErrors(rollout: Rollout): FieldError[] {
  const { spec } = rollout;
  const errors: FieldError[] = [];
  if (spec.stableBackend.name === spec.canaryBackend.name) {
    errors.push({
      field: "spec.canaryBackend.name",
      message: "must differ from spec.stableBackend.name: a canary is a second backend of the rule",
    });
  }
  spec.steps.forEach((step, i) => {
    const at = `spec.steps[${i}]`;
    const set = stepActions.filter((key) => step[key] !== undefined);
    if (set.length !== 1) {
      errors.push({
        field: at,
        message: `set exactly one of ${stepActions.join(", ")}${set.length > 1 ? ` (found ${set.join(", ")})` : ""}`,
      });
    }
    if (step.pause?.duration !== undefined && parseDurationMs(step.pause.duration) <= 0) {
      errors.push({
        field: `${at}.pause.duration`,
        message: "must be longer than 0s; leave it out to pause until promoted",
      });
    }
    if (step.analysis) errors.push(...analysisErrors(step.analysis, `${at}.analysis`));
  });
  if (spec.promote !== undefined && spec.promote >= spec.steps.length) {
    errors.push({
      field: "spec.promote",
      message: `names step ${spec.promote} but there are ${spec.steps.length} steps (0 to ${spec.steps.length - 1})`,
    });
  }
  return errors;
}

function analysisErrors(analysis: AnalysisStep, at: string): FieldError[] {
  const errors: FieldError[] = [];
  if (analysis.interval !== undefined && parseDurationMs(analysis.interval) <= 0) {
    errors.push({ field: `${at}.interval`, message: "must be longer than 0s" });
  }
  const count = analysis.count ?? analysisDefaults.count;
  const failureLimit = analysis.failureLimit ?? analysisDefaults.failureLimit;
  if (failureLimit >= count) {
    errors.push({
      field: `${at}.failureLimit`,
      message: `must be less than count (${count}), or the analysis could never fail`,
    });
  }
  errors.push(
    ...duplicateErrors(
      analysis.metrics,
      (m) => m.name,
      (i) => `${at}.metrics[${i}].name`,
      "metric name",
    ),
  );
  analysis.metrics.forEach((metric, i) => errors.push(...metricErrors(metric, `${at}.metrics[${i}]`)));
  return errors;
}

function metricErrors(metric: RolloutMetric, at: string): FieldError[] {
  const errors: FieldError[] = [];
  if ((metric.prometheus === undefined) === (metric.web === undefined)) {
    errors.push({ field: at, message: "set exactly one provider: prometheus or web" });
  }
  if (metric.successCondition === undefined && metric.failureCondition === undefined) {
    errors.push({
      field: at,
      message: 'set successCondition, failureCondition or both, e.g. successCondition: ">= 0.99"',
    });
  }
  const prometheus = metric.prometheus;
  if (prometheus) {
    const p = `${at}.prometheus`;
    if ((prometheus.query === undefined) === (prometheus.template === undefined)) {
      errors.push({ field: p, message: "set exactly one of query and template" });
    }
    if (prometheus.template === undefined) {
      for (const key of ["selector", "window", "quantile"] as const) {
        if (prometheus[key] !== undefined) {
          errors.push({ field: `${p}.${key}`, message: "only applies with a template" });
        }
      }
    } else if (prometheus.quantile !== undefined && prometheus.template !== "GrpcLatencyQuantile") {
      errors.push({ field: `${p}.quantile`, message: "only applies with template: GrpcLatencyQuantile" });
    }
    if (prometheus.quantile !== undefined && (prometheus.quantile <= 0 || prometheus.quantile >= 1)) {
      errors.push({ field: `${p}.quantile`, message: "must be between 0 and 1, e.g. 0.99" });
    }
    if (prometheus.window !== undefined && parseDurationMs(prometheus.window) < 1000) {
      errors.push({ field: `${p}.window`, message: "must be at least 1s (a PromQL range)" });
    }
  }
  if (metric.web?.timeout !== undefined && parseDurationMs(metric.web.timeout) <= 0) {
    errors.push({ field: `${at}.web.timeout`, message: "must be longer than 0s" });
  }
  return errors;
}
