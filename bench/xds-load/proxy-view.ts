// What one simulated proxy holds and wants, type by type, following grpc-js-xds's chain: the
// listeners it dials, the route configurations those listeners name, the clusters the routes
// reference, and the endpoints of those clusters. Like grpc-js-xds, it keeps what it holds when
// its stream breaks and resubscribes to the same names on the next stream.
import type { ClientOptions } from "@grpc/grpc-js";
import { TypeUrl } from "../../src/xds/resource-types.ts";
import type { WatchSpec } from "./changes.ts";
import type { Decoded } from "./decode.ts";

export const chain = [
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
] as const;

export type ChainType = (typeof chain)[number];

export interface Held {
  readonly refs: readonly string[];
  /** Delta: the resource version; SotW: "". */
  readonly version: string;
}

export class ProxyView {
  readonly targets: readonly string[];
  readonly held = new Map<string, Map<string, Held>>(chain.map((t) => [t, new Map()]));

  constructor(targets: readonly string[]) {
    this.targets = [...targets].sort();
  }

  of(typeUrl: string): Map<string, Held> {
    const map = this.held.get(typeUrl);
    if (!map) throw new Error(`unknown type ${typeUrl}`);
    return map;
  }

  /** Wanted names of every type, computed once down the chain. */
  allWanted(): Map<ChainType, string[]> {
    const result = new Map<ChainType, string[]>();
    let previous: string[] = [...this.targets];
    for (const [i, typeUrl] of chain.entries()) {
      if (i > 0) {
        const parents = this.of(chain[i - 1] as string);
        const names = new Set<string>();
        for (const parent of previous) for (const ref of parents.get(parent)?.refs ?? []) names.add(ref);
        previous = [...names].sort();
      }
      result.set(typeUrl, previous);
    }
    return result;
  }

  /** Holds every wanted resource of every type. */
  complete(wanted = this.allWanted()): boolean {
    for (const [typeUrl, names] of wanted) {
      const held = this.of(typeUrl);
      if (names.length === 0 && typeUrl !== TypeUrl.Listener) return false;
      if (!names.every((n) => held.has(n))) return false;
    }
    return true;
  }
}

/** How a proxy reports to the worker that runs it. */
export interface ProxyHooks {
  /** The proxy holds everything it wants (after a connect or reconnect). */
  onSynced(proxy: SimProxy, at: number): void;
  /** The proxy decoded and ACKed a resource matching watch `id`. */
  onSeen(id: number, proxy: SimProxy, at: number): void;
  onError(proxy: SimProxy, message: string): void;
  /** Active watches on (type, name). */
  watches(typeUrl: string, name: string): readonly WatchSpec[];
  now(): number;
}

export interface SimProxy {
  readonly index: number;
  readonly view: ProxyView;
  /** When the current connection attempt started, and when it reached sync (0 = not yet). */
  readonly connectStartedAt: number;
  readonly syncedAt: number;
  readonly bytes: number;
  readonly responses: number;
  /** Delta: resources the server resent although the proxy announced that version on resume. */
  readonly resent: number;
  /** Watches this proxy has already reported, so each is reported once. */
  readonly seen: Set<number>;
  connect(): void;
  disconnect(): void;
}

export const clientOptions: ClientOptions = {
  // Each simulated proxy is its own process in real life: its own channel, subchannel and TCP
  // connection, never shared with the other proxies of this worker.
  "grpc.use_local_subchannel_pool": 1,
  "grpc.max_receive_message_length": 256 * 1024 * 1024,
  "grpc.enable_channelz": 0,
};

export const adsPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

/** Node fields as @grpc/grpc-js-xds 1.14 sends them (xds-client.ts, first request of a stream). */
export function nodeFields(nodeId: string, namespace: string) {
  return {
    id: nodeId,
    locality: {},
    metadata: { NAMESPACE: namespace },
    userAgentName: "gRPC Node Pure JS",
    userAgentVersionType: { case: "userAgentVersion" as const, value: "1.14.1" },
    clientFeatures: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
  };
}

/** Collects watch matches while a response is processed; stamped once the ACK is written. */
export function matchWatches(
  hooks: ProxyHooks,
  proxy: SimProxy,
  typeUrl: string,
  decoded: Decoded,
  into: number[],
): void {
  for (const watch of hooks.watches(typeUrl, decoded.name)) {
    if (!proxy.seen.has(watch.id) && decoded.matches(watch.check)) into.push(watch.id);
  }
}
