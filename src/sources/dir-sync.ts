// Writes the config directory into the resource store (GitOps): objects in the directory are
// applied, and objects this writer applied earlier that left the directory are deleted. Objects
// written by anyone else (kubectl, controllers) are never pruned. How objects are written is a
// seam: through the API server (server-side apply with its own field manager, so validation,
// defaults and managedFields are the same as for kubectl), or straight into the store.
//
// The directory is a bulk writer: a single file can hold tens of thousands of objects. They are
// written with a bounded number of writes in flight (each write is its own request and its own
// store transaction: neither the API nor the store has a multi-object transaction, and one
// transaction would block every other writer for the whole apply). An object is written only when
// its content differs from what was last applied, known across restarts from a hash annotation.
// A newer directory state supersedes a sync in progress, and what changed most recently is
// written first, so a route edit made during a long initial sync applies within seconds.
import { createHash } from "node:crypto";
import { storedKinds, type Resource, type StoredKind } from "../api/index.ts";
import { excerpt } from "../limits/index.ts";
import type { KubeObject } from "../store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import type { ConfigError, ConfigState } from "./config-source.ts";

/** Marks objects owned by the config directory, so pruning touches only those. */
export const managedByLabel = "app.kubernetes.io/managed-by";
export const managedByValue = "meshplane-config-dir";
/** The field manager the directory applies as. */
export const fieldManager = "meshplane-config-dir";
/** Hash of the content the directory last applied, so a restart skips objects that did not change. */
export const appliedHashAnnotation = "meshplane.dev/config-dir-hash";

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

export interface ConfigDirSyncOptions {
  readonly writer: ObjectWriter;
  readonly logger: Logger;
  /** Writes in flight at once; default 16. */
  readonly concurrency?: number;
  /** How often a long sync logs its progress; default 5 s. */
  readonly progressEveryMs?: number;
}

/** One object as the directory wants it in the store (built when written, to keep memory small). */
interface Wanted {
  readonly kind: StoredKind;
  readonly resource: Resource;
  readonly hash: string;
}

/** What the store holds of the directory's objects, as far as this writer knows. */
interface Applied {
  readonly kind: StoredKind;
  readonly namespace: string | undefined;
  readonly name: string;
  /** Hash of the content applied; "" when unknown (re-applied). */
  readonly hash: string;
}

type Operation =
  | { readonly ref: string; readonly order: number; readonly apply: Wanted }
  | { readonly ref: string; readonly order: number; readonly remove: Applied };

const failureLogLines = 20;

export class ConfigDirSync {
  readonly #writer: ObjectWriter;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #progressEveryMs: number;
  /** The newest state not yet taken up by a pass, and who waits for it. */
  #pending: ConfigState | undefined;
  /** The state the pass in progress writes. */
  #writing: ConfigState | undefined;
  #waiters: Array<(result: SyncResult) => void> = [];
  #draining = false;
  /** undefined until the first pass has listed the store. */
  #applied: Map<string, Applied> | undefined;
  /** Per object, the content last asked for and the pass that first asked for it (newest first). */
  #asked = new Map<string, { readonly hash: string | null; readonly pass: number }>();
  #passes = 0;
  readonly #namespaces = new Set<string>();
  readonly #failures = new Map<string, ConfigError>();
  /** The serialised, hashed form of each resource, computed once per (immutable) resource. */
  readonly #wanted = new WeakMap<Resource, Wanted>();

  constructor(options: ConfigDirSyncOptions) {
    this.#writer = options.writer;
    this.#logger = options.logger;
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#progressEveryMs = options.progressEveryMs ?? 5000;
  }

  /**
   * Applies `state` to the store. Resolves once the store holds `state` or a newer state given
   * to a later call, which supersedes this one where it has not been written yet.
   */
  sync(state: ConfigState): Promise<SyncResult> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      // The state already being written (given twice) joins its pass rather than restart it.
      if (state === (this.#pending ?? this.#writing)) return;
      this.#pending = state;
      if (!this.#draining) void this.#drain();
    });
  }

