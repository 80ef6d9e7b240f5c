// Writes the config directory into the resource store (GitOps): objects in the directory are
// created or updated, and objects this writer created earlier that left the directory are
// deleted. Objects written by anyone else (kubectl, controllers) are never pruned.
import { storedKind, type Resource } from "../api/index.ts";
import { isStoreError, type KubeObject, type ResourceStore, type ResourceType } from "../store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import type { ConfigState } from "./config-source.ts";

/** Marks objects owned by the config directory, so pruning touches only those. */
export const managedByLabel = "app.kubernetes.io/managed-by";
export const managedByValue = "meshplane-config-dir";

export interface SyncResult {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  readonly failed: readonly { readonly object: string; readonly message: string }[];
}

export class ConfigDirSync {
  private readonly store: ResourceStore;
  private readonly logger: Logger;
  private running: Promise<unknown> = Promise.resolve();

  constructor(options: { store: ResourceStore; logger: Logger }) {
    this.store = options.store;
    this.logger = options.logger;
  }

  /** Applies `state` to the store; calls are serialised so syncs never interleave. */
  sync(state: ConfigState): Promise<SyncResult> {
    const run = this.running.then(() => this.apply(state.resources));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async apply(resources: readonly Resource[]): Promise<SyncResult> {
    let created = 0;
    let updated = 0;
    let deleted = 0;
    const failed: { object: string; message: string }[] = [];
    const wanted = new Set<string>();
    for (const resource of resources) {
      const type = typeOf(resource.kind);
      const key = { namespace: resource.metadata.namespace, name: resource.metadata.name };
      wanted.add(`${resource.kind}/${key.namespace}/${key.name}`);
      const desired = owned(resource);
      try {
        const current = await this.store
          .get(type, key)
          .catch((e: unknown) => (isStoreError(e, "NotFound") ? undefined : Promise.reject(e)));
        if (!current) {
          await this.store.create(type, desired);
          created++;
        } else if (differs(current, desired)) {
          const metadata = {
            ...current.metadata,
            labels: desired.metadata.labels,
            annotations: desired.metadata.annotations,
          };
          await this.store.update(type, { ...desired, metadata });
          updated++;
        }
      } catch (error) {
        failed.push({
          object: `${resource.kind} ${key.namespace}/${key.name}`,
          message: (error as Error).message,
        });
      }
    }
    for (const kind of ["Service", "EndpointSlice", "HTTPRoute", "GRPCRoute"]) {
      const type = typeOf(kind);
      const { items } = await this.store.list(type, { labelSelector: `${managedByLabel}=${managedByValue}` });
      for (const item of items) {
        if (wanted.has(`${kind}/${item.metadata.namespace}/${item.metadata.name}`)) continue;
        try {
          await this.store.delete(type, {
            namespace: item.metadata.namespace,
            name: item.metadata.name as string,
          });
          deleted++;
        } catch (error) {
          if (!isStoreError(error, "NotFound"))
            failed.push({
              object: `${kind} ${item.metadata.namespace}/${item.metadata.name}`,
              message: (error as Error).message,
            });
        }
      }
    }
    const result = { created, updated, deleted, failed };
    if (created || updated || deleted || failed.length)
      this.logger.info(result, "config directory synced to the store");
    for (const failure of failed)
      this.logger.warn(failure, "config directory object not written to the store");
    return result;
  }
}

function typeOf(kind: string): ResourceType {
  const stored = storedKind(kind);
  if (!stored) throw new Error(`no storage for kind ${kind}`);
  return { group: stored.group, resource: stored.resource, namespaced: stored.namespaced };
}

function owned(resource: Resource): KubeObject {
  const {
    uid: _uid,
    resourceVersion: _rv,
    generation: _gen,
    creationTimestamp: _ts,
    ...metadata
  } = resource.metadata;
  return {
    ...(structuredClone(resource) as unknown as KubeObject),
    metadata: { ...metadata, labels: { ...metadata.labels, [managedByLabel]: managedByValue } },
  };
}

/** Whether the stored object differs from the directory's in anything the directory sets. */
function differs(current: KubeObject, desired: KubeObject): boolean {
  const strip = ({ metadata, status: _status, ...rest }: KubeObject) => ({
    rest,
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
  });
  return JSON.stringify(canonical(strip(current))) !== JSON.stringify(canonical(strip(desired)));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
