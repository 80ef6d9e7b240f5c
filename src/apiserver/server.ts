// The Kubernetes-compatible API server over a ResourceStore: node:http or node:https, bearer-token
// auth, and dispatch to discovery, OpenAPI, CRUD, PATCH and watch. Every non-2xx answer is a Status.
import { createHash, timingSafeEqual } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import {
  LimitExceededError,
  defaultLimits,
  loopbackGuard,
  type LimitName,
  type Limits,
  type LoopbackGuard,
} from "../limits/index.ts";
import { objectRef } from "../api/index.ts";
import { systemClock, type Clock, type ResourceStore } from "../store/index.ts";
import type { Tracing } from "../telemetry/index.ts";
import { hasBody, readBody, requireObjectMediaType } from "./body.ts";
import type { ApiContext, ApiLogger, ApiRequest, Reply } from "./context.ts";
import {
  coreDiscovery,
  discoveryContentType,
  discoveryFormat,
  groupDiscovery,
  groupsDiscovery,
  resourceListDiscovery,
} from "./discovery.ts";
import { ensureDefaultNamespace } from "./namespaces.ts";
import { buildOpenApi, type OpenApiDocuments } from "./openapi.ts";
import { patchKindOf, patchObject } from "./patch-handler.ts";
import { createPatchEngine, type PatchEngine } from "./patch-engine.ts";
import { getObject, listObjects } from "./read.ts";
import { negotiate, resolvePath, type Endpoint, type ResourceTarget } from "./request.ts";
import type { Verb } from "./resources.ts";
import { ClusterIpAllocator } from "./service.ts";
import { ApiError, methodNotAllowed, pathNotFound, toApiError, unauthorized } from "./status.ts";
import { serveWatch, WatchRegistry } from "./watch.ts";
import { createObject, deleteCollection, deleteObject, replaceObject, replaceStatus } from "./write.ts";
import { tracedStore } from "./write-trace.ts";

export const serverVersion = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-meshplane",
  gitCommit: "",
  gitTreeState: "clean",
  buildDate: "1970-01-01T00:00:00Z",
  goVersion: "",
  compiler: "meshplane",
  platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
} as const;

export interface ApiServerOptions {
  readonly store: ResourceStore;
  readonly logger: ApiLogger;
  readonly clock?: Clock;
  /** Bearer tokens accepted; without it every request is allowed. /healthz never needs one. */
  readonly auth?: { readonly tokens: ReadonlySet<string> } | undefined;
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  /** Computes patched objects; the patch module by default. */
  readonly patcher?: PatchEngine;
  /** Watch tuning, mostly for tests. */
  readonly watch?: Partial<ApiContext["watch"]>;
  /** How long close() lets requests finish before cutting connections; 2 s by default. */
  readonly closeGraceMs?: number;
  /** Bounds on request bodies, decoded objects and patches; the defaults of src/limits if unset. */
  readonly limits?: Limits;
  /** Where refusals by a limit are counted (`meshplane_input_refusals_total`). */
  readonly metrics?: ApiMetrics;
  /** Traces writes as the start of each change's trace (write-trace.ts); off when undefined. */
  readonly tracing?: Tracing | undefined;
}

/** The metrics the API server reports to. */
export interface ApiMetrics {
  readonly inputRefusals: { inc(labels: { limit: LimitName }): void };
}

