// Route status in the Gateway API style, per parentRef: Accepted, ResolvedRefs, PartiallyInvalid
// (from the mesh build's issues) and Programmed (how many connected proxies run the config that
// contains this generation of the route, and what the ones that refused it said). Pure.
import type { MeshIssue } from "../mesh/index.ts";
import { mergeConditions, sameConditions, type Condition, type DesiredCondition } from "./conditions.ts";

export const meshControllerName = "meshplane.dev/mesh-controller";

/** The parts of an HTTPRoute or GRPCRoute status is computed from. */
export interface StatusRoute {
  readonly kind: string;
  readonly metadata: { readonly namespace?: string; readonly name: string; readonly generation?: number };
  readonly spec: { readonly parentRefs: readonly ParentRef[]; readonly rules?: readonly unknown[] };
  readonly status?: unknown;
}

export interface ParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export interface ProxyRejection {
  readonly node: string;
  readonly error: string;
}

/** How far this generation of an object has reached, summed over every replica's proxies. */
export interface ProgrammedSummary {
  /** Proxies that use the object and run a config containing this generation of it. */
  readonly reached: number;
  /** Connected proxies that use the object. */
  readonly total: number;
  readonly rejections: readonly ProxyRejection[];
  /** Replicas whose serving config does not yet contain this generation. */
  readonly replicasBehind: number;
}

export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

export interface RouteStatus {
  readonly parents: readonly RouteParentStatus[];
}

const refReasons = new Set(["BackendNotFound", "InvalidKind", "RefNotPermitted", "UnsupportedProtocol"]);
const parentField = /^spec\.parentRefs\[(\d+)\]/;
const ruleField = /^spec\.rules\[(\d+)\]/;

/**
 * The route's status with meshplane's parent entries recomputed, or undefined when nothing but
 * timestamps would change (so the controller does not write).
 */
export function routeStatus(
  route: StatusRoute,
  issues: readonly MeshIssue[],
  programmed: ProgrammedSummary | undefined,
  now: string,
): RouteStatus | undefined {
  const generation = route.metadata.generation ?? 1;
  const previous = (route.status as Partial<RouteStatus> | undefined)?.parents ?? [];
  const ours = previous.filter((p) => p.controllerName === meshControllerName);
  const others = previous.filter((p) => p.controllerName !== meshControllerName);
  const shared = sharedConditions(route, issues, programmed);
  const parents = route.spec.parentRefs.map((parentRef, index): RouteParentStatus => {
    const before = ours.find((p) => sameParent(p.parentRef, parentRef));
    const desired = parentConditions(index, issues, shared);
    return {
      parentRef,
      controllerName: meshControllerName,
      conditions: mergeConditions(before?.conditions, desired, generation, now),
    };
  });
  const unchanged =
    ours.length === parents.length &&
    parents.every((p, i) => {
      const before = ours[i] as RouteParentStatus;
      return sameParent(before.parentRef, p.parentRef) && sameConditions(before.conditions, p.conditions);
    });
  return unchanged ? undefined : { parents: [...others, ...parents] };
}

interface SharedConditions {
  readonly accepted: DesiredCondition;
  readonly resolvedRefs: DesiredCondition;
  readonly partiallyInvalid: DesiredCondition | undefined;
  readonly programmed: (accepted: boolean) => DesiredCondition;
}