  /** Objects the store refused or could not take, as config errors; they are retried on the next sync. */
  errors(): ConfigError[] {
    return [...this.#failures.values()];
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    const total = { created: 0, updated: 0, deleted: 0 };
    try {
      while (this.#pending) {
        const state = this.#pending;
        this.#pending = undefined;
        this.#writing = state;
        const failed = await this.#pass(state.resources, total).finally(() => (this.#writing = undefined));
        if (this.#pending) continue; // superseded: the waiters get the newer state's outcome
        const result = { ...total, failed };
        for (const resolve of this.#waiters.splice(0)) resolve(result);
        Object.assign(total, { created: 0, updated: 0, deleted: 0 });
      }
    } catch (error) {
      // Every write's failure is caught where it happens; this is a bug, not a write failure.
      this.#logger.error({ err: error }, "config directory sync failed");
      const failed = [{ object: "", message: (error as Error).message }];
      for (const resolve of this.#waiters.splice(0)) resolve({ ...total, failed });
    } finally {
      // Cleared before any waiter runs, so a sync() called from a waiter starts a new drain.
      this.#draining = false;
    }
  }

  /**
   * Writes what differs from the store and deletes what left the directory, newest requests
   * first; stops early, between writes, when a newer state is pending.
   */
  async #pass(
    resources: readonly Resource[],
    counts: { created: number; updated: number; deleted: number },
  ): Promise<SyncResult["failed"]> {
    const pass = ++this.#passes;
    const failed: { object: string; message: string }[] = [];
    const applied = (this.#applied ??= await this.#listManaged(failed));
    const wanted = new Map<string, Wanted>();
    for (const resource of resources) {
      wanted.set(
        refOf(resource.kind, resource.metadata.namespace, resource.metadata.name),
        this.#wantedOf(resource),
      );
    }
    const operations: Operation[] = [];
    const asked = new Map<string, { hash: string | null; pass: number }>();
    const order = (ref: string, hash: string | null) => {
      const before = this.#asked.get(ref);
      const since = before?.hash === hash ? before.pass : pass;
      asked.set(ref, { hash, pass: since });
      return since;
    };
    for (const [ref, entry] of wanted) {
      const since = order(ref, entry.hash);
      if (applied.get(ref)?.hash !== entry.hash) operations.push({ ref, order: since, apply: entry });
    }
    for (const [ref, entry] of applied) {
      if (!wanted.has(ref)) operations.push({ ref, order: order(ref, null), remove: entry });
    }
    this.#asked = asked;
    for (const ref of this.#failures.keys()) if (!asked.has(ref)) this.#failures.delete(ref);
    // Newest requests first; within one request, writes before deletes (a rename never leaves a gap).
    operations.sort((a, b) => b.order - a.order || Number("remove" in a) - Number("remove" in b));

    // Namespaces the directory uses are created, never deleted: deleting a namespace would
    // delete everything in it, including objects created with kubectl.
    const namespaces = new Set<string>();
    for (const op of operations)
      if ("apply" in op) namespaces.add(op.apply.resource.metadata.namespace ?? "");
    namespaces.delete("");
    await this.#inFlight(
      [...namespaces].filter((n) => !this.#namespaces.has(n)),
      async (namespace) => {
        try {
          await this.#writer.ensureNamespace(namespace);
          this.#namespaces.add(namespace);
        } catch (error) {
          failed.push({ object: `Namespace ${namespace}`, message: (error as Error).message });
        }
      },
    );

    const started = Date.now();
    let reported = started;
    let done = 0;
    const finished = await this.#inFlight(operations, async (op) => {
      await this.#run(op, applied, counts, failed);
      done++;
      if (Date.now() - reported >= this.#progressEveryMs) {
        reported = Date.now();
        this.#logger.info(
          { written: done, remaining: operations.length - done, elapsedMs: reported - started },
          "config directory sync in progress",
        );
      }
    });
    if (!finished) {
      this.#logger.info(
        { written: done, remaining: operations.length - done },
        "config directory sync superseded by a newer directory state",
      );
      return failed;
    }
    if (counts.created || counts.updated || counts.deleted || failed.length) {
      this.#logger.info(
        { ...counts, failed: failed.length, elapsedMs: Date.now() - started },
        "config directory synced to the store",
      );
    }
    for (const failure of failed.slice(0, failureLogLines))
      this.#logger.warn(failure, "config directory object not written to the store");
    if (failed.length > failureLogLines) {
      this.#logger.warn(
        { more: failed.length - failureLogLines },
        "more config directory objects not written to the store (see /debug/config_errors)",
      );
    }
    return failed;
  }

  async #run(
    op: Operation,
    applied: Map<string, Applied>,
    counts: { created: number; updated: number; deleted: number },
    failed: { object: string; message: string }[],
  ): Promise<void> {
    try {
      if ("apply" in op) {
        const { kind, resource, hash } = op.apply;
        const object = withHash(owned(resource), hash);
        const outcome = await this.#writer.apply(kind, object);
        if (outcome !== "unchanged") counts[outcome]++;
        applied.set(op.ref, {
          kind,
          namespace: object.metadata.namespace,
          name: object.metadata.name!,
          hash,
        });
      } else {
        await this.#writer.delete(op.remove.kind, op.remove.namespace, op.remove.name);
        applied.delete(op.ref);
        counts.deleted++;
      }
      this.#failures.delete(op.ref);
    } catch (error) {
      const message = (error as Error).message;
      failed.push({ object: op.ref, message });
      const verb = "apply" in op ? "written to" : "deleted from";
      this.#failures.set(op.ref, {
        file: "",
        object: op.ref,
        field: "",
        message: `not ${verb} the store: ${excerpt(message, 300)}`,
      });
    }
  }

  /**
   * Runs `work` over `items` with at most `concurrency` calls in flight, starting no new call
   * once a newer state is pending. Resolves true when every item was started.
   */
  async #inFlight<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<boolean> {
    let next = 0;
    const worker = async () => {
      while (next < items.length && !this.#pending) await work(items[next++] as T);
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, items.length) }, worker));
    return next >= items.length;
  }

  #wantedOf(resource: Resource): Wanted {
    let entry = this.#wanted.get(resource);
    if (!entry) {
      const kind = storedKinds.find((k) => k.kind === resource.kind) as StoredKind;
      const hash = createHash("sha256")
        .update(JSON.stringify(owned(resource)))
        .digest("hex")
        .slice(0, 32);
      entry = { kind, resource, hash };
      this.#wanted.set(resource, entry);
    }
    return entry;
  }

  /** Objects in the store carrying the directory's label, with the hash they were applied with. */
  async #listManaged(failed: { object: string; message: string }[]): Promise<Map<string, Applied>> {
    const managed = new Map<string, Applied>();
    for (const kind of storedKinds) {
      try {
        for (const item of await this.#writer.listManaged(kind)) {
          const { namespace, name, annotations } = item.metadata;
          managed.set(refOf(kind.kind, namespace, name), {
            kind,
            namespace,
            name: name as string,
            hash: annotations?.[appliedHashAnnotation] ?? "",
          });
        }
      } catch (error) {
        failed.push({ object: kind.kind, message: `cannot list for pruning: ${(error as Error).message}` });
      }
    }
    return managed;
  }
}

function refOf(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind} ${namespace}/${name}`;
}

function withHash(object: KubeObject, hash: string): KubeObject {
  const annotations = { ...object.metadata.annotations, [appliedHashAnnotation]: hash };
  return { ...object, metadata: { ...object.metadata, annotations } };
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
