// etcd details shared by the etcd store: value decoding, error mapping, and turning an etcd
// watcher into a store watch.
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { StoreError, expired, unavailable } from "./errors.ts";
import { deepFreeze, withResourceVersion } from "./objects.ts";
import type { ObjectFilter } from "./selectors.ts";
import type { KubeObject, StoreLogger } from "./types.ts";
import { project, type ChangeEvent, type WatchStream } from "./watch.ts";

export function isCompacted(error: unknown): boolean {
  return error instanceof Error && /required revision has been compacted/.test(error.message);
}

/** Client failures become Unavailable; StoreErrors pass through. */
export function wrap(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return unavailable(`etcd: ${error instanceof Error ? error.message : String(error)}`, error);
}

/** The stored JSON with the key's mod_revision (or `rv`) as resourceVersion. */
export function decodeKv(kv: IKeyValue, rv = Number(kv.mod_revision)): KubeObject {
  return withResourceVersion(JSON.parse(kv.value.toString("utf8")) as KubeObject, rv);
}

/** Whether the events from revision `rev` on are no longer all in etcd's history. */
export async function compactedAt(client: Etcd3, probeKey: string, rev: number): Promise<boolean> {
  try {
    await client.get(probeKey).revision(String(rev)).exec();
    return false;
  } catch (error) {
    if (isCompacted(error)) return true;
    if (error instanceof Error && /future revision/.test(error.message)) return false;
    throw wrap(error);
  }
}

function toChange(storePrefix: string, event: IWatchResponse["events"][number]): ChangeEvent {
  const { kv, prev_kv: prevKv } = event;
  const rv = Number(kv.mod_revision);
  // etcd omits the previous value when it was compacted away before the watcher caught up.
  const prev = prevKv && prevKv.value.length > 0 ? deepFreeze(decodeKv(prevKv)) : undefined;
  if (event.type === "Delete") {
    const last = prev ?? placeholder(storePrefix, kv.key.toString("utf8"));
    return { rv, type: "DELETED", object: deepFreeze(withResourceVersion(last, rv)), prev };
  }
  // version counts the puts since the key was (re)created: 1 is a create.
  return { rv, type: kv.version === "1" ? "ADDED" : "MODIFIED", object: deepFreeze(decodeKv(kv)), prev };
}

/** A deleted object whose last state etcd no longer has: its identity only. */
function placeholder(storePrefix: string, key: string): KubeObject {
  const [, , first, second] = key.slice(storePrefix.length + 1).split("/");
  const metadata = second === undefined ? { name: first } : { namespace: first, name: second };
  return { apiVersion: "", kind: "", metadata };
}

export interface EtcdWatchParams {
  readonly client: Etcd3;
  /** The store's key prefix (`/meshplane`). */
  readonly storePrefix: string;
  /** Key range `[start, end)` and the first revision to deliver. */
  readonly start: string;
  readonly end: string;
  readonly startRev: number;
  readonly filter: ObjectFilter;
  readonly stream: WatchStream;
  readonly logger?: StoreLogger | undefined;
}

/**
 * Starts an etcd watcher feeding `stream` and resolves once etcd accepted it (or the stream ended);
 * rejects with the StoreError that ended the stream before that. Returns how to cancel it.
 */
export async function attachEtcdWatcher(params: EtcdWatchParams): Promise<() => void> {
  const { client, stream, filter } = params;
  const watcher: Watcher = client
    .watch()
    .inRange({ start: params.start, end: params.end })
    .startRevision(String(params.startRev))
    .withPreviousKV()
    .watcher();
  const cancel = () => {
    watcher
      .cancel()
      .catch((error: unknown) => params.logger?.warn({ err: error }, "etcd watch cancel failed"));
  };
  let reportFailure: (error: StoreError) => void = () => {};
  const failed = new Promise<StoreError>((resolve) => (reportFailure = resolve));
  const connected = new Promise<undefined>((resolve) => watcher.once("connected", () => resolve(undefined)));
  watcher.on("data", (response: IWatchResponse) => {
    for (const event of response.events) {
      const projected = project(filter, toChange(params.storePrefix, event));
      if (projected) stream.push(projected);
    }
  });
  // etcd cancels a watch whose next revision was compacted (at the start, or when the client
  // resumes it after a disconnection); the client reports that as an error without details.
  watcher.on("error", (error: Error) => {
    const resumeAt = Number(watcher.lastRevision() ?? params.startRev);
    const fail = (storeError: StoreError) => {
      stream.fail(storeError);
      reportFailure(storeError);
    };
    compactedAt(client, `${params.storePrefix}/`, resumeAt).then(
      (compacted) => fail(compacted ? expired(String(resumeAt - 1)) : wrap(error)),
      () => fail(wrap(error)),
    );
  });
  const failure = await Promise.race([connected, failed, stream.ended.then(() => undefined)]);
  if (failure) {
    cancel();
    throw failure;
  }
  return cancel;
}
