// Test helpers: an API server on 127.0.0.1 port 0 over a memory store, and small HTTP clients for
// plain requests and watch streams.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { createMemoryStore, type Clock, type ResourceStore } from "../store/index.ts";
import { createApiServer, type ApiServerOptions } from "./server.ts";

export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface TestServer {
  readonly url: string;
  readonly store: ResourceStore;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // Tests look into bodies freely.
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function startTestServer(
  options: Partial<ApiServerOptions> & { historySize?: number; clock?: Clock } = {},
): Promise<TestServer> {
  const store =
    options.store ??
    createMemoryStore({
      historySize: options.historySize ?? 1000,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  const server = createApiServer({ logger: quietLogger, closeGraceMs: 100, ...options, store });
  const { url } = await server.listen("127.0.0.1", 0);
  return {
    url,
    store,
    async request(method, path, { body, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** A watch stream read line by line. */
export interface WatchReader {
  readonly response: IncomingMessage;
  /** The next non-empty line, parsed; rejects after `ms`. */
  next(ms?: number): Promise<{ type: string; object: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Raw chunks seen so far (keepalive newlines included). */
  readonly raw: string[];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export function openWatch(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<WatchReader> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url + path, { headers }, (response) => {
      const raw: string[] = [];
      const lines: string[] = [];
      const waiters: ((line: string) => void)[] = [];
      let buffer = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        raw.push(chunk);
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, at).trim();
          buffer = buffer.slice(at + 1);
          if (line === "") continue;
          const waiter = waiters.shift();
          if (waiter) waiter(line);
          else lines.push(line);
        }
      });
      const ended = new Promise<void>((done) => response.on("close", () => done()));
      resolve({
        response,
        raw,
        ended,
        next(ms = 3000) {
          const line = lines.shift();
          if (line !== undefined) return Promise.resolve(JSON.parse(line));
          return new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no watch event within ${ms} ms`)), ms);
            waiters.push((l) => {
              clearTimeout(timer);
              ok(JSON.parse(l));
            });
          });
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on("error", reject);
    req.end();
  });
}

export const service = (name: string, extra: object = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { ports: [{ name: "grpc", port: 50051 }] },
  ...extra,
});

export const grpcRoute = (name: string, spec: object = {}) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GRPCRoute",
  metadata: { name },
  spec: { parentRefs: [{ group: "", kind: "Service", name: "greeter" }], ...spec },
});

export const routesPath = "/apis/gateway.networking.k8s.io/v1/namespaces/default/grpcroutes";
export const servicesPath = "/api/v1/namespaces/default/services";
