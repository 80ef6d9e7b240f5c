// What changed between two configurations, in the terms generators need to decide which
// resources to recompute: which Services changed, whose endpoints changed, which Services had
// routes attached or detached. Policies count as changes of what they apply to: a TrafficPolicy
// as a change of the Services it targets, a FaultInjection as a change of the routes that use it.
// Pure: two resource lists in, one ChangeSet out.
import {
  meshplaneGroup,
  serviceNameLabel,
  type GRPCRoute,
  type HTTPRoute,
  type Resource,
} from "../api/index.ts";
import { serviceKey } from "./model.ts";

export interface ChangeSet {
  /** Kinds with at least one object added, removed or modified. */
  readonly kinds: ReadonlySet<string>;
  /**
   * Services (`namespace/name`) whose Service object was added, removed or modified, or that a
   * changed TrafficPolicy targets (before or after the change).
   */
  readonly services: ReadonlySet<string>;
  /** Services whose EndpointSlices were added, removed or modified. */
  readonly endpoints: ReadonlySet<string>;
  /**
   * Parent Services of routes that were added, removed or modified (old and new parents), and of
   * routes that reference a changed FaultInjection.
   */
  readonly routeParents: ReadonlySet<string>;
}

export function diffResources(previous: readonly Resource[], next: readonly Resource[]): ChangeSet {
  const before = indexByIdentity(previous);
  const after = indexByIdentity(next);
  const services = new Set<string>();
  const endpoints = new Set<string>();
  const routeParents = new Set<string>();
  const kinds = new Set<string>();
  const faults = new Set<string>();
  const record = (resource: Resource) => {
    kinds.add(resource.kind);
    const namespace = resource.metadata.namespace ?? "default";
    switch (resource.kind) {
      case "Service":
        services.add(serviceKey(namespace, resource.metadata.name));
        break;
      case "EndpointSlice":
        endpoints.add(serviceKey(namespace, resource.metadata.labels?.[serviceNameLabel] ?? ""));
        break;
      case "GRPCRoute":
      case "HTTPRoute":
        addParents(resource, routeParents);
        break;
      case "TrafficPolicy":
        // Policies target Services of their own namespace.
        for (const target of resource.spec.targetRefs) services.add(serviceKey(namespace, target.name));
        break;
      case "FaultInjection":
        faults.add(serviceKey(namespace, resource.metadata.name));
        break;
    }
  };
  for (const [identity, entry] of after) {
    const old = before.get(identity);
    if (old?.text === entry.text) continue;
    record(entry.resource);
    if (old) record(old.resource);
  }
  for (const [identity, entry] of before) if (!after.has(identity)) record(entry.resource);
  if (faults.size > 0) {
    for (const resource of [...previous, ...next]) {
      if ((resource.kind === "GRPCRoute" || resource.kind === "HTTPRoute") && usesFault(resource, faults)) {
        addParents(resource, routeParents);
      }
    }
  }
  return { kinds, services, endpoints, routeParents };
}

function addParents(route: GRPCRoute | HTTPRoute, parents: Set<string>): void {
  const namespace = route.metadata.namespace ?? "default";
  for (const parent of route.spec.parentRefs)
    parents.add(serviceKey(parent.namespace ?? namespace, parent.name));
}

/** Whether a rule of `route` names one of `faults` (`namespace/name`) in an ExtensionRef filter. */
function usesFault(route: GRPCRoute | HTTPRoute, faults: ReadonlySet<string>): boolean {
  const namespace = route.metadata.namespace ?? "default";
  return (route.spec.rules ?? []).some((rule) =>
    (rule.filters ?? []).some(
      (filter) =>
        filter.type === "ExtensionRef" &&
        filter.extensionRef?.group === meshplaneGroup &&
        filter.extensionRef.kind === "FaultInjection" &&
        faults.has(serviceKey(namespace, filter.extensionRef.name)),
    ),
  );
}

function indexByIdentity(resources: readonly Resource[]): Map<string, { resource: Resource; text: string }> {
  return new Map(
    resources.map((resource) => [
      `${resource.kind}/${resource.metadata.namespace ?? "default"}/${resource.metadata.name}`,
      // Status and bookkeeping metadata do not change routing.
      {
        resource,
        text: JSON.stringify({
          ...resource,
          status: undefined,
          metadata: { ...resource.metadata, resourceVersion: undefined, managedFields: undefined },
        }),
      },
    ]),
  );
}
