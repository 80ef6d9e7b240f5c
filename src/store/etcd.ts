// The etcd backend (etcd v3 API through the `etcd3` client), for several replicas sharing one
// store. resourceVersion is the key's mod_revision (etcd's revision is global and monotonic);
// writes are transactions that compare the revision read (create: Create == 0; update, delete:
// Mod == the revision read); lists and later pages read at one revision; watches are etcd watches
// from a revision, with the previous value for selector transitions. A compacted revision is an
// Expired error. Keys: <prefix>/<group or "core">/<resource>/[<namespace>/]<name>.
import { Etcd3, type IKeyValue, type IOptions, type IRangeResponse } from "etcd3";
import { attachEtcdWatcher, compactedAt, decodeKv, isCompacted, wrap } from "./etcd-watch.ts";
import {
  alreadyExists,
  conflict,
  continueExpired,
  expired,
  isStoreError,
  notFound,
  unavailable,
} from "./errors.ts";
import {
  checkKey,
  checkNamespaceOption,
  checkType,
  deepFreeze,
  namespaceRange,
  normalizeInput,
  objectKey,
  parseResourceVersion,
  planDelete,
  planStatusUpdate,
  planUpdate,
  prepareCreate,
  withResourceVersion,
  type WritePlan,
} from "./objects.ts";
import { after, checkLimit, decodeContinue, encodeContinue, takePage } from "./paging.ts";
import { compileFilter } from "./selectors.ts";
import type {
  Clock,
  DeleteOptions,
  DeleteResult,
  KubeObject,
  ListOptions,
  ListResult,
  ObjectKey,
  ResourceStore,
  ResourceType,
  StoreLogger,
  Watch,
  WatchOptions,
} from "./types.ts";
import { systemClock } from "./types.ts";
import { WatchStream } from "./watch.ts";

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  readonly hosts: string | string[];
  /** Key prefix of everything this store writes. Default `/meshplane`. */
  readonly prefix?: string;
  readonly clock?: Clock;
  readonly logger?: StoreLogger;
  /**
   * Compact etcd's history to `retainRevisions` behind the newest write (like the apiserver's
   * periodic compaction). Leave unset when etcd compacts itself (--auto-compaction-*).
   */
  readonly compaction?: { readonly retainRevisions: number };
  /** See LocalStoreOptions.maxPendingEvents. */
  readonly maxPendingEvents?: number;
  /** Milliseconds to wait for etcd when opening. Default 5,000. */
  readonly dialTimeoutMs?: number;
  /** Deadline of each request (not of watches); past it the operation fails Unavailable. Default 10,000. */
  readonly requestTimeoutMs?: number;
}

/** Rounds of read-compare-write before a write that keeps losing races gives up with Conflict. */
const maxWriteAttempts = 16;
/** Keys read per request while paging with selectors. */
const minBatch = 100;

/** Connects and checks that etcd answers; Unavailable otherwise. */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<ResourceStore> {
  const dialTimeout = options.dialTimeoutMs ?? 5000;
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const client = new Etcd3({
    hosts: options.hosts,
    dialTimeout,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeout }),
    faultHandling: { watchBackoff: watchBackoff(100) },
  });
  const store = new EtcdStore(client, options);
  try {
    await withTimeout(store.currentResourceVersion(), dialTimeout, "etcd did not answer");
  } catch (error) {
    client.close();
    throw isStoreError(error) ? error : unavailable(`etcd: ${String(error)}`, error);
  }
  return store;
}

type Backoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

/**
 * Watch reconnects back off from 100 ms to at most 2 s (the client's default grows to 30 s), so
 * watches resume from their last revision soon after etcd is back.
 */
