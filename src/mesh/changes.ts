// What changed between two configurations, in the terms generators need to decide which
// resources to recompute: which Services changed, whose endpoints changed, which Services had
// routes attached or detached. Pure: two resource lists in, one ChangeSet out.
import { serviceNameLabel, type Resource } from "../api/index.ts";
import { serviceKey } from "./model.ts";

export interface ChangeSet {
  /** Kinds with at least one object added, removed or modified. */
  readonly kinds: ReadonlySet<string>;
  /** Services (`namespace/name`) whose Service object was added, removed or modified. */
  readonly services: ReadonlySet<string>;
  /** Services whose EndpointSlices were added, removed or modified. */
  readonly endpoints: ReadonlySet<string>;
  /** Parent Services of routes that were added, removed or modified (old and new parents). */
  readonly routeParents: ReadonlySet<string>;
}

export function diffResources(previous: readonly Resource[], next: readonly Resource[]): ChangeSet {
  const before = indexByIdentity(previous);
  const after = indexByIdentity(next);
  const services = new Set<string>();
  const endpoints = new Set<string>();
  const routeParents = new Set<string>();
  const kinds = new Set<string>();
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
        for (const parent of resource.spec.parentRefs)
          routeParents.add(serviceKey(parent.namespace ?? namespace, parent.name));
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
  return { kinds, services, endpoints, routeParents };
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
