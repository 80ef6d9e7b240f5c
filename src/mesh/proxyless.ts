// What proxyless gRPC clients cannot do (spec-notes 4.3 and 5). The configuration stays valid and
// is served to Envoy; for gRPC callers it is ignored, applied differently or made to fail, and the
// user is told with an issue of flavour "grpc" rather than finding out from traffic.
import { parseDurationMs, type HTTPRouteRule, type TrafficPolicy } from "../api/index.ts";
import type { MeshIssue, RouteFilter } from "./model.ts";

/** gRFC A6: clients cap a call at 5 attempts, whatever the policy asks for. */
export const grpcMaxAttempts = 5;

/**
 * HTTPRoute retry codes gRPC clients see as UNAVAILABLE (gRPC doc/http-grpc-status-mapping.md), the
 * only ones the proxyless translator can retry. 400 (INTERNAL) is left out on purpose: retrying
 * 400s does not mean "retry every INTERNAL error the server returns".
 */
export const grpcRetryableHttpCodes: readonly number[] = [429, 502, 503, 504];

const issue = (object: string, field: string, message: string): MeshIssue => ({
  object,
  field,
  reason: "UnsupportedValue",
  message,
  flavour: "grpc",
});

/** HTTPRoute matches that can never select a call from a proxyless gRPC client (gRFC A28). */
export function proxylessMatchIssues(ref: string, rule: HTTPRouteRule, field: string): MeshIssue[] {
  const issues: MeshIssue[] = [];
  rule.matches?.forEach((match, m) => {
    const at = `${field}.matches[${m}]`;
    if (match.method !== undefined && match.method !== "POST") {
      issues.push(
        issue(ref, `${at}.method`, "never matches proxyless gRPC callers: every gRPC call is a POST"),
      );
    }
    if (match.queryParams?.length) {
      issues.push(
        issue(
          ref,
          `${at}.queryParams`,
          "query parameter matches never match proxyless gRPC callers (gRFC A28)",
        ),
      );
    }
  });
  return issues;
}

/** HTTPRoute timeouts and retries proxyless gRPC clients apply differently. */
export function proxylessRuleIssues(ref: string, rule: HTTPRouteRule, field: string): MeshIssue[] {
  const issues: MeshIssue[] = [];
  if (rule.timeouts?.backendRequest !== undefined) {
    issues.push(
      issue(
        ref,
        `${field}.timeouts.backendRequest`,
        "ignored by proxyless gRPC clients: they have no per-attempt timeout; only timeouts.request bounds their calls",
      ),
    );
  }
  if (rule.retry) issues.push(...routeRetryIssues(ref, rule.retry, `${field}.retry`));
  return issues;
}

/**
 * gRPC retries on status codes (gRFC A44): of the HTTP codes only those mapping to UNAVAILABLE
 * count. A rule whose retry leaves none is not retried for gRPC callers at all, because the rule's
 * retry replaces the Service's TrafficPolicy retry.
 */
function routeRetryIssues(
  ref: string,
  retry: NonNullable<HTTPRouteRule["retry"]>,
  field: string,
): MeshIssue[] {
  // attempts 0 turns retries off for every data plane: there is nothing gRPC clients do differently.
  if (retry.attempts === 0) return [];
  const codes = retry.codes ?? [];
  const unusable = [...new Set(codes.filter((code) => !grpcRetryableHttpCodes.includes(code)))];
  const retried = "they retry only 429, 502, 503 and 504, which gRPC sees as UNAVAILABLE";
  if (unusable.length === new Set(codes).size) {
    const why = codes.length === 0 ? "no codes are listed" : withoutGrpcStatus(unusable);
    return [
      issue(
        ref,
        `${field}.codes`,
        `${why}, so proxyless gRPC clients get no retry for this rule (its retry replaces the Service's TrafficPolicy retry): ${retried}; add one of those to codes, or remove this rule's retry to use the TrafficPolicy's`,
      ),
    ];
  }
  return [
    ...(unusable.length === 0
      ? []
      : [
          issue(
            ref,
            `${field}.codes`,
            `${withoutGrpcStatus(unusable)}, so proxyless gRPC clients do not retry on ${unusable.length === 1 ? "it" : "them"}: ${retried}; to retry other gRPC statuses, remove this rule's retry and give the Service a TrafficPolicy retry with retryOn`,
          ),
        ]),
    ...attemptsIssue(ref, `${field}.attempts`, retry.attempts ?? 1),
    ...backoffIssue(ref, `${field}.backoff`, retry.backoff),
  ];
}

