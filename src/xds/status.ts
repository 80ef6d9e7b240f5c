// Read-only views of per-proxy protocol state, for the admin endpoints, metrics and the CLI.

export interface NackRecord {
  /** The version the proxy rejected (the version it was sent, not the one it kept). */
  readonly rejectedVersion: string;
  readonly nonce: string;
  /** The proxy's `error_detail.message`, as an escaped excerpt (at most `nackTextChars` characters). */
  readonly message: string;
  readonly code: number;
  /** ISO-8601 time the NACK arrived. */
  readonly at: string;
}

export interface TypeSyncStatus {
  readonly typeUrl: string;
  /** Resource names the proxy asked for; empty with `wildcard` true means "everything". */
  readonly subscribed: readonly string[];
  readonly wildcard: boolean;
  readonly sentVersion: string | null;
  readonly sentNonce: string | null;
  /** The version the proxy runs on: its last ACK. */
  readonly ackedVersion: string | null;
  readonly lastNack: NackRecord | null;
  /** Total NACKs of this type on this stream. */
  readonly nackCount: number;
  /** Version of the set last generated for this proxy (null before the first evaluation). */
  readonly latestVersion: string | null;
  /** A response is sent and not yet answered (flow control: one per type). */
  readonly inFlight: boolean;
  /** The configuration changed and this type waits to be evaluated or sent again. */
  readonly pending: boolean;
  /** Generated resources the proxy does not hold at their latest version (rejected ones included). */
  readonly outdated: number;
}

/** A resource one proxy rejected and is kept on its last good version of (NACK isolation). */
export interface ResourceRejection {
  readonly type: "lds" | "rds" | "cds" | "eds" | "sds";
  readonly resource: string;
  /** Content hash of the version the proxy rejected (the resource's version in delta xDS). */
  readonly rejectedHash: string;
  /** Content hash of the version the proxy keeps; null when it never accepted one. */
  readonly keptHash: string | null;
  /** The part of the proxy's `error_detail.message` about this resource, as an escaped excerpt. */
  readonly error: string;
  /** Configuration objects the resource is built from, `Kind namespace/name`. */
  readonly objects: readonly string[];
  /** ISO-8601 time of the first rejection in this series (reset when a version is accepted). */
  readonly since: string;
  /** Consecutive versions of this resource the proxy rejected. */
  readonly count: number;
  /** ISO-8601 time from which a newer version is offered to this proxy (backoff). */
  readonly retryAt: string;
}

/** The xDS client a proxy runs, as its node says (translate/clients/identity.ts). */
export interface ProxyClient {
  /** grpc-js, grpc-core (C-core and every language that wraps it), grpc-go, grpc-java or envoy. */
  readonly implementation: string;
  /** The language wrapping C-core, when its build says. */
  readonly language: string | null;
  readonly version: string | null;
  /** The client group, as `meshplane explain --client` takes it: grpc-python/1.51, grpc-js/1.14. */
  readonly group: string;
  /** The node's `client_features` (the first few). */
  readonly features: readonly string[];
}

export interface ProxyStatus {
  readonly streamId: number;
  readonly protocol: "sotw" | "delta";
  readonly nodeId: string;
  /** Namespace from node metadata (`NAMESPACE`), used for Gateway API consumer routes. */
  readonly namespace: string;
  /** `user_agent_name/user_agent_version` from the node, as an excerpt. */
  readonly userAgent: string;
  /** Which generators serve it: proxyless gRPC, or Envoy (node.user_agent_name "envoy"). */
  readonly flavour: "grpc" | "envoy";
  /** Node metadata INSTANCE_IPS: the Services an Envoy sidecar receives for. */
  readonly instanceIps: readonly string[];
  /** Null when the user agent names no client meshplane knows. */
  readonly client: ProxyClient | null;
  readonly connectedAt: string;
  readonly types: readonly TypeSyncStatus[];
  /** Resources this proxy rejected and is served the last good version of, until they change. */
  readonly rejections: readonly ResourceRejection[];
}

/** One proxy's rejection, as listed across proxies. */
export interface ProxyRejection extends ResourceRejection {
  readonly nodeId: string;
  readonly streamId: number;
}

/** The rejections of resources built from one configuration object: what its status reports. */
export interface ObjectRejection {
  /** `Kind namespace/name` */
  readonly object: string;
  /** Connected proxies (ADS streams) that rejected something built from the object. */
  readonly proxies: number;
  readonly rejections: readonly ProxyRejection[];
}

export interface NackReport {
  readonly objects: readonly ObjectRejection[];
  /** Rejected resources built from no known configuration object. */
  readonly unattributed: readonly ProxyRejection[];
}

/** How far one resource reached: the basis of "ACKed by N of M proxies". */
export interface ResourceReach {
  /** Connected proxies the resource is currently meant for (subscribed, and it exists for them). */
  readonly subscribed: number;
  /** Of those, the proxies that ACKed the version currently meant for them. */
  readonly acked: number;
}

/** A resource this replica serves, and the configuration objects its generator read. */
export interface ServedResource {
  readonly typeUrl: string;
  readonly name: string;
  /** `Kind namespace/name` */
  readonly objects: readonly string[];
}

/** What the xDS server exposes to the admin server: state, never control. */
export interface ProxyStatusSource {
  proxies(): readonly ProxyStatus[];
  /** Resources as the proxy holds them (accepted), as proto JSON, keyed by short type name then name. */
  configDump(streamId: number): Record<string, Record<string, unknown>> | undefined;
  /** Current rejections, by the configuration objects the rejected resources are built from. */
  rejections(): NackReport;
  /** How many connected proxies are meant to hold resource `name` of `typeUrl`, and hold it ACKed. */
  ackedCount(typeUrl: string, name: string): ResourceReach;
}
