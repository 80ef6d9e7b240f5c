// Route backends (backendRefs and mirror targets) resolved against the Services of the mesh.
// Gateway API: an invalid backend keeps its share of traffic, which then fails (spec-notes 3.2).
import { serviceKey, type MeshService, type RouteBackend } from "./model.ts";

export interface BackendReference {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
  readonly weight?: number;
}

export interface ResolvedBackend {
  readonly backend: RouteBackend;
  /** Gateway API ResolvedRefs reason when the backend is invalid (its message is `backend.invalid`). */
  readonly reason: "InvalidKind" | "BackendNotFound" | "UnsupportedValue" | undefined;
}

/**
 * Mesh routes may name backends in any namespace without a ReferenceGrant (GEP-1294). `field` is
 * where the reference is written, so that messages can name what to fix.
 */
export function resolveBackend(
  ref: BackendReference,
  field: string,
  routeNamespace: string,
  services: ReadonlyMap<string, MeshService>,
): ResolvedBackend {
  const namespace = ref.namespace ?? routeNamespace;
  const weight = ref.weight ?? 1;
  const port = ref.port ?? 0;
  const invalid = (reason: NonNullable<ResolvedBackend["reason"]>, message: string): ResolvedBackend => ({
    backend: { namespace, name: ref.name, port, weight, invalid: message },
    reason,
  });
  if ((ref.group ?? "") !== "" || (ref.kind ?? "Service") !== "Service") {
    return invalid(
      "InvalidKind",
      `backend kind ${ref.group ?? ""}/${ref.kind} is not supported; use a Service`,
    );
  }
  const service = services.get(serviceKey(namespace, ref.name));
  if (!service) {
    const names = ref.namespace === undefined ? "name" : "name or namespace";
    return invalid(
      "BackendNotFound",
      `Service ${namespace}/${ref.name} does not exist: create it or fix ${field}.${names}`,
    );
  }
  if (ref.port === undefined) {
    return invalid("UnsupportedValue", `port is required when the backend is a Service: set ${field}.port`);
  }
  if (!service.ports.some((p) => p.port === ref.port)) {
    return invalid(
      "BackendNotFound",
      `Service ${namespace}/${ref.name} has no port ${ref.port}: set ${field}.port to one of its ports (${service.ports.map((p) => p.port).join(", ")})`,
    );
  }
  return { backend: { namespace, name: ref.name, port, weight, invalid: undefined }, reason: undefined };
}
