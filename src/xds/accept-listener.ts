// The xDS port's listening socket: a net.Server that listens with a chosen accept backlog and
// hands each connection to grpc-js through a connection injector (grpc.Server
// createConnectionInjector, grpc-js >= 1.10). grpc-js's own bindAsync listens with Node's default
// backlog of 511; when thousands of proxies connect at once (a control-plane restart) the
// kernel's accept queue overflows, SYNs are dropped and clients wait out TCP retransmission
// timers of 1, 3, 7 and 15 s. The kernel caps any backlog at net.core.somaxconn. Unlike bindAsync,
// a host name listens on its first resolved address only (Node's net.Server), not on all of them.
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** Accept-queue length asked for when none is configured. */
export const defaultAcceptBacklog = 4096;

const somaxconnPath = "/proc/sys/net/core/somaxconn";

/** net.core.somaxconn, the kernel's cap on a listen backlog; undefined where it cannot be read. */
export function readSomaxconn(path = somaxconnPath): number | undefined {
  try {
    const value = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The backlog the kernel will apply: the request, capped by somaxconn when that is known. */
export function effectiveBacklog(requested: number, somaxconn: number | undefined): number {
  return somaxconn === undefined ? requested : Math.min(requested, somaxconn);
}

export interface AcceptListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
  /** Takes over an accepted connection (grpc-js's ConnectionInjector.injectConnection). */
  readonly inject: (connection: Duplex) => void;
  /** An accept that failed once listening (e.g. EMFILE): the server keeps listening. */
  readonly onAcceptError: (error: Error) => void;
}

export class AcceptListener {
  readonly port: number;
  private readonly server: Server;
  private readonly sockets: Set<Socket>;

  private constructor(server: Server, sockets: Set<Socket>, port: number) {
    this.server = server;
    this.sockets = sockets;
    this.port = port;
  }

  /** Listens on host:port (0: any free port); rejects with the address and the reason. */
  static open(options: AcceptListenerOptions): Promise<AcceptListener> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      options.inject(socket);
    });
    return new Promise((resolve, reject) => {
      const refuse = (error: NodeJS.ErrnoException) =>
        reject(listenError("xDS server", options.host, options.port, error));
      server.once("error", refuse);
      server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
        server.off("error", refuse);
        server.on("error", options.onAcceptError);
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : options.port;
        resolve(new AcceptListener(server, sockets, port));
      });
    });
  }

  /**
   * Stops accepting at once; resolves when every accepted connection has closed (grpc-js closes
   * them as it shuts down), destroying those still open after `graceMs`.
   */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

/** Why `what` (e.g. "xDS server") could not listen, in words an operator can act on. */
export function listenError(what: string, host: string, port: number, error: NodeJS.ErrnoException): Error {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const why =
    error.code === "EADDRINUSE"
      ? "address already in use"
      : error.code === "EACCES"
        ? "permission denied (ports below 1024 need privileges)"
        : error.message;
  const code = error.code ? ` (${error.code})` : "";
  return new Error(`${what} cannot listen on ${address}: ${why}${code}`, { cause: error });
}
