// The agent's xDS relay, for gRPC xDS clients that cannot speak TLS to the xDS server (grpc-js-xds
// 1.14 and gRPC C-core 1.51 accept only "insecure" xDS channel credentials): the client connects
// in plaintext to a port on loopback, and the agent carries each connection over mTLS to
// `meshplane serve --xds-tls`, presenting the workload's certificate and verifying meshplane's
// against root-cert.pem (as istio-agent proxies xDS for proxyless gRPC). It relays bytes: HTTP/2
// (ALPN h2) runs end to end between the client and meshplane. Each connection reads the files of
// the moment, so renewals and root rotations reach the next connection; open ones keep their TLS
// session. Loopback only: whoever reaches the port speaks to meshplane with this identity.
import { createServer, isIP, type Server, type Socket } from "node:net";
import { checkServerIdentity, connect as tlsConnect } from "node:tls";
import { readCertificateFiles } from "./cert-files.ts";

export interface RelayLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface XdsRelayOptions {
  /** Where xDS clients connect: a loopback host and a port (0: any free one). */
  readonly listen: { readonly host: string; readonly port: number };
  /** meshplane's xDS port (`serve --xds-tls`). */
  readonly upstream: { readonly host: string; readonly port: number };
  /** The name checked against meshplane's certificate; default the upstream host. */
  readonly serverName?: string;
  /** The agent's cert-chain.pem, key.pem and root-cert.pem. */
  readonly certDir: string;
  readonly log: RelayLog;
}

const loopback = (host: string) =>
  host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));

export class XdsRelay {
  readonly address: { readonly host: string; readonly port: number };
  private readonly server: Server;
  private readonly sockets: Set<Socket>;

  private constructor(server: Server, sockets: Set<Socket>, address: { host: string; port: number }) {
    this.server = server;
    this.sockets = sockets;
    this.address = address;
  }

  static async start(options: XdsRelayOptions): Promise<XdsRelay> {
    if (!loopback(options.listen.host)) {
      throw new Error(
        `--xds-relay ${options.listen.host}: the relay speaks to meshplane with this workload's identity, so it listens on loopback only (127.0.0.1, ::1)`,
      );
    }
    const sockets = new Set<Socket>();
    const server = createServer((client) => relay(client, options, sockets));
    return await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.off("error", reject);
        server.on("error", (error) => options.log.warn({ err: error }, "xDS relay accept failed"));
        const bound = server.address();
        const port = typeof bound === "object" && bound ? bound.port : options.listen.port;
        resolve(new XdsRelay(server, sockets, { host: options.listen.host, port }));
      });
    });
  }

  /** Stops accepting and closes every relayed connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

function relay(client: Socket, options: XdsRelayOptions, sockets: Set<Socket>): void {
  const { log, upstream } = options;
  sockets.add(client);
  client.once("close", () => sockets.delete(client));
  client.on("error", () => client.destroy());
  const files = readCertificateFiles(options.certDir);
  if (files === undefined) {
    log.warn({ certDir: options.certDir }, "xDS relay: no certificate yet; connection refused");
    client.destroy();
    return;
  }
  const serverName = options.serverName ?? upstream.host;
  const tls = tlsConnect({
    host: upstream.host,
    port: upstream.port,
    // SNI takes host names only (RFC 6066 §3); an IP address is still checked against IP SANs.
    ...(isIP(serverName) === 0 ? { servername: serverName } : {}),
    checkServerIdentity: (_host, certificate) => checkServerIdentity(serverName, certificate),
    ca: files.trustBundlePem,
    cert: files.certChainPem,
    key: files.keyPem,
    ALPNProtocols: ["h2"],
  });
  sockets.add(tls);
  tls.once("close", () => {
    sockets.delete(tls);
    client.destroy();
  });
  client.once("close", () => tls.destroy());
  tls.once("secureConnect", () => {
    client.pipe(tls);
    tls.pipe(client);
  });
  tls.on("error", (error: NodeJS.ErrnoException) => {
    log.warn(
      { upstream: `${upstream.host}:${upstream.port}`, code: error.code, reason: error.message },
      "xDS relay: the connection to meshplane failed",
    );
    tls.destroy();
  });
}
