// The admin HTTP API as seen by tests: JSON fetches with a timeout, and waits on per-proxy xDS
// sync state from GET /debug/syncz.
import { FatalWaitError, waitFor } from "./wait.ts";

export const TypeUrls = {
  lds: "type.googleapis.com/envoy.config.listener.v3.Listener",
  rds: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  cds: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  eds: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
} as const;
export type XdsType = keyof typeof TypeUrls;

export interface NackInfo {
  message: string;
  rejectedVersion?: string;
  [key: string]: unknown;
}

export interface TypeSync {
  typeUrl: string;
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: NackInfo | null;
  [key: string]: unknown;
}

export interface ProxySync {
  nodeId: string;
  namespace: string;
  types: TypeSync[];
  [key: string]: unknown;
}

export interface Syncz {
  proxies: ProxySync[];
}

export class AdminError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(url: string, status: number, body: string) {
    super(`GET ${url} → ${status}: ${body.slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

export async function adminText(adminAddress: string, path: string, timeoutMs = 5_000): Promise<string> {
  const url = `http://${adminAddress}${path.startsWith("/") ? path : `/${path}`}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  if (!response.ok) throw new AdminError(url, response.status, body);
  return body;
}

export async function adminJson<T = unknown>(
  adminAddress: string,
  path: string,
  timeoutMs = 5_000,
): Promise<T> {
  return JSON.parse(await adminText(adminAddress, path, timeoutMs)) as T;
}

export interface ConfigErrorEntry {
  file: string;
  object: string;
  field: string;
  message: string;
}

/** GET /debug/config_errors: rejected files/objects and mesh-level issues (missing backends...). */
export async function configErrors(adminAddress: string): Promise<ConfigErrorEntry[]> {
  return (await adminJson<{ errors: ConfigErrorEntry[] }>(adminAddress, "/debug/config_errors")).errors;
}

export async function proxySync(adminAddress: string, nodeId: string): Promise<ProxySync | undefined> {
  const syncz = await adminJson<Syncz>(adminAddress, "/debug/syncz");
  return syncz.proxies.find((proxy) => proxy.nodeId === nodeId);
}

export function typeSync(proxy: ProxySync | undefined, type: XdsType): TypeSync | undefined {
  return proxy?.types.find((entry) => entry.typeUrl === TypeUrls[type]);
}

/** The version of `type` that the proxy `nodeId` last ACKed, or null (not connected / never ACKed). */
export async function ackedVersion(
  adminAddress: string,
  nodeId: string,
  type: XdsType,
): Promise<string | null> {
  return typeSync(await proxySync(adminAddress, nodeId), type)?.ackedVersion ?? null;
}

export interface AckWait {
  nodeId: string;
  type: XdsType;
  /** Wait for an ACKed version different from this one (null: any ACK at all). */
  from: string | null;
  timeoutMs?: number;
  /**
   * Default true: stop at once when the newest version sent was NACKed. Pass false when a NACK is
   * expected to be superseded (waiting for the fix after a rejected version).
   */
  failOnNack?: boolean;
}

/**
 * Waits until the proxy ACKs a new version of `type`; fails at once, with the proxy's message, if
 * the newest version it was sent was NACKed.
 */
export async function waitForAckChange(adminAddress: string, wait: AckWait): Promise<string> {
  return waitFor(
    async () => {
      const entry = typeSync(await proxySync(adminAddress, wait.nodeId), wait.type);
      if (!entry) return undefined;
      if (entry.ackedVersion !== null && entry.ackedVersion !== wait.from) return entry.ackedVersion;
      const nack = entry.lastNack;
      const failOnNack = wait.failOnNack ?? true;
      if (
        failOnNack &&
        nack &&
        nack.rejectedVersion !== undefined &&
        nack.rejectedVersion === entry.sentVersion
      ) {
        throw new NackError(wait.nodeId, wait.type, nack);
      }
      return undefined;
    },
    {
      timeoutMs: wait.timeoutMs ?? 10_000,
      intervalMs: 100,
      message: `${wait.nodeId} to ACK a new ${wait.type}`,
    },
  );
}

export class NackError extends FatalWaitError {
  readonly nack: NackInfo;
  constructor(nodeId: string, type: XdsType, nack: NackInfo) {
    super(`${nodeId} NACKed ${type} version ${nack.rejectedVersion}: ${nack.message}`);
    this.nack = nack;
  }
}

/** Waits until every type the proxy subscribed to is ACKed at the version it was last sent. */
export async function waitForInSync(
  adminAddress: string,
  nodeId: string,
  timeoutMs = 10_000,
): Promise<ProxySync> {
  return waitFor(
    async () => {
      const proxy = await proxySync(adminAddress, nodeId);
      if (!proxy || proxy.types.length === 0) return undefined;
      const synced = proxy.types.every((t) => t.sentVersion !== null && t.ackedVersion === t.sentVersion);
      return synced ? proxy : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `${nodeId} to be in sync on every xDS type` },
  );
}

export interface NackWait {
  nodeId: string;
  type: XdsType;
  timeoutMs?: number;
}

/** Waits until the proxy NACKs a version of `type`; resolves with its sync entry at that moment. */
export async function waitForNack(adminAddress: string, wait: NackWait): Promise<TypeSync> {
  return waitFor(
    async () => {
      const entry = typeSync(await proxySync(adminAddress, wait.nodeId), wait.type);
      const nack = entry?.lastNack;
      return entry && nack ? entry : undefined;
    },
    {
      timeoutMs: wait.timeoutMs ?? 10_000,
      intervalMs: 100,
      message: `${wait.nodeId} to NACK a ${wait.type} version`,
    },
  );
}

/** Waits until /debug/config_errors has an entry matching `predicate`; resolves with all entries. */
export async function waitForConfigError(
  adminAddress: string,
  predicate: (entry: ConfigErrorEntry) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<ConfigErrorEntry[]> {
  let last: ConfigErrorEntry[] = [];
  try {
    return await waitFor(
      async () => {
        last = await configErrors(adminAddress);
        return last.some(predicate) ? last : undefined;
      },
      { timeoutMs, intervalMs: 100, message: what },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; /debug/config_errors: ${JSON.stringify(last)}`, {
      cause: error,
    });
  }
}
