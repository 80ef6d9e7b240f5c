// What connected client releases will do with the mesh, before anything is pushed: for each
// configuration object, the features its resources carry for proxyless gRPC (as the generators emit
// them: grpc/route.ts, grpc/cluster.ts) against each client group's release (features.ts). The
// result is issues of flavour "grpc" naming the client group, which status turns into the
// `Accepted` message. Header matches are absent on purpose: every client is sent an encoding it
// reads (encoding.ts). Pure.
import type { MeshIssue, MeshSnapshot, RouteRule, ServicePolicy } from "../../mesh/index.ts";
import { featureVerdict, type ClientFeature } from "./features.ts";
import { clientGroupLabel, type ClientIdentity } from "./identity.ts";

/** One place in one object that makes meshplane emit `feature` for proxyless gRPC. */
export interface FeatureUse {
  /** `Kind namespace/name` */
  readonly object: string;
  readonly field: string;
  readonly feature: ClientFeature;
}

/** Every use of a version-dependent feature in `mesh`, each object and field once. */
export function featureUses(mesh: MeshSnapshot): FeatureUse[] {
  const uses = new Map<string, FeatureUse>();
  const add = (use: FeatureUse) => uses.set(`${use.object}\n${use.field}\n${use.feature}`, use);
  for (const attachments of mesh.attachments.values()) {
    for (const { route } of attachments) {
      const object = `${route.kind} ${route.namespace}/${route.name}`;
      for (const rule of route.rules) for (const use of ruleUses(object, rule)) add(use);
    }
  }
  for (const service of mesh.services.values()) {
    const policies = [service.policy, ...service.ports.map((p) => p.policy)];
    for (const policy of policies) for (const use of policyUses(policy)) add(use);
  }
  return [...uses.values()];
}

function ruleUses(object: string, rule: RouteRule): FeatureUse[] {
  const field = `spec.rules[${rule.index}]`;
  const uses: FeatureUse[] = [];
  if (rule.retry && rule.retry.attempts > 0) uses.push({ object, field: `${field}.retry`, feature: "retry" });
  if (rule.requestTimeoutMs !== undefined && rule.requestTimeoutMs > 0) {
    uses.push({ object, field: `${field}.timeouts.request`, feature: "maxStreamDuration" });
  }
  for (const filter of rule.filters) {
    if (filter.type === "Fault")
      uses.push({ object: filter.fault.source, field: "spec", feature: "faultInjection" });
  }
  return uses;
}

function policyUses(policy: ServicePolicy | undefined): FeatureUse[] {
  if (!policy) return [];
  const object = policy.source;
  const uses: FeatureUse[] = [];
  if (policy.loadBalancer === "RingHash")
    uses.push({ object, field: "spec.loadBalancer.type", feature: "ringHash" });
  if (policy.circuitBreaker?.maxRequests !== undefined) {
    uses.push({ object, field: "spec.circuitBreaker.maxRequests", feature: "circuitBreaking" });
  }
  // Only failure-percentage ejection reaches gRPC clients (grpc/cluster.ts).
  if (policy.outlierDetection?.failurePercentage) {
    uses.push({ object, field: "spec.outlierDetection", feature: "outlierDetection" });
  }
  if (policy.retry && policy.retry.attempts > 0) uses.push({ object, field: "spec.retry", feature: "retry" });
  return uses;
}

type Verdict = "ignored" | "rejected" | "broken";
const verdictText: Readonly<Record<Verdict, string>> = {
  ignored: "ignored",
  rejected: "rejected (NACK)",
  broken: "broken",
};

/**
 * Issues for what `clients` (the connected client groups) would not apply: one per object, field
 * and verdict, naming every client group it concerns.
 */
export function clientIssues(uses: readonly FeatureUse[], clients: readonly ClientIdentity[]): MeshIssue[] {
  const issues: MeshIssue[] = [];
  for (const use of uses) {
    const byVerdict = new Map<Verdict, { groups: Set<string>; details: Set<string> }>();
    for (const client of clients) {
      const verdict = featureVerdict(client, use.feature);
      if (verdict.verdict === "accepted") continue;
      const entry = byVerdict.get(verdict.verdict) ?? { groups: new Set(), details: new Set() };
      entry.groups.add(clientGroupLabel(client));
      entry.details.add(verdict.detail);
      byVerdict.set(verdict.verdict, entry);
    }
    for (const [verdict, { groups, details }] of byVerdict) {
      const names = [...groups].sort();
      issues.push({
        object: use.object,
        field: use.field,
        reason: "UnsupportedByClient",
        message: `${verdictText[verdict]} by connected clients ${names.join(", ")}: ${[...details].join("; ")}`,
        flavour: "grpc",
        clients: names,
      });
    }
  }
  return issues;
}
