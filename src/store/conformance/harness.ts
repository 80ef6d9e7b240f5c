// Shared pieces of the conformance suite: how a backend is opened, fixtures, and watch helpers.
import assert from "node:assert/strict";
import { isStoreError, type StoreErrorCode } from "../errors.ts";
import type { Clock, KubeObject, ResourceStore, ResourceType, Watch, WatchEvent } from "../types.ts";

export interface HarnessOptions {
  readonly clock: Clock;
  /** Keep only about this many events of history (ring, pruning, or etcd compaction). */
  readonly historySize?: number;
}

export interface ConformanceBackend {
  readonly name: string;
  /** A store with no objects (a fresh database, or a fresh key prefix). */
  open(options: HarnessOptions): Promise<ResourceStore>;
  /** Closes `store` and opens the same data again; only for durable backends. */
  reopen?(store: ResourceStore, options: HarnessOptions): Promise<ResourceStore>;
}

/** 2025-01-02T03:04:05.678Z: timestamps are cut to seconds. */
export const fixedNow = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

export function fakeClock(start = fixedNow): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

export const services: ResourceType = { group: "", resource: "services", namespaced: true };
export const routes: ResourceType = {
  group: "gateway.networking.k8s.io",
  resource: "httproutes",
  namespaced: true,
};
export const meshConfigs: ResourceType = {
  group: "meshplane.dev",
  resource: "meshconfigs",
  namespaced: false,
};

export function service(
  name: string,
  namespace = "default",
  labels?: Record<string, string>,
  extra: Partial<KubeObject> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { ports: [{ port: 80 }] },
    ...extra,
  };
}

export function route(name: string, namespace = "default"): KubeObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace },
    spec: { parentRefs: [{ name: "web", kind: "Service", group: "" }] },
  };
}

export function meshConfig(name: string): KubeObject {
  return { apiVersion: "meshplane.dev/v1alpha1", kind: "MeshConfig", metadata: { name }, spec: {} };
}

/** Opens a store, runs `body`, always closes. */
export async function withStore(
  backend: ConformanceBackend,
  body: (store: ResourceStore, clock: ReturnType<typeof fakeClock>) => Promise<void>,
  options: { historySize?: number } = {},
): Promise<void> {
  const clock = fakeClock();
  const store = await backend.open({ clock, ...options });
  try {
    await body(store, clock);
  } finally {
    await store.close();
  }
}

export async function rejectsWith(
  promise: Promise<unknown>,
  code: StoreErrorCode,
  message?: RegExp | string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isStoreError(error), `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  });
}

/** The next event, or a failure after `ms`. */
export async function nextEvent(watch: Watch, ms = 3000): Promise<WatchEvent> {
  const iterator = watch[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([iterator.next(), timeout]);
    assert.ok(!result.done, "the watch ended");
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** `TYPE name@rv` summaries of the next `n` events. */
export async function take(watch: Watch, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(summary(await nextEvent(watch)));
  return out;
}

export function summary(event: WatchEvent): string {
  return `${event.type} ${event.object.metadata.name ?? "?"}@${event.object.metadata.resourceVersion ?? "?"}`;
}

export function rv(object: KubeObject): number {
  return Number(object.metadata.resourceVersion);
}

/**
 * Proves that nothing else is queued on `watch`: writes a marker object the watch sees and checks
 * that it is the next event (deterministic, unlike waiting for silence).
 */
export async function expectNothingBefore(watch: Watch, write: () => Promise<KubeObject>): Promise<void> {
  const marker = await write();
  const event = await nextEvent(watch);
  assert.equal(
    summary(event),
    `ADDED ${marker.metadata.name ?? "?"}@${marker.metadata.resourceVersion ?? "?"}`,
  );
}
