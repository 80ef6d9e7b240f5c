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
  /** undefined when the server has no listener that handles the request (then nothing decides). */
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
    const filters = serverFilters(
      generate,
      serverFlavour,
      endpoint.address,
      endpoint.port,
      caller.peer !== undefined,
    );
    const { request } = result;
    const report =
      typeof filters === "string"
        ? undefined
        : simulateAuthorization(
            filters,
            {
              ...caller,
              destinationPort: endpoint.port,
              method: request.method,
              path: request.path,
              authority: request.authority,
              headers: request.headers.filter(([header]) => !header.startsWith(":")),
            },
            serverFlavour,
          );
    decisions.push({
      server: `${name.namespace}/${name.name}:${name.port}`,
      endpoint: `${endpoint.address}:${endpoint.port}`,
      report,
      problem: typeof filters === "string" ? filters : undefined,
      issues,
    });
  }
  return decisions;
}

/** The HTTP filters the server at address:port runs on this request, or why there are none. */
function serverFilters(
  generate: GenerateFor,
  flavour: DataPlaneFlavour,
  address: string,
  port: number,
  mtls: boolean,
): readonly HttpFilter[] | string {
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
  const transport = mtls ? "tls" : "";
  const chain =
    flavour === "grpc"
      ? listener.filterChains[0]
      : (listener.filterChains.find(
          (c) =>
            c.filterChainMatch?.destinationPort === port &&
            c.filterChainMatch.transportProtocol === transport,
        ) ??
        listener.filterChains.find(
          (c) => c.filterChainMatch?.destinationPort === port && c.filterChainMatch.transportProtocol === "",
        ));
  const filter = chain?.filters.find((f) => f.configType.case === "typedConfig");
  const manager =
    filter?.configType.case === "typedConfig" ? unpackManager(filter.configType.value) : undefined;
  if (!manager)
    return `${listenerName} has no HTTP connection manager for port ${port}${mtls ? " over mTLS" : ""}`;
  return manager.httpFilters;
}