function watchBackoff(duration: number): Backoff {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, 2000)) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class EtcdStore implements ResourceStore {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly logger: StoreLogger | undefined;
  private readonly retain: number | undefined;
  private readonly maxPending: number;
  private readonly streams = new Set<WatchStream>();
  private lastCompacted = 0;
  private closed = false;

  constructor(client: Etcd3, options: EtcdStoreOptions) {
    this.client = client;
    this.prefix = (options.prefix ?? "/meshplane").replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.retain = options.compaction?.retainRevisions;
    this.maxPending = options.maxPendingEvents ?? 10_000;
  }

  private typePrefix(type: ResourceType): string {
    return `${this.prefix}/${type.group === "" ? "core" : type.group}/${type.resource}/`;
  }

  private encode(object: KubeObject): string {
    const { resourceVersion: _rv, ...metadata } = object.metadata;
    return JSON.stringify({ ...object, metadata });
  }

  async get(type: ResourceType, key: ObjectKey): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    checkKey(type, key);
    const kv = await this.read(this.typePrefix(type) + objectKey(type, key));
    if (!kv) throw notFound(type, key.name);
    return decodeKv(kv);
  }

  private async read(key: string): Promise<IKeyValue | undefined> {
    try {
      return (await this.client.get(key).exec()).kvs[0];
    } catch (error) {
      throw wrap(error);
    }
  }

  private async range(
    start: string,
    end: string,
    rv: number | undefined,
    limit: number | undefined,
  ): Promise<IRangeResponse> {
    let builder = this.client.getAll().inRange({ start, end });
    if (rv !== undefined) builder = builder.revision(String(rv));
    if (limit !== undefined) builder = builder.limit(limit);
    try {
      return await builder.exec();
    } catch (error) {
      throw isCompacted(error) ? continueExpired() : wrap(error);
    }
  }

  async list(type: ResourceType, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    checkType(type);
    checkNamespaceOption(type, options.namespace);
    const filter = compileFilter(options);
    const limit = checkLimit(options.limit);
    const prefix = this.typePrefix(type);
    const range = namespaceRange(options.namespace);
    const end = range.end === undefined ? prefixEnd(prefix) : prefix + range.end;
    let start = prefix + range.start;
    let rv: number | undefined;
    if (options.continue) {
      const token = decodeContinue(options.continue);
      rv = token.rv;
      if (prefix + after(token.start) > start) start = prefix + after(token.start);
    }
    const batch = limit === undefined ? undefined : Math.max(limit + 1, minBatch);
    const items: { key: string; value: KubeObject }[] = [];
    let matched = 0;
    for (;;) {
      const response = await this.range(start, end, rv, batch);
      rv ??= Number(response.header.revision);
      for (const kv of response.kvs) {
        const value = decodeKv(kv);
        items.push({ key: kv.key.toString("utf8").slice(prefix.length), value });
        if (filter.matches(value)) matched++;
      }
      const last = response.kvs.at(-1);
      if (!response.more || last === undefined || (limit !== undefined && matched > limit)) break;
      start = after(last.key.toString("utf8"));
    }
    const page = takePage(items, (o) => filter.matches(o), limit);
    const result: ListResult = { items: page.values, resourceVersion: String(rv) };
    return page.more && page.lastKey !== undefined
      ? { ...result, continue: encodeContinue({ rv, start: page.lastKey }) }
      : result;
  }

  async create(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    const object = prepareCreate(type, input, this.clock.now());
    const key = this.typePrefix(type) + objectKey(type, object.metadata as ObjectKey);
    let rv: number;
    try {
      const response = await this.client
        .if(key, "Create", "==", 0)
        .then(this.client.put(key).value(this.encode(object)))
        .commit();
      if (!response.succeeded) throw alreadyExists(type, object.metadata.name ?? "");
      rv = Number(response.header.revision);
    } catch (error) {
      throw wrap(error);
    }
    await this.maybeCompact(rv);
    return withResourceVersion(object, rv);
  }

  async update(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    const object = normalizeInput(type, input, false);
    const result = await this.guaranteedWrite(type, object.metadata as ObjectKey, (current) =>
      planUpdate(type, current, object),
    );
    return result.object;
  }

  async updateStatus(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    const object = normalizeInput(type, input, false);
    const result = await this.guaranteedWrite(type, object.metadata as ObjectKey, (current) =>
      planStatusUpdate(type, current, object),
    );
    return result.object;
  }

  async delete(type: ResourceType, ref: ObjectKey, options: DeleteOptions = {}): Promise<DeleteResult> {
    this.checkOpen();
    checkType(type);
    checkKey(type, ref);
    return this.guaranteedWrite(type, ref, (current) => planDelete(type, current, options, this.clock.now()));
  }

  /**
   * Read, plan, then write only if the key's mod_revision is still the one read; on a lost race,
   * plan again against the newer state (a stale resourceVersion in the request then fails the plan
   * with Conflict, an unconditional update applies on top).
   */
  private async guaranteedWrite(
    type: ResourceType,
    ref: ObjectKey,
    plan: (current: KubeObject) => WritePlan,
  ): Promise<DeleteResult> {
    const key = this.typePrefix(type) + objectKey(type, ref);
    for (let attempt = 0; attempt < maxWriteAttempts; attempt++) {
      const kv = await this.read(key);
      if (!kv) throw notFound(type, ref.name);
      const current = decodeKv(kv);
      const decision = plan(current);
      if (decision.action === "noop") return { object: current, deleted: false };
      const write =
        decision.action === "put"
          ? this.client.put(key).value(this.encode(decision.object))
          : this.client.delete().key(key);
      let response;
      try {
        response = await this.client.if(key, "Mod", "==", kv.mod_revision).then(write).commit();
      } catch (error) {
        throw wrap(error);
      }
      if (!response.succeeded) continue;
      const rv = Number(response.header.revision);
      await this.maybeCompact(rv);
      return decision.action === "put"
        ? { object: withResourceVersion(decision.object, rv), deleted: false }
        : { object: withResourceVersion(current, rv), deleted: true };
    }
    throw conflict(type, ref.name);
  }

  private async maybeCompact(rv: number): Promise<void> {
    if (this.retain === undefined) return;
    const target = rv - this.retain;
    if (
      target <= this.lastCompacted ||
      target - this.lastCompacted < Math.max(1, Math.floor(this.retain / 10))
    ) {
      return;
    }
    try {
      await this.client.kv.compact({ revision: String(target), physical: false });
      this.lastCompacted = target;
    } catch (error) {
      // Another replica compacted further: fine. Anything else only delays compaction.
      if (isCompacted(error)) this.lastCompacted = target;
      else this.logger?.warn({ err: error, revision: target }, "etcd compaction failed");
    }
  }

  async watch(type: ResourceType, options: WatchOptions = {}): Promise<Watch> {
    this.checkOpen();
    checkType(type);
    checkNamespaceOption(type, options.namespace);
    const filter = compileFilter(options);
    const fromRv = parseResourceVersion(options.resourceVersion) ?? 0;
    const prefix = this.typePrefix(type);
    const range = namespaceRange(options.namespace);
    const start = prefix + range.start;
    const end = range.end === undefined ? prefixEnd(prefix) : prefix + range.end;
    const handle: { cancel?: () => void } = {};
    const stream = new WatchStream({
      maxPending: this.maxPending,
      onEnd: () => {
        this.streams.delete(stream);
        handle.cancel?.();
      },
    });
    let startRev = fromRv + 1;
    if (fromRv === 0) {
      const response = await this.range(start, end, undefined, undefined);
      for (const kv of response.kvs) {
        const object = deepFreeze(decodeKv(kv));
        if (filter.matches(object)) stream.pushInitial({ type: "ADDED", object });
      }
      startRev = Number(response.header.revision) + 1;
    } else if (await compactedAt(this.client, `${this.prefix}/`, startRev)) {
      throw expired(String(fromRv));
    }
    this.checkOpen();
    this.streams.add(stream);
    const params = { client: this.client, storePrefix: this.prefix, start, end, startRev, filter, stream };
    handle.cancel = await attachEtcdWatcher({ ...params, logger: this.logger });
    if (!stream.open) handle.cancel();
    return stream;
  }

  async currentResourceVersion(): Promise<string> {
    this.checkOpen();
    try {
      const response = await this.client.get(`${this.prefix}/`).exec();
      return response.header.revision;
    } catch (error) {
      throw wrap(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stream of [...this.streams]) stream.stop();
    this.client.close();
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable("the store is closed");
  }
}

/** The end of the key range that holds every key starting with `prefix` (etcd's prefix end). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
