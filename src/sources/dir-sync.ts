// Writes the config directory into the resource store (GitOps): objects in the directory are
// applied, and objects this writer applied earlier that left the directory are deleted. Objects
// written by anyone else (kubectl, controllers) are never pruned. How objects are written is a
// seam: through the API server (server-side apply with its own field manager, so validation,
// defaults and managedFields are the same as for kubectl), or straight into the store.
import { storedKinds, type Resource, type StoredKind } from "../api/index.ts";
import type { KubeObject } from "../store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import type { ConfigState } from "./config-source.ts";

/** Marks objects owned by the config directory, so pruning touches only those. */
export const managedByLabel = "app.kubernetes.io/managed-by";
export const managedByValue = "meshplane-config-dir";
/** The field manager the directory applies as. */
export const fieldManager = "meshplane-config-dir";

export interface ObjectWriter {
  /** Makes the stored object match `object` (created when missing). */
  apply(kind: StoredKind, object: KubeObject): Promise<"created" | "updated" | "unchanged">;
  /** Objects carrying the directory's label. */
  listManaged(kind: StoredKind): Promise<KubeObject[]>;
  delete(kind: StoredKind, namespace: string | undefined, name: string): Promise<void>;
}

export interface SyncResult {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  readonly failed: readonly { readonly object: string; readonly message: string }[];
}

export class ConfigDirSync {
  private readonly writer: ObjectWriter;
  private readonly logger: Logger;
  private running: Promise<unknown> = Promise.resolve();

  constructor(options: { writer: ObjectWriter; logger: Logger }) {
    this.writer = options.writer;
    this.logger = options.logger;
  }

  /** Applies `state` to the store; calls are serialised so syncs never interleave. */
  sync(state: ConfigState): Promise<SyncResult> {
    const run = this.running.then(() => this.apply(state.resources));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async apply(resources: readonly Resource[]): Promise<SyncResult> {
    const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0 };
    const failed: { object: string; message: string }[] = [];
    const wanted = new Set<string>();
    for (const resource of resources) {
      const kind = storedKinds.find((k) => k.kind === resource.kind) as StoredKind;
      const ref = `${resource.kind} ${resource.metadata.namespace}/${resource.metadata.name}`;
      wanted.add(ref);
      try {
        counts[await this.writer.apply(kind, owned(resource))]++;
      } catch (error) {
        failed.push({ object: ref, message: (error as Error).message });
      }
    }
    for (const kind of storedKinds) {
      try {
        for (const item of await this.writer.listManaged(kind)) {
          const ref = `${kind.kind} ${item.metadata.namespace}/${item.metadata.name}`;
          if (wanted.has(ref)) continue;
          try {
            await this.writer.delete(kind, item.metadata.namespace, item.metadata.name as string);
            counts.deleted++;
          } catch (error) {
            failed.push({ object: ref, message: (error as Error).message });
          }
        }
      } catch (error) {
        failed.push({ object: kind.kind, message: `cannot list for pruning: ${(error as Error).message}` });
      }
    }
    const result = { created: counts.created, updated: counts.updated, deleted: counts.deleted, failed };
    if (counts.created || counts.updated || counts.deleted || failed.length) {
      this.logger.info(result, "config directory synced to the store");
    }
    for (const failure of failed)
      this.logger.warn(failure, "config directory object not written to the store");
    return result;
  }
}

/** The directory's object as applied: its own content plus the ownership label. */
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
