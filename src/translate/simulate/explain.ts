// A simulation result for people: one section per step, the failed condition of every route
// passed over, and what happens to each share of the traffic.
import type { AuthorizationReport } from "./authorization.ts";
import type { BackendAuthorization } from "./authorize-backends.ts";
import { servedShare } from "./backends.ts";
import { formatPercent } from "./routes.ts";
import type { ActionReport, BackendResult, FaultReport, RouteEvaluation, SimulationResult } from "./types.ts";

export function routeLabel(route: Pick<RouteEvaluation, "index" | "name" | "origin">): string {
  if (route.origin) {
    const { kind, namespace, name, rule } = route.origin;
    return `${kind} ${namespace}/${name} rule ${rule}`;
  }
  if (route.name === "default") return "default route (no route attached to the Service)";
  return route.name ? `route ${route.name}` : `route #${route.index}`;
}

function ms(value: number): string {
  return value >= 1000 ? `${value / 1000} s` : `${value} ms`;
}

export function explainText(result: SimulationResult): string {
  const lines: string[] = [];
  const { request } = result;
  const section = (title: string, first: string, ...rest: string[]) => {
    lines.push(`${title.padEnd(10)}${first}`, ...rest.map((line) => `${" ".repeat(10)}${line}`));
  };
  const shown = request.headers.filter(([name]) => !name.startsWith(":"));
  section(
    "Request",
    `${request.method} ${request.path}${request.query === undefined ? "" : `?${request.query}`} to ${request.target} (${result.flavour === "grpc" ? `proxyless gRPC${result.client ? `, ${result.client}` : ""}` : "Envoy sidecar"})`,
    ...(shown.length > 0
      ? [
          `${result.flavour === "grpc" ? "metadata" : "headers"}: ${shown.map(([n, v]) => `${n}=${v}`).join(", ")}`,
        ]
      : []),
  );
  if (result.listener) {
    const { name, routeConfigName, httpFilters } = result.listener;
    section(
      "Listener",
      `${name}${routeConfigName ? ` -> route configuration ${routeConfigName}` : " (inline routes)"}`,
      `HTTP filters: ${httpFilters.join(", ") || "none"}`,
    );
  }
  if (result.virtualHost) {
    const { name, domain, matchType } = result.virtualHost;
    section("VHost", `${name} (domain ${domain}, ${matchType} match)`);
  }
  if (result.routes.length > 0) {
    lines.push("Routes");
    for (const route of result.routes) lines.push(...routeLines(route));
  }
  if (result.action) lines.push(...actionLines(result.action));
  if (result.backends.length > 0) {
    lines.push("Backends");
    for (const backend of result.backends) lines.push(...backendLines(backend));
  }
  lines.push(`Result    ${outcomeText(result)}`);
  if (result.rejected.length > 0) {
    lines.push("Rejected (NACK)");
    lines.push(...result.rejected.map((r) => `  - ${r}`));
  }
  if (result.ignored.length > 0) {
    lines.push(`Ignored by ${result.client ?? "the client"}`);
    lines.push(...result.ignored.map((i) => `  - ${i}`));
  }
  if (result.notes.length > 0) {
    lines.push("Notes");
    lines.push(...[...new Set(result.notes)].map((n) => `  - ${n}`));
  }
  return `${lines.join("\n")}\n`;
}

function routeLines(route: RouteEvaluation): string[] {
  const head = `  #${route.index} ${routeLabel(route)}`;
  switch (route.result) {
    case "matched":
      return [`${head}: MATCHED`, ...route.held.map((h) => `       held: ${h}`)];
    case "fraction":
      return [
        `${head}: takes ${formatPercent(route.fraction ?? 0)} of matching requests`,
        ...route.held.map((h) => `       held: ${h}`),
      ];
    case "skipped":
      return [`${head}: skipped: ${route.reason}`];
    case "no-match":
      return [`${head}: no match: ${route.reason}`];
  }
}

function actionLines(action: ActionReport): string[] {
  const lines: string[] = [];
  const item = (text: string) => lines.push(`  ${text}`);
  lines.push(`Action    ${action.type}`);
  if (action.redirect) item(`redirect ${action.redirect.status} to ${action.redirect.location}`);
  if (action.directResponse) {
    const body = action.directResponse.body;
    item(`answers ${action.directResponse.status}${body ? ` with body ${JSON.stringify(body)}` : ""}`);
  }
  if (action.timeout)
    item(
      `timeout: ${action.timeout.ms === undefined ? "none" : ms(action.timeout.ms)} (${action.timeout.source})`,
    );
  if (action.maxStreamDurationMs !== undefined)
    item(`max stream duration: ${ms(action.maxStreamDurationMs)}`);
  const retry = action.retry;
  if (retry) {
    const perTry = retry.perTryTimeoutMs === undefined ? "" : `, per try ${ms(retry.perTryTimeoutMs)}`;
    const codes = retry.retriableStatusCodes.length > 0 ? ` [${retry.retriableStatusCodes.join(", ")}]` : "";
    item(
      `retry (${retry.source}): up to ${retry.numRetries} on ${retry.retryOn.join(", ")}${codes}, backoff ${ms(retry.backoffBaseMs)}-${ms(retry.backoffMaxMs)}${perTry}`,
    );
  }
  for (const change of action.requestHeaders) {
    item(
      `request header ${change.action} ${change.name}${change.value === undefined ? "" : `: ${change.value}`} (${change.level})`,
    );
  }
  for (const change of action.responseHeaders) {
    item(
      `response header ${change.action} ${change.name}${change.value === undefined ? "" : `: ${change.value}`} (${change.level})`,
    );
  }
  if (action.rewrittenPath !== undefined) item(`path rewritten to ${action.rewrittenPath}`);
  if (action.rewrittenHost !== undefined) item(`host rewritten to ${action.rewrittenHost}`);
  for (const mirror of action.mirrors) {
    item(
      `mirror ${formatPercent(mirror.percent / 100)} to ${mirror.cluster}${mirror.known ? "" : " (unknown cluster: mirroring fails)"}`,
    );
  }
  if (action.hashPolicies.length > 0) item(`hash on: ${action.hashPolicies.join(", ")}`);
  return lines;
}

