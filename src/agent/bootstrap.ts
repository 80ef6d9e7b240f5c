// The gRPC xDS bootstrap (gRFC A27, grpc-js-xds xds-bootstrap.ts): where the control plane is
// and who this workload is. An application points GRPC_XDS_BOOTSTRAP at the file.
//
// Several meshplane replicas: grpc-js-xds 1.14 talks only to `xds_servers[0]` (no gRFC A71
// fallback), so the replicas go into that one server_uri as a grpc target listing every address,
// `ipv4:10.0.0.1:15010,10.0.0.2:15010` (grpc-js and C-core resolve the `ipv4:`/`ipv6:` schemes). The
// channel's default pick_first policy connects to the first address that answers and, when that
// connection drops, to the next one; the ADS stream then restarts on it and resubscribes. Other
// clients (grpc-go, grpc-java) lack those schemes: give them one DNS name that resolves to every
// replica instead.
//
// With a certificate directory (written by `meshplane agent`), the bootstrap also names the
// certificate provider that xDS security configuration refers to (gRFC A29): the `file_watcher`
// plugin, re-reading the three files on an interval, under the instance name
// `certificateProviderInstance` that meshplane's TLS contexts use.
import { resolve } from "node:path";
import { certChainFile, keyFile, rootCertFile } from "./cert-files.ts";

/** The certificate provider instance name meshplane's generated TLS contexts refer to. */
export const certificateProviderInstance = "default";
/** How often gRPC re-reads the files; well under half of the shortest certificate's lifetime. */
export const defaultCertRefreshSeconds = 5;

export interface BootstrapOptions {
  /**
   * host:port of meshplane's xDS server, or several IP literal addresses separated by commas
   * (`127.0.0.1:15010,127.0.0.1:15020`), one per replica.
   */
  readonly xdsAddress: string;
  readonly nodeId: string;
  /** The workload's namespace: decides short names and consumer routes. */
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Zone of the workload, reported as the node locality. */
  readonly zone?: string;
  /** Where `meshplane agent` writes cert-chain.pem, key.pem and root-cert.pem. */
  readonly certDir?: string;
  /** How often gRPC re-reads them (default 5 s). */
  readonly certRefreshSeconds?: number;
  /**
   * The xDS server speaks TLS (`meshplane serve --xds-tls`): channel credentials of type "tls"
   * over the files in `certDir` instead of "insecure".
   */
  readonly xdsTls?: boolean;
}

export interface FileWatcherProvider {
  plugin_name: "file_watcher";
  config: {
    certificate_file: string;
    private_key_file: string;
    ca_certificate_file: string;
    refresh_interval: string;
  };
}

/**
 * gRFC A65 "tls" xDS channel credentials: verify the server against `ca_certificate_file`, present
 * the workload certificate, re-read both every `refresh_interval`.
 */
export interface TlsChannelCreds {
  type: "tls";
  config: {
    ca_certificate_file: string;
    certificate_file: string;
    private_key_file: string;
    refresh_interval: string;
  };
}

export interface GrpcBootstrap {
  xds_servers: {
    server_uri: string;
    channel_creds: ({ type: "insecure" } | TlsChannelCreds)[];
    server_features: string[];
  }[];
  node: { id: string; cluster: string; locality: { zone?: string }; metadata: Record<string, unknown> };
  server_listener_resource_name_template: string;
  certificate_providers?: Record<string, FileWatcherProvider>;
}

export function grpcBootstrap(options: BootstrapOptions): GrpcBootstrap {
  if (!options.nodeId) throw new Error("--node-id must not be empty");
  if (options.xdsTls && options.certDir === undefined) {
    throw new Error(
      "--xds-tls needs --cert-dir: the agent's root-cert.pem verifies the xDS server, and its certificate is the client's",
    );
  }
  return {
    xds_servers: [
      {
        server_uri: xdsServerUri(options.xdsAddress),
        // Only "tls" when asked: a client that does not know it then fails at start instead of
        // falling back to plaintext (A27: the first supported type in the list wins).
        channel_creds:
          options.xdsTls && options.certDir !== undefined
            ? [tlsChannelCreds(options.certDir, options.certRefreshSeconds)]
            : [{ type: "insecure" }],
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
    ...(options.certDir === undefined
      ? {}
      : {
          certificate_providers: {
            [certificateProviderInstance]: fileWatcher(options.certDir, options.certRefreshSeconds),
          },
        }),
  };
}

function fileWatcher(certDir: string, refreshSeconds = defaultCertRefreshSeconds): FileWatcherProvider {
  if (!Number.isInteger(refreshSeconds) || refreshSeconds < 1) {
    throw new Error("--cert-refresh must be a whole number of seconds, at least 1");
  }
  // Absolute: the workload may start in another working directory than this command.
  const dir = resolve(certDir);
  return {
    plugin_name: "file_watcher",
    config: {
      certificate_file: resolve(dir, certChainFile),
      private_key_file: resolve(dir, keyFile),
      ca_certificate_file: resolve(dir, rootCertFile),
      refresh_interval: `${refreshSeconds}s`,
    },
  };
}

function tlsChannelCreds(certDir: string, refreshSeconds?: number): TlsChannelCreds {
  const files = fileWatcher(certDir, refreshSeconds).config;
  return {
    type: "tls",
    config: {
      ca_certificate_file: files.ca_certificate_file,
      certificate_file: files.certificate_file,
      private_key_file: files.private_key_file,
      refresh_interval: files.refresh_interval,
    },
  };
}

const hostPort = /^[^\s:,[\]]+:\d{1,5}$/;
const ipv4Port = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):\d{1,5}$/;
const ipv6Port = /^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;

/**
 * One address stays as it is (`host:port`, any client resolves it). Several become one grpc
 * target of the address family they share: `ipv4:a:p,b:p` or `ipv6:[a]:p,[b]:p`.
 */
export function xdsServerUri(xdsAddress: string): string {
  const addresses = xdsAddress.split(",").map((a) => a.trim());
  for (const address of addresses) {
    const port = Number(address.slice(address.lastIndexOf(":") + 1));
    if ((!hostPort.test(address) && !ipv6Port.test(address)) || port < 1 || port > 65535) {
      throw new Error(`--xds-address must be host:port[,host:port...], got "${xdsAddress}"`);
    }
  }
  if (addresses.length === 1) return addresses[0] as string;
  if (new Set(addresses).size !== addresses.length) {
    throw new Error(`--xds-address lists an address twice: "${xdsAddress}"`);
  }
  if (
    addresses.every((a) =>
      ipv4Port
        .exec(a)
        ?.slice(1, 5)
        .every((octet) => Number(octet) <= 255),
    )
  ) {
    return `ipv4:${addresses.join(",")}`;
  }
  if (addresses.every((a) => ipv6Port.test(a))) return `ipv6:${addresses.join(",")}`;
  throw new Error(
    `--xds-address with several replicas takes IP addresses of one family (grpc target ipv4:/ipv6:), got "${xdsAddress}"; ` +
      "for host names give one DNS name that resolves to every replica",
  );
}