function withoutGrpcStatus(codes: readonly number[]): string {
  return codes.length === 1
    ? `code ${codes[0]} has no retryable gRPC status`
    : `codes ${codes.join(", ")} have no retryable gRPC status`;
}

function attemptsIssue(ref: string, field: string, attempts: number): MeshIssue[] {
  return attempts < grpcMaxAttempts
    ? []
    : [
        issue(
          ref,
          field,
          `proxyless gRPC clients make at most ${grpcMaxAttempts} attempts per call (gRFC A6): they retry ${grpcMaxAttempts - 1} times, not ${attempts}`,
        ),
      ];
}

/**
 * grpc-js-xds 1.14.1 turns a Duration into text as `${seconds + nanos / 1e9}s` with `seconds` a
 * string, so every interval of 1s or more is read wrong: 1.5s as 10.5s, 2s as 20s.
 */
function backoffIssue(ref: string, field: string, interval: string | undefined): MeshIssue[] {
  if (interval === undefined) return [];
  const ms = parseDurationMs(interval);
  if (ms < 1000) return [];
  const misread = `${Math.floor(ms / 1000)}${(ms % 1000) / 1000}s`;
  return [
    issue(
      ref,
      field,
      `grpc-js-xds 1.14.1 clients read a back-off of ${interval} as ${misread} (a bug for every interval of 1s or more), so they wait far longer between retries; use an interval under 1s`,
    ),
  ];
}

export function proxylessFilterIssue(ref: string, field: string, filter: RouteFilter): MeshIssue | undefined {
  switch (filter.type) {
    case "RequestHeaderModifier":
    case "ResponseHeaderModifier":
      return issue(
        ref,
        field,
        `${filter.type} is ignored by proxyless gRPC clients: they do not modify headers`,
      );
    case "RequestMirror":
      return issue(
        ref,
        field,
        "RequestMirror is ignored by proxyless gRPC clients: they do not mirror calls",
      );
    case "URLRewrite":
      return issue(ref, field, "URLRewrite is ignored by proxyless gRPC clients: they do not rewrite calls");
    case "RequestRedirect":
      return issue(
        ref,
        field,
        "calls matching this rule fail with UNAVAILABLE for proxyless gRPC clients, because gRPC clients cannot follow redirects; route gRPC calls with a more specific rule that has backendRefs",
      );
    case "Fault":
      // gRFC A33: proxyless clients inject faults themselves.
      return undefined;
  }
}

export function proxylessPolicyIssues(ref: string, policy: TrafficPolicy): MeshIssue[] {
  const { loadBalancer, circuitBreaker, outlierDetection, retry } = policy.spec;
  const issues: MeshIssue[] = [];
  if (loadBalancer?.type === "LeastRequest") {
    issues.push(
      issue(
        ref,
        "spec.loadBalancer.type",
        "proxyless gRPC clients support RoundRobin and RingHash only: they are given RoundRobin",
      ),
    );
  }
  loadBalancer?.hashPolicies?.forEach((hash, i) => {
    if (hash.sourceIP === undefined) return;
    issues.push(
      issue(
        ref,
        `spec.loadBalancer.hashPolicies[${i}].sourceIP`,
        "proxyless gRPC clients cannot hash on the source IP (gRFC A42): they skip this hash policy; hash on a header or the channel",
      ),
    );
  });
  for (const key of ["maxConnections", "maxPendingRequests", "maxRetries"] as const) {
    if (circuitBreaker?.[key] === undefined) continue;
    issues.push(
      issue(
        ref,
        `spec.circuitBreaker.${key}`,
        "ignored by proxyless gRPC clients: their circuit breaker honours maxRequests only",
      ),
    );
  }
  if (outlierDetection?.consecutiveErrors !== undefined) {
    issues.push(
      issue(
        ref,
        "spec.outlierDetection.consecutiveErrors",
        "ignored by proxyless gRPC clients: they eject hosts by failurePercentage only (gRFC A50)",
      ),
    );
  }
  if (retry) {
    issues.push(
      ...attemptsIssue(ref, "spec.retry.attempts", retry.attempts),
      ...backoffIssue(ref, "spec.retry.backoff.baseInterval", retry.backoff?.baseInterval),
      ...backoffIssue(ref, "spec.retry.backoff.maxInterval", retry.backoff?.maxInterval),
    );
  }
  return issues;
}