export interface ApiServerAddress {
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:6443`, for kubeconfigs. */
  readonly url: string;
}

export interface ApiServer {
  /** Creates the `default` namespace if missing, then listens; resolves with the bound address. */
  listen(host: string, port: number): Promise<ApiServerAddress>;
  /** Ends watches, stops accepting, closes connections after the grace period. Safe to call twice. */
  close(): Promise<void>;
}

/** Upstream picks a watch duration in [minRequestTimeout, 2×minRequestTimeout) with 1800 s. */
const randomWatchSeconds = () => 1800 + Math.floor(Math.random() * 1800);

export function createApiServer(options: ApiServerOptions): ApiServer {
  const { store, logger, tracing } = options;
  const ctx: ApiContext = {
    store: tracing ? tracedStore(store, tracing) : store,
    logger,
    clock: options.clock ?? systemClock,
    allocator: new ClusterIpAllocator(store),
    patcher: options.patcher ?? createPatchEngine(),
    limits: options.limits ?? defaultLimits,
    watch: {
      keepaliveMs: options.watch?.keepaliveMs ?? 5000,
      bookmarkMs: options.watch?.bookmarkMs ?? 60_000,
      defaultTimeoutSeconds: options.watch?.defaultTimeoutSeconds ?? randomWatchSeconds,
    },
  };
  const openapi = buildOpenApi();
  const watches = new WatchRegistry();
  const tokenDigests = [...(options.auth?.tokens ?? [])].map(digest);
  // Without tokens only this machine is trusted, and only requests addressed to this server
  // (set once listening, when the port is known).
  let anonymousGuard: LoopbackGuard | undefined;
  const tls = options.tls !== undefined;
  const server: Server = tls
    ? createHttpsServer({ cert: options.tls?.cert, key: options.tls?.key })
    : createHttpServer();
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 30_000;

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    res.on("close", () => {
      logger.debug(
        {
          method: req.method,
          url: req.url,
          status: res.writableFinished ? res.statusCode : "aborted",
          ms: Math.round(performance.now() - started),
        },
        "api request",
      );
    });
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, "api response failed");
      res.destroy();
    });
  });

  const authorized = (req: IncomingMessage): boolean => {
    if (options.auth === undefined) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!match) return false;
    const presented = digest(match[1] as string);
    // Compare digests in constant time against every token, so timing tells nothing.
    let ok = false;
    for (const token of tokenDigests) ok = timingSafeEqual(token, presented) || ok;
    return ok;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1));
    const method = req.method ?? "GET";
    let endpoint: Endpoint | undefined;
    const warnings: string[] = [];
    try {
      const refused = anonymousGuard?.({ host: req.headers.host, origin: req.headers.origin });
      if (refused !== undefined) throw new ApiError(403, "Forbidden", refused, {});
      if (healthPaths.has(path)) {
        return send(res, { status: 200, body: "ok", contentType: "text/plain; charset=utf-8" });
      }
      // Authenticate before resolving, so an anonymous client learns nothing about what exists.
      if (!authorized(req)) throw unauthorized();
      endpoint = resolvePath(path);
      if (endpoint.kind === "resource") {
        return await handleResource(endpoint.target, method, query, req, res, warnings);
      }
      if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(method, path);
      send(res, serveStatic(endpoint, req, openapi));
    } catch (error) {
      const apiError = toApiError(error, endpoint?.kind === "resource" ? endpoint.target.def : undefined);
      if (apiError.code >= 500) logger.error({ err: error, method, url }, "api request failed");
      if (apiError.cause instanceof LimitExceededError) {
        options.metrics?.inputRefusals.inc({ limit: apiError.cause.limit });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, { status: apiError.code, body: apiError.toStatus() }, warnings);
    }
  }

  async function handleResource(
    target: ResourceTarget,
    method: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    warnings: string[],
  ): Promise<void> {
    const contentType = req.headers["content-type"];
    // What the body is must be known from the headers, before any of it is read (a method the
    // kind does not serve is left to its 405).
    const serves = (verb: Verb) => target.def.verbs.includes(verb);
    if (method === "PATCH" && serves("patch")) patchKindOf(target.def, contentType);
    else if ((method === "POST" && serves("create")) || (method === "PUT" && serves("update")))
      requireObjectMediaType(contentType, "object");
    else if (method === "DELETE" && hasBody(req.headers))
      requireObjectMediaType(contentType, "DeleteOptions");
    const reads = method !== "GET" && method !== "HEAD";
    const bodyBytes = reads ? await readBody(req, ctx.limits["api.bodyBytes"]) : Buffer.alloc(0);
    const apiReq: ApiRequest = {
      target,
      query,
      format: negotiate(req.headers.accept),
      contentType,
      userAgent: req.headers["user-agent"],
      bodyBytes,
      warnings,
    };
    const hasName = target.name !== undefined;
    const watching = query.get("watch") === "true" || query.get("watch") === "1";
    if (method === "GET" && !hasName && watching) return serveWatch(ctx, apiReq, res, watches);
    const dispatch = () => dispatchResource(target, method, apiReq);
    // A write of an object (not of its status) starts a change: its trace goes on to the proxies.
    const traced = tracing && reads && target.subresource !== "status";
    const reply = traced
      ? await tracing.write(
          "meshplane.api.write",
          {
            "http.request.method": method,
            "url.path": req.url?.split("?")[0] ?? "",
            ...(target.name === undefined
              ? {}
              : {
                  "meshplane.object": objectRef(target.def.kind, {
                    name: target.name,
                    namespace: target.namespace,
                  }),
                }),
          },
          dispatch,
          req.headers,
        )
      : await dispatch();
    send(res, reply, warnings);
  }

  async function dispatchResource(
    target: ResourceTarget,
    method: string,
    apiReq: ApiRequest,
  ): Promise<Reply> {
    const hasName = target.name !== undefined;
    let reply: Reply;
    if (target.subresource === "status") {
      if (method === "GET") reply = await getObject(ctx, apiReq);
      else if (method === "PUT") reply = await replaceStatus(ctx, apiReq);
      else if (method === "PATCH") reply = await patchObject(ctx, apiReq);
      else throw methodNotAllowed(method, `${target.def.plural}/status`);
    } else if (hasName) {
      if (method === "GET") reply = await getObject(ctx, apiReq);
      else if (method === "PUT") reply = await replaceObject(ctx, apiReq);
      else if (method === "PATCH") reply = await patchObject(ctx, apiReq);
      else if (method === "DELETE") reply = await deleteObject(ctx, apiReq);
      else throw methodNotAllowed(method, target.def.plural);
    } else {
      if (method === "GET") reply = await listObjects(ctx, apiReq);
      else if (method === "POST") reply = await createObject(ctx, apiReq);
      else if (method === "DELETE") reply = await deleteCollection(ctx, apiReq);
      else throw methodNotAllowed(method, `the collection of ${target.def.plural}`);
    }
    return reply;
  }

  let closing: Promise<void> | undefined;
  return {
    async listen(host, port) {
      await ensureDefaultNamespace(store);
      return new Promise<ApiServerAddress>((resolve, reject) => {
        const onError = (error: Error) =>
          reject(
            new Error(`API server cannot listen on ${host}:${port}: ${error.message}`, { cause: error }),
          );
        server.once("error", onError);
        server.listen(port, host, () => {
          server.off("error", onError);
          server.on("error", (error) => logger.error({ err: error }, "API server error"));
          const address = server.address() as AddressInfo;
          const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
          const url = `${tls ? "https" : "http"}://${hostPart}:${address.port}`;
          if (options.auth === undefined) anonymousGuard = loopbackGuard(address.address, address.port);
          logger.info({ url }, "API server listening");
          resolve({ host: address.address, port: address.port, url });
        });
      });
    },
    close() {
      if (closing === undefined && !server.listening) return Promise.resolve();
      closing ??= new Promise<void>((resolve) => {
        watches.stopAll();
        ctx.allocator.close();
        const timer = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? 2000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

const healthPaths: ReadonlySet<string> = new Set(["/healthz", "/livez", "/readyz"]);

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

function send(res: ServerResponse, reply: Reply, warnings: readonly string[] = []): void {
  if (res.destroyed) return;
  const req = res.req;
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  const headers: OutgoingHttpHeaders = {
    "content-type": reply.contentType ?? "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-cache, private",
  };
  if (warnings.length > 0) res.setHeader("warning", warnings.map(warningHeader));
  // A reply sent before the body was read (a refusal): the rest of the body is not a next
  // request, so the connection ends with this reply instead of waiting for one.
  if (hasBody(req.headers) && !req.complete) headers.connection = "close";
  res.writeHead(reply.status, headers);
  res.end(text);
}

/** RFC 7234 `299 - "text"`, the form client-go prints: quotes escaped, only printable ASCII. */
function warningHeader(text: string): string {
  const quoted = text
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return `299 - "${quoted}"`;
}

function serveStatic(endpoint: Endpoint, req: IncomingMessage, openapi: OpenApiDocuments): Reply {
  const accept = req.headers.accept;
  switch (endpoint.kind) {
    case "version":
      return { status: 200, body: serverVersion };
    case "api": {
      const format = discoveryFormat(accept);
      const host = req.headers.host ?? "127.0.0.1";
      return { status: 200, body: coreDiscovery(format, host), contentType: discoveryContentType(format) };
    }
    case "apis": {
      const format = discoveryFormat(accept);
      return { status: 200, body: groupsDiscovery(format), contentType: discoveryContentType(format) };
    }
    case "group": {
      const body = groupDiscovery(endpoint.group);
      if (body === undefined) throw pathNotFound();
      return { status: 200, body };
    }
    case "groupVersion":
      return { status: 200, body: resourceListDiscovery(endpoint.group, endpoint.version) };
    case "openapiIndex":
      return { status: 200, body: openapi.index };
    case "openapiDoc": {
      const doc = openapi.byPath.get(endpoint.path);
      if (doc === undefined) throw pathNotFound();
      return { status: 200, body: doc.body };
    }
    case "resource":
      throw new ApiError(500, "InternalError", "unreachable");
  }
}
