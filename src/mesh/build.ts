// Builds the immutable MeshSnapshot from validated resources. Pure: same input, same output.
// Problems never abort the build; each lands in `issues` and only the affected part is dropped or,
// where Gateway API asks for it, made to fail loudly. Issues that concern only proxyless gRPC
// callers come last.
import type { Resource, TrafficPolicy } from "../api/index.ts";
import { buildFaults } from "./faults.ts";
import { attachmentKey, type MeshIssue, type MeshSnapshot, type RouteAttachment } from "./model.ts";
import { attachTrafficPolicies } from "./policies.ts";
import { resolveParents, toMeshRoute } from "./routes.ts";
import { routeKindConflicts } from "./select.ts";
import { resolveSecurity } from "./security.ts";
import { buildServices } from "./services.ts";

export interface BuildOptions {
  /** Cluster domain used in service host names, e.g. cluster.local. */
  readonly domain: string;
  /** SPIFFE trust domain; the CA's (default cluster.local). */
  readonly trustDomain?: string | undefined;
}

export function buildMeshSnapshot(resources: readonly Resource[], options: BuildOptions): MeshSnapshot {
  const issues: MeshIssue[] = [];
  const proxyless: MeshIssue[] = [];
  const policies = resources.filter((r): r is TrafficPolicy => r.kind === "TrafficPolicy");
  const { services, meshSecurity } = resolveSecurity(
    resources,
    attachTrafficPolicies(policies, buildServices(resources, issues), issues, proxyless),
    issues,
    proxyless,
  );
  const scope = { services, faults: buildFaults(resources), issues, proxyless };
  const attachments = new Map<string, RouteAttachment[]>();
  for (const resource of resources) {
    if (resource.kind !== "GRPCRoute" && resource.kind !== "HTTPRoute") continue;
    const route = toMeshRoute(resource, scope);
    for (const attachment of resolveParents(resource, route, services, issues)) {
      const key = attachmentKey(attachment.serviceNamespace, attachment.serviceName, attachment.port);
      attachments.set(key, [...(attachments.get(key) ?? []), attachment]);
    }
  }
  issues.push(...routeKindConflicts({ attachments }), ...proxyless);
  return {
    domain: options.domain,
    trustDomain: options.trustDomain ?? "cluster.local",
    services,
    attachments,
    issues,
    meshSecurity,
  };
}
