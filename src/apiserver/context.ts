// What every handler gets: the collaborators passed to createApiServer, and one parsed request.
import { excerpt, type Limits } from "../limits/index.ts";
import type { Clock, KubeObject, ResourceStore } from "../store/index.ts";
import { withNamespacePhase } from "./namespaces.ts";
import type { PatchEngine } from "./patch-engine.ts";
import type { ResourceTarget, ResponseFormat } from "./request.ts";
import { asVersion, type ResourceDef } from "./resources.ts";
import type { ClusterIpAllocator } from "./service.ts";
import { badRequest } from "./status.ts";

/** The subset of the pino logger the API server uses. */
export interface ApiLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface WatchSettings {
  /** A bare newline this often keeps idle watches alive (client-node drops them after 30 s). */
  readonly keepaliveMs: number;
  /** BOOKMARK events this often, when the client allows them. */
  readonly bookmarkMs: number;
  /** Server-chosen watch duration when the client sets no timeoutSeconds. */
  readonly defaultTimeoutSeconds: () => number;
}

export interface ApiContext {
  readonly store: ResourceStore;
  readonly clock: Clock;
  readonly logger: ApiLogger;
  readonly allocator: ClusterIpAllocator;
  readonly patcher: PatchEngine;
  readonly watch: WatchSettings;
  /** Bounds on bodies, decoded objects and patches (src/limits). */
  readonly limits: Limits;
}

export interface ApiRequest {
  readonly target: ResourceTarget;
  readonly query: URLSearchParams;
  readonly format: ResponseFormat;
  readonly contentType: string | undefined;
  readonly userAgent: string | undefined;
  /** The body as received (empty for GET). */
  readonly bodyBytes: Buffer;
  /** `Warning` headers for the reply (fieldValidation=Warn), filled by the handlers. */
  readonly warnings: string[];
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
}

/** The object as the client addressed it: its version's apiVersion, and derived display fields. */
export function present(def: ResourceDef, version: string, object: KubeObject): KubeObject {
  const served = asVersion(def, version, def.view ? def.view(object) : object);
  return def.kind === "Namespace" ? withNamespacePhase(served) : served;
}

/** `dryRun=All` (repeatable, also from a DeleteOptions body); anything else is a 400 (ValidateDryRun). */
export function isDryRun(query: URLSearchParams, fromBody: readonly unknown[] = []): boolean {
  const values = [...query.getAll("dryRun"), ...fromBody];
  for (const value of values) {
    if (value !== "All") {
      throw badRequest(`dryRun: Unsupported value: ${shownValue(value)}: supported values: "All"`);
    }
  }
  return values.length > 0;
}

/**
 * The manager a write is recorded under: `fieldManager`, else the first part of the User-Agent
 * (`kubectl/v1.32.4 (linux/amd64)` → `kubectl`) as upstream defaults it.
 */
export function fieldManagerOf(req: ApiRequest): string {
  const given = req.query.get("fieldManager");
  if (given !== null && given !== "") {
    if (given.length > 128) throw badRequest("fieldManager: Too long: may not be more than 128 bytes");
    return given;
  }
  const first = (req.userAgent ?? "").split("/")[0]?.trim() ?? "";
  return first === "" ? "unknown" : first.slice(0, 128);
}

/** A value from the request as echoed in a message: JSON, at most an excerpt of it. */
export function shownValue(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(excerpt(value))
    : excerpt(JSON.stringify(value) ?? String(value));
}
