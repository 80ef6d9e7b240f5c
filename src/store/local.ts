// The ResourceStore of the in-process backends (memory, sqlite) over a small synchronous engine.
// Every operation runs to completion without yielding, so writes are serialised, the resourceVersion
// is the engine's counter plus one, and a watch registers in the same tick as its initial
// snapshot or history replay: nothing falls between the two.
import { alreadyExists, continueExpired, expired, notFound, unavailable } from "./errors.ts";
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
  typeId,
  withResourceVersion,
  type KeyRange,
  type WritePlan,
} from "./objects.ts";
import { after, checkLimit, decodeContinue, encodeContinue, takePage } from "./paging.ts";
import { compileFilter, type ObjectFilter } from "./selectors.ts";
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
  Watch,
  WatchEventType,
  WatchOptions,
} from "./types.ts";
import { project, WatchStream, type ChangeEvent } from "./watch.ts";

export interface StoredRecord {
  readonly key: string;
  readonly json: string;
}

/** One entry of the event log, as JSON. */
export interface HistoryRecord {
  readonly rv: number;
  readonly key: string;
  readonly type: WatchEventType;
  /** The new state; for DELETED the last state with the deletion's resourceVersion. */
  readonly object: string;
  /** The state before (MODIFIED, DELETED); null for ADDED. */
  readonly prev: string | null;
}

export interface LocalEngine {
  /** The newest resourceVersion; the next write gets this plus one. */
  currentRv(): number;
  /** Events after this resourceVersion are all retained; older ones may be gone. */
  compactedRv(): number;
  get(typeId: string, key: string): string | undefined;
  /** Objects of a type with keys in `range`, ascending by key. */
  scan(typeId: string, range: KeyRange): Iterable<StoredRecord>;
  /** Events of a type with keys in `range` and resourceVersion > `afterRv`, ascending. */
  history(typeId: string, afterRv: number, range: KeyRange): Iterable<HistoryRecord>;
  /** Atomically stores (or, for DELETED, removes) the object and appends the event. */
  commit(typeId: string, event: HistoryRecord): void;
  close(): void;
}

export interface LocalStoreOptions {
  readonly clock: Clock;
  /** Live events a watcher may fall behind before it loses its watch. Default 10,000. */
  readonly maxPendingEvents?: number;
}

interface Watcher {
  readonly filter: ObjectFilter;
  readonly stream: WatchStream;
  /** Events at or below this resourceVersion were asked not to be delivered. */
  readonly minRv: number;
}

export class LocalStore implements ResourceStore {
  private readonly engine: LocalEngine;
  private readonly clock: Clock;
  private readonly maxPending: number;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private closed = false;

  constructor(engine: LocalEngine, options: LocalStoreOptions) {
    this.engine = engine;
    this.clock = options.clock;
    this.maxPending = options.maxPendingEvents ?? 10_000;
  }

