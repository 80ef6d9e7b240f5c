// A minimal client of meshplane's own API, for in-process writers such as the config directory:
// server-side apply with a field manager, list by label, delete. Requests go through the same
// admission (validation, defaults, managedFields) as kubectl's.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { StoredKind } from "../api/index.ts";
import type { KubeObject } from "../store/index.ts";

export interface ApiClientOptions {
  /** `http://127.0.0.1:15012` or `https://…`. */
  readonly url: string;
  readonly token?: string | undefined;
  /** PEM to verify an https server by. */
  readonly ca?: string | Buffer | undefined;
  /** Extra headers per request, e.g. the trace context of the write making it. */
  readonly headers?: (() => Record<string, string>) | undefined;
}

export interface ApiClient {
  /** Server-side apply; `created` when the object did not exist before. */
  apply(
    kind: StoredKind,
    object: KubeObject,
    fieldManager: string,
    force: boolean,
  ): Promise<{ object: KubeObject; created: boolean }>;
  list(kind: StoredKind, labelSelector: string): Promise<KubeObject[]>;
  get(kind: StoredKind, namespace: string | undefined, name: string): Promise<KubeObject>;
  /** JSON merge patch (RFC 7386) of the object, or of its status subresource. */
  mergePatch(
    kind: StoredKind,
    namespace: string | undefined,
    name: string,
    patch: object,
    fieldManager: string,
  ): Promise<KubeObject>;
  delete(kind: StoredKind, namespace: string | undefined, name: string): Promise<void>;
  /** Creates the namespace unless it exists. */
  ensureNamespace(name: string): Promise<void>;
}

/** An error reply from the API; `message` is the Status message (field paths included). */
export class ApiClientError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = "ApiClientError";
    this.code = code;
  }
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = new URL(options.url);
  const call = (method: string, path: string, body?: { type: string; data: string }) =>
    new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const request = (base.protocol === "https:" ? httpsRequest : httpRequest)(
        new URL(path, base),
        {
          method,
          ...(options.ca ? { ca: options.ca } : {}),
          headers: {
            ...options.headers?.(),
            accept: "application/json",
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
            ...(body ? { "content-type": body.type, "content-length": Buffer.byteLength(body.data) } : {}),
          },
          timeout: 10_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = { message: text };
            }
            resolve({ status: response.statusCode ?? 0, json });
          });
        },
      );
      request.on("timeout", () => request.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
      request.on("error", reject);
      request.end(body?.data);
    });
  const check = (reply: { status: number; json: unknown }) => {
    if (reply.status >= 200 && reply.status < 300) return reply.json as KubeObject;
    const message = (reply.json as { message?: string } | undefined)?.message ?? `HTTP ${reply.status}`;
    throw new ApiClientError(reply.status, message);
  };
  return {
    async apply(kind, object, fieldManager, force) {
      const query = `?fieldManager=${encodeURIComponent(fieldManager)}&force=${force}`;
      const path = objectPath(kind, object.metadata.namespace, object.metadata.name as string) + query;
      // JSON is YAML, and what kubectl sends for apply.
      const reply = await call("PATCH", path, {
        type: "application/apply-patch+yaml",
        data: JSON.stringify(object),
      });
      return { object: check(reply), created: reply.status === 201 };
    },
    async list(kind, labelSelector) {
      const reply = await call(
        "GET",
        `${collectionPath(kind)}?labelSelector=${encodeURIComponent(labelSelector)}`,
      );
      return (check(reply) as unknown as { items: KubeObject[] }).items;
    },
    async get(kind, namespace, name) {
      return check(await call("GET", objectPath(kind, namespace, name)));
    },
    async mergePatch(kind, namespace, name, patch, fieldManager) {
      const path = `${objectPath(kind, namespace, name)}?fieldManager=${encodeURIComponent(fieldManager)}`;
      const data = JSON.stringify(patch);
      return check(await call("PATCH", path, { type: "application/merge-patch+json", data }));
    },
    async ensureNamespace(name) {
      const body = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
      const reply = await call("POST", "/api/v1/namespaces", { type: "application/json", data: body });
      if (reply.status !== 409) check(reply);
    },
    async delete(kind, namespace, name) {
      const reply = await call("DELETE", objectPath(kind, namespace, name));
      if (reply.status !== 404) check(reply);
    },
  };
}

function groupVersionPath(kind: StoredKind): string {
  return kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
}

function collectionPath(kind: StoredKind): string {
  return `${groupVersionPath(kind)}/${kind.resource}`;
}

function objectPath(kind: StoredKind, namespace: string | undefined, name: string): string {
  const scope = kind.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : "";
  return `${groupVersionPath(kind)}${scope}/${kind.resource}/${encodeURIComponent(name)}`;
}