function sharedConditions(
  route: StatusRoute,
  issues: readonly MeshIssue[],
  programmed: ProgrammedSummary | undefined,
): SharedConditions {
  const general = issues.filter((i) => i.flavour === undefined);
  const limits = issues.filter((i) => i.flavour !== undefined);
  const refIssues = general.filter((i) => refReasons.has(i.reason));
  const conflicted = general.find((i) => i.field === "spec.parentRefs");
  const ruleIssues = general.filter((i) => !refReasons.has(i.reason) && ruleField.test(i.field));
  const brokenRules = new Set(ruleIssues.map((i) => ruleField.exec(i.field)?.[1]));
  const ruleCount = route.spec.rules?.length ?? 1;
  const allRulesBroken = ruleIssues.length > 0 && brokenRules.size >= ruleCount;
  const limitNote =
    limits.length > 0
      ? `; not applied for ${limits.map((i) => `${flavourName(i)}: ${i.field}: ${i.message}`).join("; ")}`
      : "";

  const rejecting = conflicted ?? (allRulesBroken ? ruleIssues[0] : undefined);
  const accepted: DesiredCondition = rejecting
    ? { type: "Accepted", status: "False", reason: rejecting.reason, message: rejecting.message }
    : { type: "Accepted", status: "True", reason: "Accepted", message: `Accepted${limitNote}` };
  const resolvedRefs: DesiredCondition =
    refIssues.length > 0
      ? {
          type: "ResolvedRefs",
          status: "False",
          reason: (refIssues[0] as MeshIssue).reason,
          message: refIssues.map((i) => `${i.field}: ${i.message}`).join("; "),
        }
      : { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "all references resolved" };
  const partiallyInvalid: DesiredCondition | undefined =
    ruleIssues.length > 0 && !allRulesBroken
      ? {
          type: "PartiallyInvalid",
          status: "True",
          reason: (ruleIssues[0] as MeshIssue).reason,
          message: `Dropped Rule: ${ruleIssues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
        }
      : undefined;
  return {
    accepted,
    resolvedRefs,
    partiallyInvalid,
    programmed: (isAccepted) => programmedCondition(isAccepted, programmed),
  };
}

function parentConditions(
  index: number,
  issues: readonly MeshIssue[],
  shared: SharedConditions,
): DesiredCondition[] {
  const noParent = issues.find(
    (i) => i.reason === "NoMatchingParent" && parentField.exec(i.field)?.[1] === String(index),
  );
  const accepted: DesiredCondition = noParent
    ? { type: "Accepted", status: "False", reason: "NoMatchingParent", message: noParent.message }
    : shared.accepted;
  const isAccepted = accepted.status === "True";
  return [
    accepted,
    shared.resolvedRefs,
    ...(shared.partiallyInvalid ? [shared.partiallyInvalid] : []),
    shared.programmed(isAccepted),
  ];
}

export function programmedCondition(
  accepted: boolean,
  summary: ProgrammedSummary | undefined,
): DesiredCondition {
  const type = "Programmed";
  if (!accepted)
    return { type, status: "False", reason: "Invalid", message: "not accepted, so not programmed" };
  if (!summary) {
    return { type, status: "Unknown", reason: "Pending", message: "waiting for the replicas to report" };
  }
  const { reached, total, rejections, replicasBehind } = summary;
  const reach = `reached ${reached} of ${total} connected proxies`;
  if (rejections.length > 0) {
    const shown = rejections
      .slice(0, 3)
      .map((r) => `${r.node}: ${r.error}`)
      .join("; ");
    const more = rejections.length > 3 ? ` (and ${rejections.length - 3} more)` : "";
    return {
      type,
      status: "False",
      reason: "Invalid",
      message: `${reach}; rejected by ${rejections.length}: ${shown}${more}`,
    };
  }
  if (replicasBehind > 0) {
    return {
      type,
      status: "False",
      reason: "Pending",
      message: `${reach}; ${replicasBehind} replica(s) catching up`,
    };
  }
  if (reached < total) return { type, status: "False", reason: "Pending", message: reach };
  return { type, status: "True", reason: "Programmed", message: reach };
}

export function flavourName(issue: MeshIssue): string {
  const name = issue.flavour === "grpc" ? "proxyless gRPC" : "Envoy";
  return issue.clients?.length ? `${name} (${issue.clients.join(", ")})` : name;
}

function sameParent(a: ParentRef, b: ParentRef): boolean {
  return (
    (a.group ?? "gateway.networking.k8s.io") === (b.group ?? "gateway.networking.k8s.io") &&
    (a.kind ?? "Gateway") === (b.kind ?? "Gateway") &&
    (a.namespace ?? "") === (b.namespace ?? "") &&
    a.name === b.name &&
    (a.sectionName ?? "") === (b.sectionName ?? "") &&
    (a.port ?? 0) === (b.port ?? 0)
  );
}
