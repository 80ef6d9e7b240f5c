// The servers a simulated request reaches, each deciding on it with the RBAC filters meshplane
// generates for its Service port (translate/authz, the builder both inbound listeners use).
import type { DataPlaneFlavour, MeshIssue } from "../../mesh/index.ts";
import { authorizationFilters } from "../authz/index.ts";
import { parseClusterName, portName } from "../names.ts";
import type { MeshView } from "../view.ts";
import {
  simulateAuthorization,
  type AuthorizationReport,
  type AuthorizationRequest,
} from "./authorization.ts";
import type { SimulationResult } from "./types.ts";

/** Who calls, as the server sees it at the connection. */
export type Caller = Pick<AuthorizationRequest, "peer" | "sourceIp" | "jwtClaims">;

export interface BackendAuthorization {
  /** `namespace/name:port` of the Service whose servers decide. */
  readonly server: string;
  /** The server port the request arrives on (an endpoint's port, else the Service port). */
  readonly port: number;
  readonly report: AuthorizationReport;
  /** What these servers cannot enforce as written (translate/authz issues). */
  readonly issues: readonly MeshIssue[];
}

export function authorizeBackends(
  view: MeshView,
  result: SimulationResult,
  caller: Caller,
  serverFlavour: DataPlaneFlavour,
): BackendAuthorization[] {
  const seen = new Set<string>();
  const decisions: BackendAuthorization[] = [];
  for (const backend of result.backends) {
    if (!backend.ok || seen.has(backend.cluster)) continue;
    seen.add(backend.cluster);
    const ref = parseClusterName(view, backend.cluster);
    if (!ref) continue;
    const name = portName(ref);
    const endpoint = backend.localities.flatMap((l) => l.endpoints).find((e) => e.usable);
    const port = endpoint?.port ?? ref.port;
    const { filters, issues } = authorizationFilters(view.security(name), {
      flavour: serverFlavour,
      trustDomain: view.trustDomain,
    });
    const { request } = result;
    const report = simulateAuthorization(
      filters,
      {
        ...caller,
        destinationPort: port,
        method: request.method,
        path: request.path,
        authority: request.authority,
        headers: request.headers.filter(([header]) => !header.startsWith(":")),
      },
      serverFlavour,
    );
    decisions.push({ server: `${name.namespace}/${name.name}:${name.port}`, port, report, issues });
  }
  return decisions;
}
