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
  /** Creates the namespace if it does not exist. */
  ensureNamespace(name: string): Promise<void>;
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
  /** What was applied, by object; undefined until the first sync has reconciled with the store. */
  private applied: Map<string, Applied> | undefined;
  private readonly namespaces = new Set<string>();

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

  /**
   * Writes what changed since the last sync and deletes what left the directory. The first sync
   * also lists the store, to prune objects a previous run applied that are gone from the directory.
   */
  private async apply(resources: readonly Resource[]): Promise<SyncResult> {
    const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0 };
    const failed: { object: string; message: string }[] = [];
    const previous = this.applied ?? (await this.listManaged(failed));
    const applied = new Map<string, Applied>();
    const wanted = new Set<string>();
    // Namespaces the directory uses are created, never deleted: deleting a namespace would
    // delete everything in it, including objects created with kubectl.
    for (const namespace of new Set(resources.map((r) => r.metadata.namespace ?? "default"))) {
      if (this.namespaces.has(namespace)) continue;
      try {
        await this.writer.ensureNamespace(namespace);
        this.namespaces.add(namespace);
      } catch (error) {
        failed.push({ object: `Namespace ${namespace}`, message: (error as Error).message });
      }
    }
    for (const resource of resources) {
      const kind = storedKinds.find((k) => k.kind === resource.kind) as StoredKind;
      const object = owned(resource);
      const ref = `${resource.kind} ${object.metadata.namespace}/${object.metadata.name}`;
      wanted.add(ref);
      const entry = {
        kind,
        namespace: object.metadata.namespace,
        name: object.metadata.name as string,
        content: JSON.stringify(object),
      };
      if (previous.get(ref)?.content === entry.content) {
        applied.set(ref, entry);
        counts.unchanged++;
        continue;
      }
      try {
        counts[await this.writer.apply(kind, object)]++;
        applied.set(ref, entry);
      } catch (error) {
        failed.push({ object: ref, message: (error as Error).message });
      }
    }
    for (const [ref, entry] of previous) {
      if (applied.has(ref) || wanted.has(ref)) continue;
      try {
        await this.writer.delete(entry.kind, entry.namespace, entry.name);
        counts.deleted++;
      } catch (error) {
        failed.push({ object: ref, message: (error as Error).message });
        applied.set(ref, entry);
      }
    }
    this.applied = applied;
    const result = { created: counts.created, updated: counts.updated, deleted: counts.deleted, failed };
    if (counts.created || counts.updated || counts.deleted || failed.length) {
      this.logger.info(result, "config directory synced to the store");
    }
    for (const failure of failed)
      this.logger.warn(failure, "config directory object not written to the store");
    return result;
  }

  /** Objects in the store carrying the directory's label, with unknown content (so re-applied). */
  private async listManaged(failed: { object: string; message: string }[]): Promise<Map<string, Applied>> {
    const managed = new Map<string, Applied>();
    for (const kind of storedKinds) {
      try {
        for (const item of await this.writer.listManaged(kind)) {
          const name = item.metadata.name as string;
          managed.set(`${kind.kind} ${item.metadata.namespace}/${name}`, {
            kind,
            namespace: item.metadata.namespace,
            name,
            content: "",
          });
        }
      } catch (error) {
        failed.push({ object: kind.kind, message: `cannot list for pruning: ${(error as Error).message}` });
      }
    }
    return managed;
  }
}

interface Applied {
  readonly kind: StoredKind;
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object as applied, serialised; "" when not known. */
  readonly content: string;
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
