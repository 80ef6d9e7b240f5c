// A cache of one resource type kept current by list-then-watch (kube-rs watcher/reflector,
// client-go reflector). Recovery: a dropped watch resumes from the last seen resourceVersion; an
// expired one relists and reports objects that vanished meanwhile as deletions. `synced`
// resolves once the first list is in, so consumers never act on a half-loaded cache. The cache is
// indexed (indexed-cache.ts) and updated before listeners hear of a change.
import type { Logger } from "../telemetry/index.ts";
import {
  isStoreError,
  type KubeObject,
  type ResourceStore,
  type ResourceType,
  type Watch,
} from "../store/index.ts";
import { IndexedCache, type IndexFunction } from "./indexed-cache.ts";

/** ADDED and MODIFIED follow the cache: an object the cache did not hold is ADDED. */
export type InformerEvent =
  | { readonly type: "ADDED"; readonly object: KubeObject }
  | { readonly type: "MODIFIED"; readonly object: KubeObject; readonly oldObject: KubeObject }
  | { readonly type: "DELETED"; readonly object: KubeObject };

export interface InformerOptions {
  readonly store: ResourceStore;
  readonly type: ResourceType;
  readonly logger: Logger;
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Named indexes of the cache, queried with `byIndex`. */
  readonly indexers?: Readonly<Record<string, IndexFunction>>;
  /** Backoff after a failed list or watch: starts here, doubles, capped at maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export function objectKey(object: KubeObject): string {
  return object.metadata.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : `${object.metadata.name}`;
}

export class Informer {
  private readonly cache: IndexedCache;
  private readonly listeners: ((event: InformerEvent) => void)[] = [];
  private readonly options: InformerOptions;
  private resourceVersion: string | undefined;
  private watch: Watch | undefined;
  private stopped = false;
  private backoffTimer: NodeJS.Timeout | undefined;
  private markSynced!: () => void;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  private isSynced = false;

  constructor(options: InformerOptions) {
    this.options = options;
    this.cache = new IndexedCache(options.indexers);
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  get hasSynced(): boolean {
    return this.isSynced;
  }

  /** Every cached object; a snapshot, safe to keep. */
  list(): KubeObject[] {
    return this.cache.list();
  }

  /** The cached object with key `namespace/name` (or `name`). */
  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  /** Cached objects filed under `value` in the index `name` (see InformerOptions.indexers). */
  byIndex(name: string, value: string): KubeObject[] {
    return this.cache.byIndex(name, value);
  }

  onEvent(listener: (event: InformerEvent) => void): void {
    this.listeners.push(listener);
  }

  start(): Promise<void> {
    void this.run();
    return this.synced;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.backoffTimer);
    this.watch?.stop();
  }

  private async run(): Promise<void> {
    let backoff = this.options.initialBackoffMs ?? 200;
    // Short enough that a watch resumes within seconds of its store (etcd quorum) coming back.
    const maxBackoff = this.options.maxBackoffMs ?? 5_000;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchFrom(
          this.resourceVersion as string,
          () => (backoff = this.options.initialBackoffMs ?? 200),
        );
        // The watch ended cleanly (server timeout): resume from where it stopped.
      } catch (error) {
        if (this.stopped) return;
        if (isStoreError(error) && error.code === "Expired") {
          this.options.logger.info({ resource: this.options.type.resource }, "watch expired; relisting");
          this.resourceVersion = undefined;
          continue;
        }
        this.options.logger.warn(
          { resource: this.options.type.resource, err: error, retryInMs: backoff },
          "list/watch failed; retrying",
        );
        await new Promise<void>((resolve) => (this.backoffTimer = setTimeout(resolve, backoff)));
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  private async relist(): Promise<void> {
    const { store, type, namespace, labelSelector } = this.options;
    const listed = await store.list(type, {
      ...(namespace ? { namespace } : {}),
      ...(labelSelector ? { labelSelector } : {}),
    });
    const fresh = new Map(listed.items.map((o) => [objectKey(o), o]));
    // Replace the cache in one step, reporting what the relist changed.
    for (const old of this.cache.list()) {
      const key = objectKey(old);
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit({ type: "DELETED", object: old });
      }
    }
    for (const [key, object] of fresh) {
      const old = this.cache.get(key);
      if (old?.metadata.resourceVersion === object.metadata.resourceVersion) continue;
      this.cache.set(key, object);
      this.emit(old ? { type: "MODIFIED", object, oldObject: old } : { type: "ADDED", object });
    }
    this.resourceVersion = listed.resourceVersion;
    if (!this.isSynced) {
      this.isSynced = true;
      this.markSynced();
    }
  }

  private async watchFrom(resourceVersion: string, onProgress: () => void): Promise<void> {
    const { store, type, namespace, labelSelector } = this.options;
    this.watch = await store.watch(type, {
      resourceVersion,
      ...(namespace ? { namespace } : {}),
      ...(labelSelector ? { labelSelector } : {}),
    });
    if (this.stopped) this.watch.stop();
    for await (const event of this.watch) {
      onProgress();
      const key = objectKey(event.object);
      this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
      if (event.type === "DELETED") {
        this.cache.delete(key);
        this.emit({ type: "DELETED", object: event.object });
        continue;
      }
      const old = this.cache.set(key, event.object);
      this.emit(
        old
          ? { type: "MODIFIED", object: event.object, oldObject: old }
          : { type: "ADDED", object: event.object },
      );
    }
  }

  private emit(event: InformerEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
