// The admin HTTP server: health, readiness, Prometheus metrics and read-only debug views of the
// xDS state. Plain node:http; every collaborator is passed in so tests build independent servers.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { isLoopbackAddress, loopbackGuard, type LoopbackGuard } from "../limits/index.ts";
import type { ConfigError } from "../sources/config-source.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { NackReport, ProxyStatus, ProxyStatusSource } from "../xds/status.ts";
import { listenError } from "../xds/index.ts";

export interface Readiness {
  readonly ready: boolean;
  /** Why the process is not ready yet, one human-readable line each. */
  readonly reasons: readonly string[];
}

export interface AdminServerOptions {
  readonly metrics: MeshplaneMetrics;
  readonly proxies: ProxyStatusSource;
  readonly ready: () => Readiness;
  readonly configErrors: () => readonly ConfigError[];
  /** This replica and the lease holder (which replica writes status), for /debug/replica. */
  readonly replica?: () => ReplicaInfo;
  /** Every live replica and its admin address (from the replica reports), for /debug/replicas. */
  readonly replicas?: () => Promise<readonly unknown[]>;
  /** The configuration objects being served (validated), for /debug/resources. */
  readonly resources?: () => ServedObjects | undefined;
  readonly logger: Logger;
  /** How long close() lets in-flight requests finish before cutting connections; 2 s by default. */
  readonly closeGraceMs?: number;
  /**
   * Bearer tokens that may read /debug/* when the server listens off loopback. The debug views
   * show the mesh's whole configuration, so off loopback they are refused without one; /healthz,
   * /readyz and /metrics stay open for probes and scrapers.
   */
  readonly debugTokens?: ReadonlySet<string>;
}

export interface ReplicaInfo {
  readonly replica: string;
  readonly leader: boolean;
  /** The lease as last seen (coordination.k8s.io/v1 Lease spec fields); absent when unknown. */
  readonly lease: unknown;
}

export interface ServedObjects {
  /** The serving state's version. */
  readonly version: number;
  /** Cluster domain the mesh is built with (`serve --domain`). */
  readonly domain: string;
  readonly objects: readonly unknown[];
}

export interface AdminAddress {
  readonly host: string;
  readonly port: number;
}

export interface AdminServer {
  /** Resolves with the bound address (useful with port 0); rejects if the address is unavailable. */
  listen(host: string, port: number): Promise<AdminAddress>;
  /** Stops accepting, then closes every connection within the grace period. Safe to call twice. */
  close(): Promise<void>;
}

/** One config_dump entry: the resources last sent on one ADS stream. */
export interface ProxyConfigDump {
  readonly nodeId: string;
  readonly streamId: number;
  readonly resources: Record<string, Record<string, unknown>>;
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

type Handler = (query: URLSearchParams) => Reply | Promise<Reply>;

const ALLOWED_METHODS = "GET";
// Short limits: probes and scrapes are small and local, so a slow client is a stuck one.
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
// Node checks request/headers timeouts on this interval (30 s by default), so it bounds how late
// they fire.
const CONNECTIONS_CHECK_MS = 1_000;
const DEFAULT_CLOSE_GRACE_MS = 2_000;

export function createAdminServer(options: AdminServerOptions): AdminServer {
  const { logger } = options;
  const routes = buildRoutes(options);
  const debugAccess = debugTokenCheck(options.debugTokens);
  // On loopback the admin port is this machine's: a web page must not reach it by DNS rebinding
  // (set once listening, when the port is known).
  let guard: LoopbackGuard | undefined;
  const server = createServer({
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handle(routes, guard, debugAccess, logger, req, res).catch((err: unknown) => {
      logger.error({ err, path: req.url }, "admin response failed");
      res.destroy();
    });
  });

  let closing: Promise<void> | undefined;

  return {
    listen(host, port) {
      return new Promise<AdminAddress>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          server.off("listening", onListening);
          reject(listenError("admin server", host, port, err));
        };
        const onListening = (): void => {
          server.off("error", onError);
          server.on("error", (err) => logger.error({ err }, "admin server error"));
          const address = server.address() as AddressInfo;
          if (isLoopbackAddress(address.address)) guard = loopbackGuard(address.address, address.port);
          logger.info({ host: address.address, port: address.port }, "admin server listening");
          resolve({ host: address.address, port: address.port });
        };
        server.once("error", onError);
        server.once("listening", onListening);
        server.listen(port, host);
      });
    },
    close() {
      // Before listen (or after it failed) there is nothing to close, and nothing to remember.
      if (closing === undefined && !server.listening) return Promise.resolve();
      closing ??= closeServer(server, options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
      return closing;
    },
  };
}

