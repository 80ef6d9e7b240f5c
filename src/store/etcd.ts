// The etcd backend (etcd v3 API through the `etcd3` client), for several replicas sharing one
// store. resourceVersion is the key's mod_revision (etcd's revision is global and monotonic);
// writes are transactions that compare the revision read (create: Create == 0; update, delete:
// Mod == the revision read); lists and later pages read at one revision; watches are etcd watches
// from a revision, with the previous value for selector transitions. A compacted revision is an
// Expired error. Keys: <prefix>/<group or "core">/<resource>/[<namespace>/]<name>.
//
// Faults (several members): every request goes to a member picked at random, another one on a
// transport failure; a member that keeps failing is skipped for a second. Requests ask etcd to
// refuse them without a leader (`hasleader`) instead of queueing, so: writes wait out a leader
// election and fail Unavailable (NoQuorum) when none comes within the request bound; reads that
// cannot be linearized fall back to a member's local state (serializable), i.e. the last state
// it applied; watches resume on another member from the revision after the last event delivered.
// Every operation is bounded by `requestTimeoutMs`. A write resolves only after etcd committed it.
import type { Etcd3, IKeyValue, IRangeResponse, ITxnResponse } from "etcd3";
import { createEtcdClient } from "./etcd-client.ts";
import { ownWriteRevision, refusedWrite, timedOut, withTimeout } from "./etcd-outcomes.ts";
import {
  attachEtcdWatcher,
  compactedAt,
  decodeKv,
  isCompacted,
  isDeadlineExceeded,
  isNoLeader,
  wrap,
} from "./etcd-watch.ts";
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
  /**
   * Bound of each operation (a write with its leader wait, a read with its fallback, opening a
   * watch); past it the operation fails Unavailable. Default 4,000.
   */
  readonly requestTimeoutMs?: number;
}

/** Rounds of read-compare-write before a write that keeps losing races gives up with Conflict. */
const maxWriteAttempts = 16;
/** Keys read per request while paging with selectors. */
const minBatch = 100;