function faultText(fault: FaultReport): string {
  const parts: string[] = [];
  if (fault.delay) {
    const delay = fault.delay.ms === undefined ? "?" : ms(fault.delay.ms);
    parts.push(
      `delay ${delay} for ${formatPercent(fault.delay.percent / 100)}${fault.delay.fromHeader ? " (from headers)" : ""}`,
    );
  }
  if (fault.abort) {
    const status =
      fault.abort.grpcStatus !== undefined
        ? `gRPC status ${fault.abort.grpcStatus}`
        : `HTTP ${fault.abort.httpStatus}`;
    parts.push(
      `abort with ${status} for ${formatPercent(fault.abort.percent / 100)}${fault.abort.fromHeader ? " (from headers)" : ""}`,
    );
  }
  return `fault (${fault.filter}, ${fault.level}): ${parts.join(", ")}`;
}

function backendLines(backend: BackendResult): string[] {
  const share = formatPercent(backend.share).padStart(7);
  const state = backend.ok
    ? `ok, ${backend.usableEndpoints} usable endpoint${backend.usableEndpoints === 1 ? "" : "s"}`
    : `FAILS: ${backend.reason}`;
  const lines = [`  ${share}  ${backend.cluster || "(no cluster)"} (weight ${backend.weight}): ${state}`];
  const detail = (text: string) => lines.push(`           ${text}`);
  const d = backend.details;
  if (d) {
    const connect = d.connectTimeoutMs === undefined ? "" : `, connect timeout ${ms(d.connectTimeoutMs)}`;
    detail(`${d.type}, ${d.lbPolicy}${connect}`);
    if (d.circuitBreaker) detail(`circuit breaker: ${entries(d.circuitBreaker)}`);
    if (d.outlierDetection) detail(`outlier detection: ${entries(d.outlierDetection)}`);
  }
  if (backend.fault) detail(faultText(backend.fault));
  for (const l of backend.localities) {
    const endpoints = l.endpoints
      .map((e) => `${e.address}:${e.port} ${e.health}${e.usable ? "" : " (unused)"}`)
      .join(", ");
    detail(
      `${l.locality} priority ${l.priority} weight ${l.weight}${l.skipped ? ` SKIPPED (${l.skipped})` : ""}: ${endpoints || "no endpoints"}`,
    );
  }
  return lines;
}

function entries(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

function outcomeText(result: SimulationResult): string {
  const status =
    result.failure?.grpcStatus !== undefined
      ? ` (gRPC status ${result.failure.grpcStatus})`
      : result.failure?.httpStatus !== undefined
        ? ` (HTTP ${result.failure.httpStatus})`
        : "";
  switch (result.outcome) {
    case "failed":
      return `FAILS at ${result.failure?.stage ?? "?"}${status}: ${result.failure?.message ?? ""}`;
    case "routed":
      return "ROUTED: every matching request reaches a backend";
    case "partial":
      return `PARTIAL: ${formatPercent(servedShare(result.backends))} of matching requests are served, the rest fail`;
    case "redirected":
      return `REDIRECTED: ${result.action?.redirect?.status} ${result.action?.redirect?.location}`;
    case "direct-response":
      return `ANSWERED by the data plane with ${result.action?.directResponse?.status}`;
  }
}

/** The server's authorization of the request: each RBAC filter, each policy, the decision. */
export function authorizationText(report: AuthorizationReport, server?: string): string {
  const none = report.filters.length === 0 ? "no authorization policy applies" : "";
  const lines = [`Authz     ${[server, none].filter(Boolean).join(": ")}`.trimEnd()];
  for (const filter of report.filters) {
    const decided = filter.decidedBy ? `: ${filter.decidedBy}` : filter.note ? `: ${filter.note}` : "";
    lines.push(`  ${filter.filter} (${filter.action}): ${filter.result.toUpperCase()}${decided}`);
    for (const policy of filter.policies) {
      lines.push(`    ${policy.name}: ${policy.matched ? "MATCHED" : "no match"}: ${policy.reason}`);
    }
  }
  const status =
    report.httpStatus !== undefined
      ? ` (HTTP ${report.httpStatus}, gRPC status ${report.grpcStatus})`
      : report.grpcStatus !== undefined
        ? ` (gRPC status ${report.grpcStatus})`
        : "";
  const last = report.filters.at(-1);
  const why =
    report.decision === "denied" && last ? ` by ${last.filter}: ${last.decidedBy ?? last.note ?? ""}` : "";
  lines.push(`  ${report.decision === "allowed" ? "ALLOWED" : `DENIED${status}${why}`}`);
  for (const r of report.rejected) lines.push(`  rejected (NACK): ${r}`);
  for (const n of report.notes) lines.push(`  note: ${n}`);
  return `${lines.join("\n")}\n`;
}

/** One called server's decision, headed by the Service port and the endpoint that decides. */
export function backendAuthorizationText(decision: BackendAuthorization): string {
  const server = `${decision.server} at ${decision.endpoint}`;
  return decision.report
    ? authorizationText(decision.report, server)
    : `Authz     ${server}: FAILS: ${decision.problem ?? "no decision"}\n`;
}
