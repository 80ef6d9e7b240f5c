// Traffic simulation against the generated xDS, the way Istio's pilot/pkg/simulation does it:
// follow one request through exactly what a data plane holds (listener → route configuration →
// virtual host → first matching route → clusters → endpoints) and say at each step why.
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouteAction_ClusterNotFoundResponseCode } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { describeAction } from "./action.ts";
import { resolveBackend, servedShare } from "./backends.ts";
import { clientName, type ClientIdentity } from "../clients/index.ts";
import { routeConfigurationVerdicts } from "./client-verdicts.ts";
import { listenerProblems, routeConfigurationProblems } from "./grpc-validation.ts";
import { selectListener } from "./listener.ts";
import { observeRequest } from "./request.ts";
import { selectRoute } from "./routes.ts";
import type {
  BackendResult,
  SimulatedRequest,
  SimulationFailure,
  SimulationFlavour,
  SimulationResources,
  SimulationResult,
  SimulationStage,
} from "./types.ts";
import { selectVirtualHost } from "./virtual-host.ts";

const UNAVAILABLE = 14;

/**
 * `client`, for proxyless gRPC: the client release whose verdicts to predict (what it NACKs,
 * ignores or breaks on, clients/features.ts); without it, the rules every gRPC client shares.
 */
export function simulateRequest(
  resources: SimulationResources,
  request: SimulatedRequest,
  flavour: SimulationFlavour,
  client?: ClientIdentity,
): SimulationResult {
  const { observed, notes } = observeRequest(request, flavour);
  const rejected: string[] = [];
  const ignored: string[] = [];
  const grpcClient = flavour === "grpc" ? client : undefined;
  let result: SimulationResult = {
    flavour,
    client: grpcClient && clientName(grpcClient),
    request: observed,
    outcome: "failed",
    failure: undefined,
    listener: undefined,
    routeConfiguration: undefined,
    virtualHost: undefined,
    routes: [],
    route: undefined,
    action: undefined,
    backends: [],
    rejected,
    ignored,
    notes,
  };
  const failed = (stage: SimulationStage, message: string, httpStatus = 503): SimulationResult => {
    const status = flavour === "grpc" ? { grpcStatus: UNAVAILABLE } : { httpStatus };
    return { ...result, outcome: "failed", failure: { stage, message, ...status } };
  };

  const listener = selectListener(resources.listeners, request.target, request.destinationIp, flavour);
  if (!listener.ok) return failed("listener", listener.message);
  const { manager } = listener;
  const specifier = manager.routeSpecifier;
  result = {
    ...result,
    listener: {
      name: listener.listener.name,
      routeConfigName: specifier.case === "rds" ? specifier.value.routeConfigName : undefined,
      httpFilters: manager.httpFilters.map((f) => f.name),
    },
  };
  if (flavour === "grpc") {
    const problems = listenerProblems(manager);
    if (problems.length > 0) {
      rejected.push(...problems.map((p) => `Listener ${listener.listener.name}: ${p}`));
      return failed(
        "listener",
        `the client rejects listener ${listener.listener.name}: ${problems.join("; ")}`,
      );
    }
  }

  let config: RouteConfiguration | undefined;
  if (specifier.case === "rds") {
    const name = specifier.value.routeConfigName;
    config = resources.routes.find((r) => r.name === name);
    if (!config) {
      return failed(
        "route-configuration",
        flavour === "grpc"
          ? `no route configuration ${name}: the client waits 15 s for it, then fails calls with UNAVAILABLE`
          : `route configuration ${name} has not arrived (RDS)`,
      );
    }
  } else if (specifier.case === "routeConfig") {
    config = specifier.value;
  } else {
    return failed("route-configuration", `route specifier ${specifier.case ?? "(unset)"} is not simulated`);
  }
  result = { ...result, routeConfiguration: config.name };
  const verdicts = routeConfigurationVerdicts(config, grpcClient);
  const configProblems =
    flavour === "grpc" ? [...routeConfigurationProblems(config, grpcClient), ...verdicts.rejected] : [];
  ignored.push(...verdicts.ignored.map((i) => `RouteConfiguration ${config.name}: ${i}`));
  rejected.push(...configProblems.map((p) => `RouteConfiguration ${config.name}: ${p}`));

  const vhost = selectVirtualHost(config.virtualHosts, observed.authority, flavour);
  if (!vhost) {
    return failed(
      "virtual-host",
      `no virtual host of ${config.name} has a domain matching ${observed.authority}`,
      404,
    );
  }
  result = {
    ...result,
    virtualHost: { name: vhost.virtualHost.name, domain: vhost.domain, matchType: vhost.matchType },
  };

  const selection = selectRoute(vhost.virtualHost.routes, observed, flavour);
  notes.push(...selection.notes);
  const chosen = selection.chosen === undefined ? undefined : selection.evaluations[selection.chosen];
  result = { ...result, routes: selection.evaluations, route: chosen };
  if (configProblems.length > 0) {
    return failed(
      "route-configuration",
      `the client rejects route configuration ${config.name} (NACK) and keeps its previous version, if any: ${configProblems.join("; ")}`,
    );
  }
  const route = selection.chosen === undefined ? undefined : vhost.virtualHost.routes[selection.chosen];
  if (!route || !chosen) {
    return failed("route", `no route of virtual host ${vhost.virtualHost.name} matches`, 404);
  }

  const { action, backends: planned } = describeAction(
    {
      route,
      virtualHost: vhost.virtualHost,
      config,
      manager,
      request: observed,
      flavour,
      knownClusters: new Set(resources.clusters.map((c) => c.name)),
    },
    notes,
  );
  result = { ...result, action };
  switch (action.type) {
    case "redirect":
      return { ...result, outcome: "redirected" };
    case "direct-response": {
      const status = action.directResponse?.status ?? 0;
      if (status >= 400) return failed("route", `the route answers ${status} itself`, status);
      return { ...result, outcome: "direct-response" };
    }
    case "non-forwarding":
      return failed(
        "route",
        "non_forwarding_action is for xDS-enabled servers; a client cannot route with it",
      );
    case "unsupported":
      return failed("route", `route action ${route.action.case ?? "(unset)"} is not simulated`);
    case "forward":
      break;
  }

  const backends = planned.map((backend) =>
    resolveBackend(backend, {
      resources,
      flavour,
      manager,
      request: observed,
      timeoutMs: action.timeout?.ms,
      client: grpcClient,
      rejected,
      ignored,
      notes,
    }),
  );
  result = { ...result, backends };
  const served = servedShare(backends);
  if (served <= 0)
    return { ...result, outcome: "failed", failure: backendFailure(backends, flavour, route.action) };
  return { ...result, outcome: served < 1 - 1e-9 ? "partial" : "routed" };
}

