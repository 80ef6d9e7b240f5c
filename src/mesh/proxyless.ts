// What proxyless gRPC clients cannot do (spec-notes 4.3 and 5). The configuration stays valid and
// is served to Envoy; for gRPC callers it is ignored or skipped, and the user is told with an issue
// of flavour "grpc" rather than finding out from traffic.
import type { HTTPRouteRule, TrafficPolicy } from "../api/index.ts";
import type { MeshIssue, RouteFilter } from "./model.ts";

/** gRFC A6: clients cap a call at 5 attempts, whatever the policy asks for. */
export const grpcMaxAttempts = 5;

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
  if (rule.retry?.attempts !== undefined)
    issues.push(...attemptsIssue(ref, `${field}.retry.attempts`, rule.retry.attempts));
  return issues;
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
        "RequestRedirect cannot be served to proxyless gRPC: the rule is skipped for them",
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
  if (retry) issues.push(...attemptsIssue(ref, "spec.retry.attempts", retry.attempts));
  return issues;
}
