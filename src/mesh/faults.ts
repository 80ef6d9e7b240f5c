// FaultInjection objects as route filters, and the fault that stands in for a filter that cannot be
// honoured: Gateway API says such a rule's requests must fail rather than the filter be skipped
// (HTTPRouteFilter ExtensionRef; spec-notes 3.2 for the status codes).
import { objectRef, parseDurationMs, type FaultInjection, type Resource } from "../api/index.ts";
import type { MeshFault, RouteKind } from "./model.ts";

/** FaultInjection objects keyed by `namespace/name`. */
export function buildFaults(resources: readonly Resource[]): Map<string, MeshFault> {
  const faults = new Map<string, MeshFault>();
  for (const resource of resources) {
    if (resource.kind !== "FaultInjection") continue;
    faults.set(
      `${resource.metadata.namespace ?? "default"}/${resource.metadata.name}`,
      toMeshFault(resource),
    );
  }
  return faults;
}

function toMeshFault(fault: FaultInjection): MeshFault {
  const { delay, abort } = fault.spec;
  return {
    source: objectRef("FaultInjection", fault.metadata),
    delay: delay && { fixedDelayMs: parseDurationMs(delay.fixedDelay), percent: delay.percentage },
    abort: abort && { grpcStatus: abort.grpcStatus, httpStatus: abort.httpStatus, percent: abort.percentage },
  };
}

/** gRPC UNAVAILABLE: what a failed backend or filter means to gRPC callers (Gateway API GRPCRoute). */
export const unavailable = 14;

/** Every request of a rule fails: HTTP 500 for HTTPRoute, UNAVAILABLE for GRPCRoute. */
export function failingFault(source: string, kind: RouteKind): MeshFault {
  return {
    source,
    delay: undefined,
    abort:
      kind === "GRPCRoute"
        ? { grpcStatus: unavailable, httpStatus: undefined, percent: 100 }
        : { grpcStatus: undefined, httpStatus: 500, percent: 100 },
  };
}

export function failureConsequence(kind: RouteKind): string {
  return kind === "GRPCRoute"
    ? "until this is fixed, calls matching this rule fail with gRPC status UNAVAILABLE"
    : "until this is fixed, requests matching this rule fail with HTTP 500";
}