function closeServer(server: ReturnType<typeof createServer>, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // close() stops accepting and drops idle keep-alive sockets; busy ones get the grace period.
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Why a /debug/* request off loopback is refused, or undefined when its bearer token is known. */
export type DebugAccess = (authorization: string | undefined) => string | undefined;

export function debugTokenCheck(tokens: ReadonlySet<string> | undefined): DebugAccess {
  // Compared as SHA-256 digests: equal length, so timingSafeEqual tells nothing about the token.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  const known = [...(tokens ?? [])].map(digest);
  return (authorization) => {
    if (known.length === 0) {
      return "the /debug endpoints show the mesh's configuration and are served off loopback only with a token: start meshplane serve with --admin-token-file, or bind --admin-address to 127.0.0.1";
    }
    const token = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    const given = token === undefined ? undefined : digest(token);
    if (given === undefined || !known.some((k) => timingSafeEqual(k, given))) {
      return "the /debug endpoints need `Authorization: Bearer <token>` with a token from --admin-token-file";
    }
    return undefined;
  };
}

async function handle(
  routes: ReadonlyMap<string, Handler>,
  guard: LoopbackGuard | undefined,
  debugAccess: DebugAccess,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? "GET";
  // Split by hand: `new URL` would read a path such as `//x/healthz` as a host.
  const target = req.url ?? "/";
  const queryAt = target.indexOf("?");
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));

  res.on("close", () => {
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    // A client that hangs up early never saw a status; say so rather than log the default 200.
    const status = res.writableFinished ? res.statusCode : "aborted";
    logger.debug({ method, path, status, durationMs }, "admin request");
  });

  let reply: Reply;
  const handler = routes.get(path);
  const refused = guard?.({ host: req.headers.host, origin: req.headers.origin });
  // Off loopback (no guard), the debug views need a token.
  const denied =
    guard === undefined && path.startsWith("/debug/") ? debugAccess(req.headers.authorization) : undefined;
  if (refused !== undefined) {
    reply = json(403, { error: refused });
  } else if (denied !== undefined) {
    reply = {
      ...json(401, { error: denied }),
      headers: { "content-type": "application/json", "www-authenticate": "Bearer" },
    };
  } else if (handler === undefined) {
    reply = json(404, { error: `no admin endpoint at ${path}` });
  } else if (method !== "GET") {
    const refused = json(405, {
      error: `method ${method} not allowed on ${path}`,
      allowed: [ALLOWED_METHODS],
    });
    reply = { ...refused, headers: { ...refused.headers, allow: ALLOWED_METHODS } };
  } else {
    try {
      reply = await handler(query);
    } catch (err) {
      logger.error({ err, path }, "admin endpoint failed");
      reply = json(500, { error: `internal error serving ${path}` });
    }
  }
  if (res.destroyed) return;
  res.writeHead(reply.status, { "cache-control": "no-store", ...reply.headers });
  res.end(reply.body);
}

function buildRoutes(options: AdminServerOptions): ReadonlyMap<string, Handler> {
  const { metrics, proxies } = options;
  return new Map<string, Handler>([
    ["/healthz", () => text(200, "ok\n")],
    [
      "/readyz",
      () => {
        const { ready, reasons } = options.ready();
        if (ready) return text(200, "ok\n");
        const lines = reasons.length > 0 ? reasons : ["not ready"];
        return text(503, lines.join("\n") + "\n");
      },
    ],
    [
      "/metrics",
      async () => ({
        status: 200,
        headers: { "content-type": metrics.registry.contentType },
        body: await metrics.registry.metrics(),
      }),
    ],
    ["/debug/syncz", (query) => json(200, { proxies: selectProxies(proxies, query.get("node")) })],
    [
      "/debug/config_dump",
      (query) => {
        const node = query.get("node");
        const dumps: ProxyConfigDump[] = [];
        for (const proxy of selectProxies(proxies, node)) {
          const resources = proxies.configDump(proxy.streamId);
          // The stream may have closed between the two calls; it is no longer connected.
          if (resources === undefined) continue;
          dumps.push({ nodeId: proxy.nodeId, streamId: proxy.streamId, resources });
        }
        if (node !== null && dumps.length === 0) {
          return json(404, { error: `no connected proxy with node id ${JSON.stringify(node)}` });
        }
        return json(200, { proxies: dumps });
      },
    ],
    ["/debug/config_errors", () => json(200, { errors: options.configErrors() })],
    ["/debug/nacks", (query) => json(200, selectRejections(proxies, query.get("object")))],
    [
      "/debug/replica",
      () => (options.replica ? json(200, options.replica()) : json(404, { error: "no replica information" })),
    ],
    [
      "/debug/replicas",
      async () =>
        options.replicas
          ? json(200, { replicas: await options.replicas() })
          : json(404, { error: "no replica reports (this replica has no store)" }),
    ],
    [
      "/debug/resources",
      () => {
        const served = options.resources?.();
        return served ? json(200, served) : json(503, { error: "no configuration published yet" });
      },
    ],
  ]);
}

/**
 * Rejected resources by the configuration objects they are built from (optionally one object,
 * `Kind namespace/name`); resources built from no known object are listed apart.
 */
function selectRejections(source: ProxyStatusSource, object: string | null): NackReport {
  const report = source.rejections();
  if (object === null) return report;
  return { objects: report.objects.filter((o) => o.object === object), unattributed: [] };
}

/** Connected proxies, optionally only one node id's streams, in a stable order. */
function selectProxies(source: ProxyStatusSource, node: string | null): ProxyStatus[] {
  return source
    .proxies()
    .filter((proxy) => node === null || proxy.nodeId === node)
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.streamId - b.streamId));
}

function text(status: number, body: string): Reply {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body };
}

function json(status: number, value: unknown): Reply {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value, null, 2) + "\n",
  };
}