function backendFailure(
  backends: readonly BackendResult[],
  flavour: SimulationFlavour,
  action: { case: string | undefined; value?: unknown },
): SimulationFailure {
  const reasons = [
    ...new Set(backends.map((b) => `${b.cluster || "(no cluster)"}: ${b.reason ?? "no traffic"}`)),
  ];
  const message =
    backends.length === 0
      ? "the route names no cluster"
      : `no share of the traffic is served: ${reasons.join("; ")}`;
  const abort = backends.find((b) => !b.ok && b.fault?.abort && b.fault.abort.percent >= 100)?.fault?.abort;
  if (flavour === "grpc") return { stage: "backend", message, grpcStatus: abort?.grpcStatus ?? UNAVAILABLE };
  if (abort?.grpcStatus !== undefined) return { stage: "backend", message, grpcStatus: abort.grpcStatus };
  if (abort?.httpStatus !== undefined) return { stage: "backend", message, httpStatus: abort.httpStatus };
  const unknown = backends.every((b) => b.reason?.startsWith("unknown cluster"));
  const code =
    action.case === "route" && unknown
      ? clusterNotFoundStatus(
          (action.value as { clusterNotFoundResponseCode: number }).clusterNotFoundResponseCode,
        )
      : 503;
  return { stage: "backend", message, httpStatus: code };
}

function clusterNotFoundStatus(code: number): number {
  return code === RouteAction_ClusterNotFoundResponseCode.NOT_FOUND
    ? 404
    : code === RouteAction_ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR
      ? 500
      : 503;
}
