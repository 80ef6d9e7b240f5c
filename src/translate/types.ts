// What translators produce and for whom.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { DataPlaneFlavour } from "../mesh/index.ts";

/** The proxy attributes generation depends on. Proxies with equal profiles get equal resources. */
export interface ProxyProfile {
  /** Namespace from node metadata: decides short-name resolution and consumer routes. */
  readonly namespace: string;
  /** Proxyless gRPC, or an Envoy sidecar (node.user_agent_name "envoy"). */
  readonly flavour: DataPlaneFlavour;
  /** The workload's IPs (node metadata INSTANCE_IPS): which Services a sidecar receives for. */
  readonly instanceIps: readonly string[];
}

export function profileKey(profile: ProxyProfile): string {
  const ips = profile.flavour === "envoy" ? `|ips=${profile.instanceIps.join(",")}` : "";
  return `${profile.flavour}|ns=${profile.namespace}${ips}`;
}

/** One xDS resource as a typed message, with the schema needed to encode it. */
export interface GeneratedResource {
  readonly name: string;
  readonly typeUrl: string;
  readonly schema: DescMessage;
  readonly message: Message;
}

/** Which resources of a type the proxy asked for. */
export interface ResourceRequest {
  /** True when the proxy subscribed to every resource of the type (empty names on LDS/CDS). */
  readonly wildcard: boolean;
  readonly names: readonly string[];
}
