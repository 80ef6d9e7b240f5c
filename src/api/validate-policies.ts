// Rules of the meshplane.dev policy kinds that the schema cannot express: what a policy targets,
// fields that only mean something together, one-of choices and positive durations.
import { duplicateErrors, type FieldError } from "./field-error.ts";
import { parseDurationMs } from "./meta.ts";
import {
  ringHashDefaults,
  type FaultInjection,
  type LoadBalancerSpec,
  type OutlierDetectionSpec,
  type TrafficPolicy,
} from "./policies.ts";

export function trafficPolicyErrors(policy: TrafficPolicy): FieldError[] {
  const { spec } = policy;
  const errors: FieldError[] = [];
  spec.targetRefs.forEach((ref, i) => {
    if ((ref.group !== "" && ref.group !== "core") || ref.kind !== "Service") {
      errors.push({
        field: `spec.targetRefs[${i}]`,
        message: 'a TrafficPolicy targets Services: set group: "" and kind: Service',
      });
    }
  });
  errors.push(
    ...duplicateErrors(
      spec.targetRefs,
      (ref) => (ref.sectionName === undefined ? ref.name : `${ref.name}/${ref.sectionName}`),
      (i) => `spec.targetRefs[${i}]`,
      "target",
    ),
  );
  if (
    spec.loadBalancer === undefined &&
    spec.circuitBreaker === undefined &&
    spec.outlierDetection === undefined &&
    spec.connectTimeout === undefined &&
    spec.retry === undefined
  ) {
    errors.push({
      field: "spec",
      message: "set at least one of loadBalancer, circuitBreaker, outlierDetection, connectTimeout, retry",
    });
  }
  if (spec.loadBalancer) errors.push(...loadBalancerErrors(spec.loadBalancer));
  if (spec.circuitBreaker && Object.keys(spec.circuitBreaker).length === 0) {
    errors.push({
      field: "spec.circuitBreaker",
      message: "set at least one of maxRequests, maxConnections, maxPendingRequests, maxRetries",
    });
  }
  if (spec.outlierDetection) errors.push(...outlierDetectionErrors(spec.outlierDetection));
  if (spec.connectTimeout !== undefined) {
    errors.push(...positiveDuration(spec.connectTimeout, "spec.connectTimeout"));
  }
  const backoff = spec.retry?.backoff;
  if (backoff) {
    errors.push(...positiveDuration(backoff.baseInterval, "spec.retry.backoff.baseInterval"));
    if (
      backoff.maxInterval !== undefined &&
      parseDurationMs(backoff.maxInterval) < parseDurationMs(backoff.baseInterval)
    ) {
      errors.push({
        field: "spec.retry.backoff.maxInterval",
        message: "must not be shorter than baseInterval",
      });
    }
  }
  return errors;
}

function loadBalancerErrors(lb: LoadBalancerSpec): FieldError[] {
  const errors: FieldError[] = [];
  const at = "spec.loadBalancer";
  if (lb.type !== "RingHash") {
    for (const key of ["ringHash", "hashPolicies"] as const) {
      if (lb[key] !== undefined) {
        errors.push({
          field: `${at}.${key}`,
          message: `only applies with type: RingHash (type is ${lb.type})`,
        });
      }
    }
  }
  const min = lb.ringHash?.minimumRingSize ?? ringHashDefaults.minimumRingSize;
  const max = lb.ringHash?.maximumRingSize ?? ringHashDefaults.maximumRingSize;
  if (min > max) {
    errors.push({
      field: `${at}.ringHash.minimumRingSize`,
      message: `must not exceed maximumRingSize (${max}${lb.ringHash?.maximumRingSize === undefined ? ", the default" : ""})`,
    });
  }
  lb.hashPolicies?.forEach((policy, i) => {
    const set = (["header", "sourceIP", "channel"] as const).filter((key) => policy[key] !== undefined);
    if (set.length !== 1) {
      errors.push({
        field: `${at}.hashPolicies[${i}]`,
        message: `set exactly one of header, sourceIP, channel${set.length > 1 ? ` (found ${set.join(", ")})` : ""}`,
      });
    }
  });
  errors.push(
    ...duplicateErrors(
      lb.locality?.weights,
      (w) => w.zone,
      (i) => `${at}.locality.weights[${i}].zone`,
      "zone",
    ),
    ...duplicateErrors(
      lb.locality?.failover,
      (z) => z,
      (i) => `${at}.locality.failover[${i}]`,
      "zone",
    ),
  );
  return errors;
}

function outlierDetectionErrors(od: OutlierDetectionSpec): FieldError[] {
  const at = "spec.outlierDetection";
  const errors: FieldError[] = [];
  if (od.consecutiveErrors === undefined && od.failurePercentage === undefined) {
    errors.push({
      field: at,
      message: "set consecutiveErrors, failurePercentage or both: without either no host is ever ejected",
    });
  }
  if (od.interval !== undefined) errors.push(...positiveDuration(od.interval, `${at}.interval`));
  if (od.baseEjectionTime !== undefined) {
    errors.push(...positiveDuration(od.baseEjectionTime, `${at}.baseEjectionTime`));
  }
  return errors;
}

function positiveDuration(value: string, field: string): FieldError[] {
  return parseDurationMs(value) > 0 ? [] : [{ field, message: "must be longer than 0s" }];
}

export function faultInjectionErrors(fault: FaultInjection): FieldError[] {
  const { delay, abort } = fault.spec;
  const errors: FieldError[] = [];
  if (delay === undefined && abort === undefined) {
    errors.push({ field: "spec", message: "set delay, abort or both" });
  }
  if (abort && (abort.grpcStatus === undefined) === (abort.httpStatus === undefined)) {
    errors.push({ field: "spec.abort", message: "set exactly one of grpcStatus and httpStatus" });
  }
  return errors;
}
