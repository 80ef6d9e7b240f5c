// The gRPC xDS bootstrap (gRFC A27, grpc-js-xds xds-bootstrap.ts): where the control plane is
// and who this workload is. An application points GRPC_XDS_BOOTSTRAP at the file.

export interface BootstrapOptions {
  /** host:port of meshplane's xDS server. */
  readonly xdsAddress: string;
  readonly nodeId: string;
  /** The workload's namespace: decides short names and consumer routes. */
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Zone of the workload, reported as the node locality. */
  readonly zone?: string;
}

export interface GrpcBootstrap {
  xds_servers: { server_uri: string; channel_creds: { type: string }[]; server_features: string[] }[];
  node: { id: string; cluster: string; locality: { zone?: string }; metadata: Record<string, unknown> };
  server_listener_resource_name_template: string;
}

export function grpcBootstrap(options: BootstrapOptions): GrpcBootstrap {
  if (!/^[^\s:]+:\d+$/.test(options.xdsAddress) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(options.xdsAddress)) {
    throw new Error(`--xds-address must be host:port, got "${options.xdsAddress}"`);
  }
  if (!options.nodeId) throw new Error("--node-id must not be empty");
  return {
    xds_servers: [
      {
        server_uri: options.xdsAddress,
        channel_creds: [{ type: "insecure" }],
        // xDS v3 transport; "ignore_resource_deletion" is left off so deletes take effect.
        server_features: ["xds_v3"],
      },
    ],
    node: {
      id: options.nodeId,
      cluster: options.namespace,
      // Required by grpc-js-xds even when empty.
      locality: options.zone ? { zone: options.zone } : {},
      metadata: { NAMESPACE: options.namespace, LABELS: { ...options.labels } },
    },
    server_listener_resource_name_template: "grpc/server?xds.resource.listening_address=%s",
  };
}
