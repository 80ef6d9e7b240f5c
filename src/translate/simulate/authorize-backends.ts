// The servers a simulated request reaches, each deciding on it with the RBAC filters of the
// listener meshplane sends that server: a proxyless server's listener for its address (gRFC
// A36), or the inbound chain of an Envoy sidecar at that address for the port and transport. So
// what is simulated is what is sent, merged security of several Service ports at one address
// included.
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { HttpFilter } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { DataPlaneFlavour, MeshIssue } from "../../mesh/index.ts";
import { authorizationFilters } from "../authz/index.ts";
import { virtualInboundListener } from "../envoy/names.ts";
import { serverListenerPrefix } from "../grpc/server-listener.ts";
import { parseClusterName, portName } from "../names.ts";
import { typeUrlOf } from "../proto.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "../types.ts";
import type { MeshView } from "../view.ts";
import {
  simulateAuthorization,
  type AuthorizationReport,
  type AuthorizationRequest,
} from "./authorization.ts";
import { unpackManager } from "./listener.ts";
import type { SimulationResult } from "./types.ts";

/** Who calls, as the server sees it at the connection. */
export type Caller = Pick<AuthorizationRequest, "peer" | "sourceIp" | "jwtClaims">;

/** The xDS server's answer for another proxy than the caller (here: the called server). */
export type GenerateFor = (
  profile: ProxyProfile,
  typeUrl: string,
  request: ResourceRequest,
) => GeneratedResource[];

export interface BackendAuthorization {
  /** `namespace/name:port` of the Service whose servers decide. */
  readonly server: string;
  /** The server that decides: an endpoint's `address:port`. */
  readonly endpoint: string;
  /** undefined when the request does not get that far: `problem` says why (it fails). */
  readonly report: AuthorizationReport | undefined;
  readonly problem: string | undefined;
  /** What these servers cannot enforce as written (translate/authz issues). */
  readonly issues: readonly MeshIssue[];
}

export function authorizeBackends(
  view: MeshView,
  result: SimulationResult,
  caller: Caller,
  serverFlavour: DataPlaneFlavour,
  generate: GenerateFor,
): BackendAuthorization[] {
  const seen = new Set<string>();
  const decisions: BackendAuthorization[] = [];
  for (const backend of result.backends) {
    if (!backend.ok || seen.has(backend.cluster)) continue;
    seen.add(backend.cluster);
    const ref = parseClusterName(view, backend.cluster);
    const endpoint = backend.localities.flatMap((l) => l.endpoints).find((e) => e.usable);
    if (!ref || !endpoint) continue;
    const name = portName(ref);
    const { issues } = authorizationFilters(view.security(name), {
      flavour: serverFlavour,
      trustDomain: view.trustDomain,
    });
    const side = serverSide(generate, serverFlavour, endpoint.address, endpoint.port);
    const { report, problem } =
      typeof side === "string"
        ? { report: undefined, problem: side }
        : decide(side, caller, result, endpoint.port, serverFlavour);
    decisions.push({
      server: `${name.namespace}/${name.name}:${name.port}`,
      endpoint: `${endpoint.address}:${endpoint.port}`,
      report,
      problem,
      issues,
    });
  }
  return decisions;
}

function decide(
  side: ServerSide,
  caller: Caller,
  result: SimulationResult,
  port: number,
  flavour: DataPlaneFlavour,
): { report: AuthorizationReport | undefined; problem: string | undefined } {
  if (side.mtls && caller.peer === undefined) {
    return {
      report: undefined,
      problem: "the port is STRICT: a caller without a certificate (--from) cannot connect",
    };
  }
  const { request } = result;
  const report = simulateAuthorization(
    side.filters,
    {
      ...caller,
      peer: side.mtls ? caller.peer : undefined,
      destinationPort: port,
      method: request.method,
      path: request.path,
      authority: request.authority,
      headers: request.headers.filter(([header]) => !header.startsWith(":")),
    },
    flavour,
  );
  if (side.mtls || caller.peer === undefined) return { report, problem: undefined };
  const plaintext =
    "the port is not STRICT: callers connect in plaintext, so the server sees no identity (--from)";
  return { report: { ...report, notes: [plaintext, ...report.notes] }, problem: undefined };
}

/** What the server at address:port runs on this request: its HTTP filters and whether the connection is mTLS. */
interface ServerSide {
  readonly filters: readonly HttpFilter[];
  readonly mtls: boolean;
}

/**
 * The server's listener decides the transport: clients originate mTLS exactly to STRICT ports, so
 * a server with a TLS chain only (STRICT) sees the caller's identity and refuses a caller without
 * one; otherwise the call arrives in plaintext and carries no identity.
 */
function serverSide(
  generate: GenerateFor,
  flavour: DataPlaneFlavour,
  address: string,
  port: number,
): ServerSide | string {
  const listenerName =
    flavour === "grpc"
      ? `${serverListenerPrefix}${address.includes(":") ? `[${address}]` : address}:${port}`
      : virtualInboundListener;
  const profile: ProxyProfile = {
    namespace: "default",
    flavour,
    instanceIps: flavour === "envoy" ? [address] : [],
  };
  const listener = generate(profile, typeUrlOf(ListenerSchema), { wildcard: false, names: [listenerName] })[0]
    ?.message as Listener | undefined;
  if (!listener) return `no listener ${listenerName} for the server`;
  const chains =
    flavour === "grpc"
      ? listener.filterChains.slice(0, 1)
      : listener.filterChains.filter((c) => c.filterChainMatch?.destinationPort === port);
  const plaintext = chains.find((c) => !c.transportSocket);
  const chain = plaintext ?? chains[0];
  const filter = chain?.filters.find((f) => f.configType.case === "typedConfig");
  const manager =
    filter?.configType.case === "typedConfig" ? unpackManager(filter.configType.value) : undefined;
  if (!manager) return `${listenerName} has no HTTP connection manager for port ${port}`;
  return { filters: manager.httpFilters, mtls: plaintext === undefined };
}
