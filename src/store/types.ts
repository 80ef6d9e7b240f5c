// The storage contract a Kubernetes-compatible API server and controllers sit on. Objects are
// Kubernetes-shaped JSON; every backend (memory, sqlite, etcd) gives the same semantics, checked by
// one conformance suite (conformance.ts). Semantics follow the upstream generic registry
// (apiserver/pkg/registry/generic/registry/store.go) and watch cache; see spec-notes §1.7 and §1.9.

/**
 * A resource type: one storage version per group/resource. `group` is "" for the core group
 * (Service), `resource` is the lower-case plural (`services`, `httproutes`). A caller must use the
 * same `namespaced` flag for a group/resource every time.
 */
export interface ResourceType {
  readonly group: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

/** JSON as stored: the result of JSON.parse. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Metadata the store reads or manages; anything else (ownerReferences, managedFields) is kept as given. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [field: string]: unknown;
}

/** A Kubernetes-shaped object: `apiVersion`, `kind`, `metadata` and the rest (`spec`, `status`...). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Identifies one object of a type; `namespace` only for namespaced types. */
export interface ObjectKey {
  readonly namespace?: string | undefined;
  readonly name: string;
}

export interface ListOptions {
  /** Only this namespace; all namespaces when absent. Not allowed for cluster-scoped types. */
  readonly namespace?: string | undefined;
  /** `a=b,c!=d,e in (x,y),f notin (z),g,!h` (labels.Parse syntax). */
  readonly labelSelector?: string | undefined;
  /** `metadata.name=x`, `metadata.namespace!=y` (`=`, `==`, `!=`), comma-separated. */
  readonly fieldSelector?: string | undefined;
  /** Page size; the reply carries `continue` when more items match. */
  readonly limit?: number | undefined;
  /** Token from a previous page: the next page of the same list, as of that list's resourceVersion. */
  readonly continue?: string | undefined;
}

export interface ListResult {
  /** Items in key order (`namespace/name`, or `name`, compared as bytes), each with its own resourceVersion. */
  readonly items: KubeObject[];
  /** The revision the list was read at: start a watch from here to miss nothing. */
  readonly resourceVersion: string;
  /** Present when there may be more items: pass it back as `continue`. */
  readonly continue?: string;
}

export interface DeleteOptions {
  /** Delete only if the stored object still has this uid / resourceVersion, else Conflict. */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

export interface DeleteResult {
  /**
   * When `deleted`: the last stored state with the deletion's resourceVersion (what the DELETED event
   * carries). Otherwise the object now marked for deletion (finalizers pending).
   */
  readonly object: KubeObject;
  readonly deleted: boolean;
}

export interface WatchOptions {
  readonly namespace?: string | undefined;
  /**
   * Unset or "0": synthetic ADDED for every matching object, then live events. "N": every event
   * after N, in order, or an Expired error when N is older than the retained history.
   */
  readonly resourceVersion?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent {
  readonly type: WatchEventType;
  /**
   * The object at the event's resourceVersion. For DELETED (including "stopped matching the
   * selectors") the last state before the change, with the event's resourceVersion. Deep-frozen and
   * shared between watchers: copy before changing it.
   */
  readonly object: KubeObject;
}

/**
 * A running watch. Iterate it once; iteration ends when `stop()` is called or the store closes, and
 * throws a StoreError (Expired, Unavailable) when the watch can not go on: watch again from the
 * resourceVersion of the last event received, or relist on Expired.
 */
export interface Watch extends AsyncIterable<WatchEvent> {
  stop(): void;
}

export interface ResourceStore {
  get(type: ResourceType, key: ObjectKey): Promise<KubeObject>;
  list(type: ResourceType, options?: ListOptions): Promise<ListResult>;
  /** Sets uid, creationTimestamp, generation 1 and a new resourceVersion; drops `status`. */
  create(type: ResourceType, object: KubeObject): Promise<KubeObject>;
  /**
   * Replaces everything but `status` and the server-managed metadata. With
   * `metadata.resourceVersion` set it must equal the stored one (else Conflict); empty means
   * unconditional. An update that empties the finalizers of an object being deleted deletes it and
   * returns its last stored state with the deletion's resourceVersion (as DeleteResult.object).
   */
  update(type: ResourceType, object: KubeObject): Promise<KubeObject>;
  /** The status subresource: replaces `status` only, same concurrency rule as `update`. */
  updateStatus(type: ResourceType, object: KubeObject): Promise<KubeObject>;
  /** Deletes now, or with finalizers sets `deletionTimestamp` and keeps the object. */
  delete(type: ResourceType, key: ObjectKey, options?: DeleteOptions): Promise<DeleteResult>;
  watch(type: ResourceType, options?: WatchOptions): Promise<Watch>;
  /** The newest resourceVersion of the whole store (all types share one sequence). */
  currentResourceVersion(): Promise<string>;
  /** Ends every watch and releases the backend; later calls fail with Unavailable. */
  close(): Promise<void>;
}

/** Wall clock, injected so tests control timestamps and history ages. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The subset of the pino logger the store uses. */
export interface StoreLogger {
  warn(fields: object, message: string): void;
}

export const systemClock: Clock = { now: () => Date.now() };
