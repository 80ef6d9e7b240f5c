// The web dashboard's HTTP server, on its own opt-in address (`serve --dashboard-address`): the
// built front end and its live feed as server-sent events. Its own server, not the admin one, so
// that it can be offered to operators on another address, with the API's bearer tokens and TLS,
// without exposing /debug/config_dump and the rest of the admin port. Access follows the API's
// rules: with tokens, the feed needs one (`Authorization: Bearer`, never in a URL: the page
// reads the stream with fetch); without, only a loopback address, and the Host/Origin guard.
import { createHash, timingSafeEqual } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { isLoopbackAddress, LimitExceededError, loopbackGuard, type LoopbackGuard } from "../limits/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { listenError } from "../xds/index.ts";
import type { DashboardAssets } from "./dashboard-assets.ts";
import type { DashboardFeed } from "./dashboard-feed.ts";

export interface DashboardServerOptions {
  readonly feed: DashboardFeed;
  readonly assets: DashboardAssets;
  /** Bearer tokens the feed accepts; without them the server must be on loopback. */
  readonly tokens: ReadonlySet<string> | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** The `dashboard.clients` limit: open feeds at once. */
  readonly maxClients: number;
  readonly metrics: Pick<MeshplaneMetrics, "dashboardClients" | "inputRefusals">;
  readonly logger: Logger;
  /**
   * Bytes a feed may have waiting in its socket before it counts as behind: it then misses
   * deltas and, once drained, gets the current view whole (256 KiB).
   */
  readonly behindBytes?: number;
  /** A comment line this often keeps idle feeds open through proxies (15 s). */
  readonly keepaliveMs?: number;
}

export interface DashboardServer {
  /** Resolves with the URL the dashboard is at; rejects if the address is unavailable. */
  listen(host: string, port: number): Promise<string>;
  close(graceMs?: number): Promise<void>;
}

export const feedPath = "/api/events";

// The page loads only its own files and talks only to its own server.
const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const digest = (token: string): Buffer => createHash("sha256").update(token).digest();

/** What a feed is written to: a response, as far as its backlog goes. */
export interface FeedOutput {
  readonly writableLength: number;
  write(chunk: string): boolean;
  on(event: "drain", listener: () => void): unknown;
}

/**
 * Writes frames to `out` unless more than `behindBytes` wait unsent there: a page that falls
 * behind then misses deltas, and once drained gets `current()`, the whole view as it is now.
 * So a slow page holds at most `behindBytes` plus one frame, never a backlog of deltas.
 */
export function boundedFeedWriter(
  out: FeedOutput,
  behindBytes: number,
  current: () => string,
): (frame: string) => void {
  let behind = false;
  out.on("drain", () => {
    if (!behind) return;
    behind = false;
    out.write(current());
  });
  return (frame) => {
    if (behind || out.writableLength > behindBytes) {
      behind = true;
      return;
    }
    out.write(frame);
  };
}

export function createDashboardServer(options: DashboardServerOptions): DashboardServer {
  const { logger, metrics, feed } = options;
  const tokenDigests = [...(options.tokens ?? [])].map(digest);
  const feeds = new Set<ServerResponse>();
  let guard: LoopbackGuard | undefined;
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key })
    : createHttpServer();
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  const authorized = (req: IncomingMessage): boolean => {
    if (options.tokens === undefined) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!match) return false;
    const presented = digest(match[1] as string);
    let ok = false;
    for (const token of tokenDigests) ok = timingSafeEqual(token, presented) || ok;
    return ok;
  };

  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      "content-type": "application/json",
      "cache-control": "no-store",
      ...securityHeaders,
      ...headers,
    });
    res.end(body);
  };

  const openFeed = (req: IncomingMessage, res: ServerResponse): void => {
    if (!authorized(req)) {
      reply(res, 401, JSON.stringify({ error: "the dashboard's feed needs a bearer token" }), {
        "www-authenticate": 'Bearer realm="meshplane"',
      });
      return;
    }
    if (feeds.size >= options.maxClients) {
      const refusal = new LimitExceededError(
        "dashboard.clients",
        options.maxClients,
        "another dashboard feed",
      );
      metrics.inputRefusals.inc({ limit: refusal.limit });
      reply(res, 503, JSON.stringify({ error: refusal.message }), { "retry-after": "5" });
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      ...securityHeaders,
    });
    feeds.add(res);
    metrics.dashboardClients.set(feeds.size);
    const send = boundedFeedWriter(res, options.behindBytes ?? 256 * 1024, () => feed.snapshot());
    const watching = feed.watch(send);
    res.write(watching.snapshot);
    const keepalive = setInterval(() => send(": keepalive\n\n"), options.keepaliveMs ?? 15_000);
    res.on("close", () => {
      clearInterval(keepalive);
      watching.stop();
      feeds.delete(res);
      metrics.dashboardClients.set(feeds.size);
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const refused = guard?.({ host: req.headers.host, origin: req.headers.origin });
    if (refused !== undefined) return reply(res, 403, JSON.stringify({ error: refused }));
    if (req.method !== "GET" && req.method !== "HEAD") {
      return reply(res, 405, JSON.stringify({ error: `method ${req.method} not allowed` }), {
        allow: "GET, HEAD",
      });
    }
    if (path === feedPath) {
      if (req.method !== "GET")
        return reply(res, 405, JSON.stringify({ error: "the feed is GET only" }), { allow: "GET" });
      return openFeed(req, res);
    }
    const asset = options.assets.get(path);
    if (asset === undefined) return reply(res, 404, JSON.stringify({ error: `nothing at ${path}` }));
    res.writeHead(200, {
      "content-type": asset.contentType,
      "content-length": String(asset.body.length),
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      ...securityHeaders,
    });
    res.end(req.method === "HEAD" ? undefined : asset.body);
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    try {
      handle(req, res);
    } catch (error) {
      logger.error({ err: error, path: req.url }, "dashboard response failed");
      res.destroy();
    }
  });

  return {
    listen(host, port) {
      return new Promise<string>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          server.off("listening", onListening);
          reject(listenError("dashboard", host, port, err));
        };
        const onListening = (): void => {
          server.off("error", onError);
          server.on("error", (err) => logger.error({ err }, "dashboard server error"));
          const address = server.address() as AddressInfo;
          if (options.tokens === undefined) {
            if (!isLoopbackAddress(address.address)) {
              // serve refuses this combination before listening; never answer anonymously off loopback.
              server.close();
              reject(new Error(`dashboard on ${address.address} without tokens`));
              return;
            }
            guard = loopbackGuard(address.address, address.port);
          }
          const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
          const url = `${options.tls ? "https" : "http"}://${shown}:${address.port}/`;
          logger.info({ dashboardUrl: url }, "dashboard listening");
          resolve(url);
        };
        server.once("error", onError);
        server.once("listening", onListening);
        server.listen(port, host);
      });
    },
    close(graceMs = 2_000) {
      feed.stop();
      for (const res of feeds) res.end();
      if (!server.listening) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
