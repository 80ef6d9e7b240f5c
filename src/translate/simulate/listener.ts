// From the dialled target to an HttpConnectionManager. A proxyless client asks for the listener
// named exactly `host:port` and needs its api_listener (gRFC A27). An Envoy sidecar receives the
// connection on the listener bound to the destination address and port (or 0.0.0.0), and picks
// the most specific filter chain by destination port and IP prefix.
import { BlockList, isIP } from "node:net";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import type {
  FilterChain,
  FilterChainMatch,
} from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { typeUrlOf } from "../proto.ts";
import type { SimulationFlavour } from "./types.ts";

const managerTypeUrl = typeUrlOf(HttpConnectionManagerSchema);

export type ListenerChoice =
  | {
      readonly ok: true;
      readonly listener: Listener;
      readonly manager: HttpConnectionManager;
      readonly via: string;
    }
  | { readonly ok: false; readonly message: string };

export function unpackManager(config: Any | undefined): HttpConnectionManager | undefined {
  return config?.typeUrl === managerTypeUrl ? anyUnpack(config, HttpConnectionManagerSchema) : undefined;
}

export function selectListener(
  listeners: readonly Listener[],
  target: string,
  destinationIp: string | undefined,
  flavour: SimulationFlavour,
): ListenerChoice {
  const named = listeners.find((listener) => listener.name === target);
  if (flavour === "grpc" || named?.apiListener) {
    if (!named) {
      return {
        ok: false,
        message: `no listener named ${target}: the client waits 15 s for it, then fails calls with UNAVAILABLE`,
      };
    }
    const manager = unpackManager(named.apiListener?.apiListener);
    if (!manager) {
      return {
        ok: false,
        message: `listener ${target} has no api_listener with an HttpConnectionManager: a gRPC client treats it as missing`,
      };
    }
    return { ok: true, listener: named, manager, via: "api_listener" };
  }
  return sidecarListener(listeners, target, destinationIp);
}

function sidecarListener(
  listeners: readonly Listener[],
  target: string,
  destinationIp: string | undefined,
): ListenerChoice {
  const port = Number(/:(\d+)$/.exec(target)?.[1] ?? 80);
  const host = target.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const ip = destinationIp ?? (isIP(host) ? host : undefined);
  const bound = listeners.filter((l) => socketPort(l) === port);
  const listener =
    bound.find((l) => ip !== undefined && socketHost(l) === ip) ??
    bound.find((l) => socketHost(l) === "0.0.0.0" || socketHost(l) === "::");
  if (!listener) {
    return {
      ok: false,
      message: `no listener for port ${port}: the sidecar passes the connection through without HTTP routing`,
    };
  }
  const chain = selectFilterChain(listener, port, ip);
  if (!chain) {
    return {
      ok: false,
      message: `listener ${listener.name} has no filter chain for ${ip ?? "this destination"}:${port}`,
    };
  }
  const filters = chain.filters;
  const managerFilter = filters.find(
    (f) => f.configType.case === "typedConfig" && f.configType.value.typeUrl === managerTypeUrl,
  );
  const manager =
    managerFilter?.configType.case === "typedConfig"
      ? unpackManager(managerFilter.configType.value)
      : undefined;
  if (!manager) {
    const names = filters.map((f) => f.name).join(", ") || "none";
    return {
      ok: false,
      message: `listener ${listener.name} handles ${ip ?? "the destination"}:${port} without HTTP routing (filters: ${names})`,
    };
  }
  const chainName = chain.name ? ` filter chain ${chain.name}` : "";
  return { ok: true, listener, manager, via: `socket ${socketHost(listener)}:${port}${chainName}` };
}

function socketHost(listener: Listener): string | undefined {
  const address = listener.address?.address;
  return address?.case === "socketAddress" ? address.value.address : undefined;
}

function socketPort(listener: Listener): number | undefined {
  const address = listener.address?.address;
  if (address?.case !== "socketAddress") return undefined;
  const port = address.value.portSpecifier;
  return port.case === "portValue" ? port.value : undefined;
}

/** Envoy's order: destination port, then the longest matching destination prefix. */
function selectFilterChain(
  listener: Listener,
  port: number,
  ip: string | undefined,
): FilterChain | undefined {
  let best: { chain: FilterChain; score: number } | undefined;
  for (const chain of listener.filterChains) {
    const score = chainScore(chain.filterChainMatch, port, ip);
    if (score !== undefined && (!best || score > best.score)) best = { chain, score };
  }
  return best?.chain ?? listener.defaultFilterChain;
}

function chainScore(
  match: FilterChainMatch | undefined,
  port: number,
  ip: string | undefined,
): number | undefined {
  if (!match) return 0;
  if (match.destinationPort !== undefined && match.destinationPort !== port) return undefined;
  // A plaintext simulated request never matches a TLS-only chain.
  if (match.transportProtocol !== "" && match.transportProtocol !== "raw_buffer") return undefined;
  if (match.serverNames.length > 0) return undefined;
  let prefix = 0;
  if (match.prefixRanges.length > 0) {
    if (ip === undefined) return undefined;
    const lengths = match.prefixRanges.filter((range) =>
      cidrContains(range.addressPrefix, range.prefixLen ?? 0, ip),
    );
    if (lengths.length === 0) return undefined;
    prefix = 1 + Math.max(...lengths.map((range) => range.prefixLen ?? 0));
  }
  return (match.destinationPort !== undefined ? 1000 : 0) + prefix;
}

function cidrContains(prefix: string, length: number, ip: string): boolean {
  const family = isIP(prefix);
  if (family === 0 || family !== isIP(ip)) return false;
  const list = new BlockList();
  const type = family === 4 ? "ipv4" : "ipv6";
  list.addSubnet(prefix, length, type);
  return list.check(ip, type);
}
