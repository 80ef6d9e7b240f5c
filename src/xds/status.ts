// Read-only views of per-proxy protocol state, for the admin endpoints, metrics and the CLI.

export interface NackRecord {
  /** The version the proxy rejected (the version it was sent, not the one it kept). */
  readonly rejectedVersion: string;
  readonly nonce: string;
  /** The proxy's `error_detail.message`, verbatim. */
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
}

export interface ProxyStatus {
  readonly streamId: number;
  readonly protocol: "sotw" | "delta";
  readonly nodeId: string;
  /** Namespace from node metadata (`NAMESPACE`), used for Gateway API consumer routes. */
  readonly namespace: string;
  readonly userAgent: string;
  readonly connectedAt: string;
  readonly types: readonly TypeSyncStatus[];
}

/** What the xDS server exposes to the admin server: state, never control. */
export interface ProxyStatusSource {
  proxies(): readonly ProxyStatus[];
  /** Resources as last sent to the proxy, as proto JSON, keyed by short type name then resource name. */
  configDump(streamId: number): Record<string, Record<string, unknown>> | undefined;
}