  async get(type: ResourceType, key: ObjectKey): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    checkKey(type, key);
    const json = this.engine.get(typeId(type), objectKey(type, key));
    if (json === undefined) throw notFound(type, key.name);
    return JSON.parse(json) as KubeObject;
  }

  async list(type: ResourceType, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    checkType(type);
    checkNamespaceOption(type, options.namespace);
    const filter = compileFilter(options);
    const limit = checkLimit(options.limit);
    const id = typeId(type);
    const range = namespaceRange(options.namespace);
    let listRv = this.engine.currentRv();
    let items: Iterable<{ key: string; value: KubeObject }>;
    if (options.continue) {
      const token = decodeContinue(options.continue);
      if (token.rv < this.engine.compactedRv()) throw continueExpired();
      listRv = Math.min(token.rv, listRv);
      const start = after(token.start) > range.start ? after(token.start) : range.start;
      items = this.snapshot(id, { start, end: range.end }, listRv);
    } else {
      items = parsed(this.engine.scan(id, range));
    }
    const page = takePage(items, (o) => filter.matches(o), limit);
    const result: ListResult = { items: page.values, resourceVersion: String(listRv) };
    return page.more && page.lastKey !== undefined
      ? { ...result, continue: encodeContinue({ rv: listRv, start: page.lastKey }) }
      : result;
  }

  /** The objects of `range` as they were at `rv`: current state with later changes undone. */
  private *snapshot(id: string, range: KeyRange, rv: number): Iterable<{ key: string; value: KubeObject }> {
    const before = new Map<string, string | null>();
    for (const event of this.engine.history(id, rv, range)) {
      if (!before.has(event.key)) before.set(event.key, event.type === "ADDED" ? null : event.prev);
    }
    const changedKeys = [...before.keys()].sort();
    let i = 0;
    const fromHistory = function* (key: string) {
      const json = before.get(key);
      if (json) yield { key, value: JSON.parse(json) as KubeObject };
    };
    for (const record of this.engine.scan(id, range)) {
      for (; i < changedKeys.length && (changedKeys[i] as string) < record.key; i++) {
        yield* fromHistory(changedKeys[i] as string);
      }
      if (changedKeys[i] === record.key) yield* fromHistory(changedKeys[i++] as string);
      else yield { key: record.key, value: JSON.parse(record.json) as KubeObject };
    }
    for (; i < changedKeys.length; i++) yield* fromHistory(changedKeys[i] as string);
  }

  async create(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    this.checkOpen();
    checkType(type);
    const object = prepareCreate(type, input, this.clock.now());
    const key = objectKey(type, object.metadata as ObjectKey);
    if (this.engine.get(typeId(type), key) !== undefined)
      throw alreadyExists(type, object.metadata.name ?? "");
    return this.put(type, key, object, undefined);
  }

  async update(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    return this.modify(type, input, planUpdate);
  }

  async updateStatus(type: ResourceType, input: KubeObject): Promise<KubeObject> {
    return this.modify(type, input, planStatusUpdate);
  }

  private modify(
    type: ResourceType,
    input: KubeObject,
    plan: (type: ResourceType, current: KubeObject, object: KubeObject) => WritePlan,
  ): KubeObject {
    this.checkOpen();
    checkType(type);
    const object = normalizeInput(type, input, false);
    const { key, current } = this.current(type, object.metadata as ObjectKey);
    const decision = plan(type, current, object);
    if (decision.action === "noop") return current;
    if (decision.action === "delete") return this.remove(type, key, current);
    return this.put(type, key, decision.object, current);
  }

  async delete(type: ResourceType, objectRef: ObjectKey, options: DeleteOptions = {}): Promise<DeleteResult> {
    this.checkOpen();
    checkType(type);
    checkKey(type, objectRef);
    const { key, current } = this.current(type, objectRef);
    const decision = planDelete(type, current, options, this.clock.now());
    if (decision.action === "noop") return { object: current, deleted: false };
    if (decision.action === "delete") return { object: this.remove(type, key, current), deleted: true };
    return { object: this.put(type, key, decision.object, current), deleted: false };
  }

  private current(type: ResourceType, ref: ObjectKey): { key: string; current: KubeObject } {
    const key = objectKey(type, ref);
    const json = this.engine.get(typeId(type), key);
    if (json === undefined) throw notFound(type, ref.name);
    return { key, current: JSON.parse(json) as KubeObject };
  }

  private put(type: ResourceType, key: string, object: KubeObject, prev: KubeObject | undefined): KubeObject {
    const rv = this.engine.currentRv() + 1;
    const stored = withResourceVersion(object, rv);
    const json = JSON.stringify(stored);
    const type_ = prev === undefined ? "ADDED" : "MODIFIED";
    const prevJson = prev === undefined ? null : JSON.stringify(prev);
    this.engine.commit(typeId(type), { rv, key, type: type_, object: json, prev: prevJson });
    this.dispatch(type, { rv, type: type_, object: deepFreeze(stored), prev: deepFreeze(prev) });
    return JSON.parse(json) as KubeObject;
  }

  private remove(type: ResourceType, key: string, current: KubeObject): KubeObject {
    const rv = this.engine.currentRv() + 1;
    const last = withResourceVersion(current, rv);
    const json = JSON.stringify(last);
    this.engine.commit(typeId(type), {
      rv,
      key,
      type: "DELETED",
      object: json,
      prev: JSON.stringify(current),
    });
    this.dispatch(type, { rv, type: "DELETED", object: deepFreeze(last), prev: deepFreeze(current) });
    return JSON.parse(json) as KubeObject;
  }

  private dispatch(type: ResourceType, change: ChangeEvent): void {
    for (const watcher of this.watchers.get(typeId(type)) ?? []) {
      if (change.rv <= watcher.minRv) continue;
      const event = project(watcher.filter, change);
      if (event) watcher.stream.push(event);
    }
  }

  async watch(type: ResourceType, options: WatchOptions = {}): Promise<Watch> {
    this.checkOpen();
    checkType(type);
    checkNamespaceOption(type, options.namespace);
    const filter = compileFilter(options);
    const fromRv = parseResourceVersion(options.resourceVersion) ?? 0;
    const id = typeId(type);
    const range = namespaceRange(options.namespace);
    const watchers = this.watchers.get(id) ?? new Set<Watcher>();
    const stream = new WatchStream({ maxPending: this.maxPending, onEnd: () => watchers.delete(watcher) });
    const watcher: Watcher = { filter, stream, minRv: fromRv };
    if (fromRv === 0) {
      for (const { value } of parsed(this.engine.scan(id, range))) {
        if (filter.matches(value)) stream.pushInitial({ type: "ADDED", object: deepFreeze(value) });
      }
    } else {
      const compacted = this.engine.compactedRv();
      if (fromRv < compacted) throw expired(String(fromRv), compacted);
      for (const record of this.engine.history(id, fromRv, range)) {
        const event = project(filter, toChange(record));
        if (event) stream.pushInitial(event);
      }
    }
    watchers.add(watcher);
    this.watchers.set(id, watchers);
    return stream;
  }

  async currentResourceVersion(): Promise<string> {
    this.checkOpen();
    return String(this.engine.currentRv());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watchers of this.watchers.values()) for (const w of [...watchers]) w.stream.stop();
    this.watchers.clear();
    this.engine.close();
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable("the store is closed");
  }
}

function* parsed(records: Iterable<StoredRecord>): Iterable<{ key: string; value: KubeObject }> {
  for (const record of records) yield { key: record.key, value: JSON.parse(record.json) as KubeObject };
}

export function toChange(record: HistoryRecord): ChangeEvent {
  return {
    rv: record.rv,
    type: record.type,
    object: deepFreeze(JSON.parse(record.object) as KubeObject),
    prev: record.prev === null ? undefined : deepFreeze(JSON.parse(record.prev) as KubeObject),
  };
}
