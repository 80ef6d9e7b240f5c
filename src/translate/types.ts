// What translators produce and for whom.
import type { DescMessage, Message } from "@bufbuild/protobuf";

/** The proxy attributes generation depends on. Proxies with equal profiles get equal resources. */
export interface ProxyProfile {
  /** Namespace from node metadata: decides short-name resolution and consumer routes. */
  readonly namespace: string;
}

export function profileKey(profile: ProxyProfile): string {
  return `ns=${profile.namespace}`;
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
