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

/** Mesh routes may name backends in any namespace without a ReferenceGrant (GEP-1294). */
export function resolveBackend(
  ref: BackendReference,
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
  if (!service) return invalid("BackendNotFound", `Service ${namespace}/${ref.name} does not exist`);
  if (ref.port === undefined) {
    return invalid("UnsupportedValue", "port is required when the backend is a Service");
  }
  if (!service.ports.some((p) => p.port === ref.port)) {
    return invalid("BackendNotFound", `Service ${namespace}/${ref.name} has no port ${ref.port}`);
  }
  return { backend: { namespace, name: ref.name, port, weight, invalid: undefined }, reason: undefined };
}