/** Connects and checks that etcd answers; Unavailable otherwise. */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<ResourceStore> {
  const dialTimeout = options.dialTimeoutMs ?? 5000;
  const requestTimeout = options.requestTimeoutMs ?? 4000;
  const client = createEtcdClient(options.hosts, requestTimeout);
  const store = new EtcdStore(client, { ...options, requestTimeoutMs: requestTimeout });
  try {
    await withTimeout(store.currentResourceVersion(), dialTimeout, "etcd did not answer");
  } catch (error) {
    client.close();
    throw isStoreError(error) ? error : unavailable(`etcd: ${String(error)}`, error);
  }
  return store;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pause between write attempts while etcd elects a leader. */
const leaderPollMs = 150;

class EtcdStore implements ResourceStore {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly logger: StoreLogger | undefined;
  private readonly retain: number | undefined;
  private readonly maxPending: number;
  private readonly requestTimeout: number;
  /** Bound of one attempt of a write: a third of the request bound. */
  private readonly attemptMs: number;
  /**
   * How long a linearizable read may take before the member's local state is read instead: short,
   * since a request often reads before it writes and both bounds add up.
   */
  private readonly linearizableReadMs: number;
  private readonly streams = new Set<WatchStream>();
  private lastCompacted = 0;
  private closed = false;
  /** Reads are served from a member's local state because linearizable ones fail. */
  private degraded = false;

  constructor(client: Etcd3, options: EtcdStoreOptions) {
    this.client = client;
    this.prefix = (options.prefix ?? "/meshplane").replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.retain = options.compaction?.retainRevisions;
    this.maxPending = options.maxPendingEvents ?? 10_000;
    this.requestTimeout = options.requestTimeoutMs ?? 4000;
    this.attemptMs = Math.ceil(this.requestTimeout / 3);
    this.linearizableReadMs = Math.min(500, Math.ceil(this.requestTimeout / 4));
  }

  private typePrefix(type: ResourceType): string {
    return `${this.prefix}/${type.group === "" ? "core" : type.group}/${type.resource}/`;
  }

  private encode(object: KubeObject): string {
    const { resourceVersion: _rv, ...metadata } = object.metadata;
    return JSON.stringify({ ...object, metadata });
  }

  /**
   * Runs one operation within the request bound. `run` gets the deadline so that loops inside it
   * can stop with their own, more telling error first.
   */
  private async bounded<T>(kind: "read" | "write", run: (deadline: number) => Promise<T>): Promise<T> {
    this.checkOpen();
    const ms = this.requestTimeout;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut(kind, ms)), ms);
    });
    try {
      return await Promise.race([
        run(Date.now() + ms).catch((error: unknown) => {
          throw kind === "write" ? refusedWrite(wrap(error)) : wrap(error);
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A read, linearizable while etcd has a leader; otherwise (no leader, no answer within
   * `linearizableReadMs`) from the local state of a member that answers: the last state it applied.
   */
  private async consistentRead<T>(read: (serializable: boolean, deadline: number) => Promise<T>): Promise<T> {
    try {
      const value = await read(false, Date.now() + this.linearizableReadMs);
      if (this.degraded) {
        this.degraded = false;
        this.logger?.warn({}, "etcd answers linearizable reads again");
      }
      return value;
    } catch (error) {
      const wrapped = wrap(error);
      if (wrapped.code !== "Unavailable") throw wrapped;
      const value = await read(true, Date.now() + this.requestTimeout);
      if (!this.degraded) {
        this.degraded = true;
        this.logger?.warn(
          { err: wrapped },
          "etcd cannot serve linearizable reads: serving a member's last applied state",
        );
      }
      return value;
    }
  }

  /**
   * Runs a write transaction until `deadline`, each attempt bounded by a third of the request
   * bound, and tries again while etcd elects a leader: "no leader", or no answer because the
   * member still forwards to a leader that died. Trying again is safe: every transaction compares
   * a revision, and a write whose earlier attempt landed is recognised (see create, ownWriteRevision).
   */
  private async commit(
    txn: (attemptDeadline: number) => Promise<ITxnResponse>,
    deadline: number,
  ): Promise<ITxnResponse> {
    for (;;) {
      try {
        return await txn(Math.min(deadline, Date.now() + this.attemptMs));
      } catch (error) {
        const electing = isNoLeader(error) || isDeadlineExceeded(error);
        if (!electing || Date.now() + leaderPollMs >= deadline) {
          throw isDeadlineExceeded(error) ? timedOut("write", this.requestTimeout) : wrap(error);
        }
        if (isNoLeader(error)) await sleep(leaderPollMs);
      }
    }
  }

  async get(type: ResourceType, key: ObjectKey): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    checkKey(type, key);
    const kv = await this.bounded("read", () => this.read(this.typePrefix(type) + objectKey(type, key)));
    if (!kv) throw notFound(type, key.name);
    return decodeKv(kv);
  }

  private async read(key: string): Promise<IKeyValue | undefined> {
    const response = await this.consistentRead((serializable, deadline) =>
      this.client.get(key).serializable(serializable).options({ deadline }).exec(),
    );
    return response.kvs[0];
  }

  private range(
    start: string,
    end: string,
    rv: number | undefined,
    limit: number | undefined,
  ): Promise<IRangeResponse> {
    return this.consistentRead(async (serializable, deadline) => {
      let builder = this.client.getAll().inRange({ start, end }).serializable(serializable);
      if (rv !== undefined) builder = builder.revision(String(rv));
      if (limit !== undefined) builder = builder.limit(limit);
      try {
        return await builder.options({ deadline }).exec();
      } catch (error) {
        throw isCompacted(error) ? continueExpired() : wrap(error);
      }
    });
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
    const readRv = await this.bounded("read", async () => {
      let at = rv;
      for (;;) {
        const response = await this.range(start, end, at, batch);
        at ??= Number(response.header.revision);
        for (const kv of response.kvs) {
          const value = decodeKv(kv);
          items.push({ key: kv.key.toString("utf8").slice(prefix.length), value });
          if (filter.matches(value)) matched++;
        }
        const last = response.kvs.at(-1);
        if (!response.more || last === undefined || (limit !== undefined && matched > limit)) return at;
        start = after(last.key.toString("utf8"));
      }
    });
    const page = takePage(items, (o) => filter.matches(o), limit);
    const result: ListResult = { items: page.values, resourceVersion: String(readRv) };
    return page.more && page.lastKey !== undefined
      ? { ...result, continue: encodeContinue({ rv: readRv, start: page.lastKey }) }
      : result;
  }

  async create(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    const object = prepareCreate(type, input, this.clock.now());
    const key = this.typePrefix(type) + objectKey(type, object.metadata as ObjectKey);
    const rv = await this.bounded("write", async (deadline) => {
      const response = await this.commit(
        (attemptDeadline) =>
          this.client
            .if(key, "Create", "==", 0)
            .then(this.client.put(key).value(this.encode(object)))
            .else(this.client.get(key))
            .options({ deadline: attemptDeadline })
            .commit(),
        deadline,
      );
      if (response.succeeded) return Number(response.header.revision);
      // The client retries a request whose answer was lost (a member died): the object found may
      // be the one this create wrote, recognisable by its uid.
      const existing = response.responses[0]?.response_range?.kvs[0];
      if (existing && decodeKv(existing).metadata.uid === object.metadata.uid)
        return Number(existing.mod_revision);
      throw alreadyExists(type, object.metadata.name ?? "");
    });
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
    const result = await this.bounded("write", async (deadline) => {
      for (let attempt = 0; attempt < maxWriteAttempts; attempt++) {
        const kv = await this.read(key);
        if (!kv) throw notFound(type, ref.name);
        const current = decodeKv(kv);
        const decision = plan(current);
        if (decision.action === "noop") return { rv: undefined, object: current, deleted: false };
        const value = decision.action === "put" ? this.encode(decision.object) : undefined;
        const response = await this.commit(
          (attemptDeadline) =>
            this.client
              .if(key, "Mod", "==", kv.mod_revision)
              .then(value === undefined ? this.client.delete().key(key) : this.client.put(key).value(value))
              .else(this.client.get(key))
              .options({ deadline: attemptDeadline })
              .commit(),
          deadline,
        );
        const landed = response.succeeded
          ? Number(response.header.revision)
          : ownWriteRevision(response, kv, value);
        if (landed === undefined) continue;
        return decision.action === "put"
          ? { rv: landed, object: withResourceVersion(decision.object, landed), deleted: false }
          : { rv: landed, object: withResourceVersion(current, landed), deleted: true };
      }
      throw conflict(type, ref.name);
    });
    if (result.rv !== undefined) await this.maybeCompact(result.rv);
    return { object: result.object, deleted: result.deleted };
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
      const response = await this.bounded("read", () => this.range(start, end, undefined, undefined));
      for (const kv of response.kvs) {
        const object = deepFreeze(decodeKv(kv));
        if (filter.matches(object)) stream.pushInitial({ type: "ADDED", object });
      }
      startRev = Number(response.header.revision) + 1;
    } else if (await this.bounded("read", () => compactedAt(this.client, `${this.prefix}/`, startRev))) {
      throw expired(String(fromRv));
    }
    this.checkOpen();
    this.streams.add(stream);
    const params = { client: this.client, storePrefix: this.prefix, start, end, startRev, filter, stream };
    handle.cancel = await attachEtcdWatcher({
      ...params,
      connectTimeoutMs: this.requestTimeout,
      logger: this.logger,
    });
    if (!stream.open) handle.cancel();
    return stream;
  }

  async currentResourceVersion(): Promise<string> {
    const response = await this.bounded("read", () =>
      this.consistentRead((serializable, deadline) =>
        this.client.get(`${this.prefix}/`).serializable(serializable).options({ deadline }).exec(),
      ),
    );
    return response.header.revision;
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
