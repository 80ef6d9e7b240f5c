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

/**
 * The member answered but has no leader (etcd's `hasleader` check, which the client asks for on
 * every linearizable request and watch): the cluster lacks quorum, or is electing a leader.
 */
export function isNoLeader(error: unknown): boolean {
  return (
    error instanceof Error &&
    /etcdserver: no leader|leader changed|previous leader failure/.test(error.message)
  );
}

/** A request that ran out of its deadline (etcd3's GRPCDeadlineExceededError, status 4). */
export function isDeadlineExceeded(error: unknown): boolean {
  return error instanceof Error && /DEADLINE_EXCEEDED|deadline exceeded/i.test(error.message);
}

/** The part of the unavailable messages that tells kubectl users what still works. */
export const degradedSuffix = "writes are refused; reads serve the last known state";

/** Client failures become Unavailable, with the reason when the error tells it; StoreErrors pass through. */
export function wrap(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isNoLeader(error)) {
    return unavailable(
      `etcd has no quorum: no member has a leader (${message}); ${degradedSuffix}`,
      error,
      "NoQuorum",
    );
  }
  if (/ECONNREFUSED|No connection established|failed to connect|ECONNRESET/.test(message)) {
    return unavailable(`etcd is unreachable: ${message}`, error, "Unreachable");
  }
  return unavailable(`etcd: ${message}`, error);
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
  /** How long etcd may take to accept the watch; past it the watch fails Unavailable. */
  readonly connectTimeoutMs: number;
  readonly logger?: StoreLogger | undefined;
}

/**
 * Starts an etcd watcher feeding `stream` and resolves once etcd accepted it (or the stream ended);
 * rejects with the StoreError that ended the stream before that. Returns how to cancel it.
 *
 * The etcd3 client re-creates the watcher after a disconnection (another member, backoff) from
 * the revision after the last response header. That header is etcd's current revision, not the
 * last event delivered: a watcher catching up receives its history in batches of 1,000 revisions
 * under the current header, so a disconnection between batches would skip the rest. The watcher
 * therefore resumes from the revision after the last event it delivered (or after a progress
 * notification, which etcd only sends to watchers that have caught up): nothing lost, nothing twice.
 */
export async function attachEtcdWatcher(params: EtcdWatchParams): Promise<() => void> {
  const { client, stream, filter } = params;
  const watcher: Watcher = client
    .watch()
    .inRange({ start: params.start, end: params.end })
    .startRevision(String(params.startRev))
    .withPreviousKV()
    .watcher();
  let next = params.startRev;
  // Runs after the client's own listeners (registered when the watcher was built) and overrides them.
  const resumeFromNext = () => (watcher.request.start_revision = String(next));
  watcher.on("connected", resumeFromNext);
  const cancel = () => {
    watcher
      .cancel()
      .catch((error: unknown) => params.logger?.warn({ err: error }, "etcd watch cancel failed"));
  };
  let reportFailure: (error: StoreError) => void = () => {};
  const failed = new Promise<StoreError>((resolve) => (reportFailure = resolve));
  const connected = new Promise<undefined>((resolve) => watcher.once("connected", () => resolve(undefined)));
  watcher.on("data", (response: IWatchResponse) => {
    const last = response.events.at(-1);
    if (last) next = Number(last.kv.mod_revision) + 1;
    else next = Math.max(next, Number(response.header.revision) + 1);
    resumeFromNext();
    for (const event of response.events) {
      const projected = project(filter, toChange(params.storePrefix, event));
      if (projected) stream.push(projected);
    }
  });
  // etcd cancels a watch whose next revision was compacted (at the start, or when the client
  // resumes it after a disconnection); the client reports that as an error without details.
  watcher.on("error", (error: Error) => {
    const fail = (storeError: StoreError) => {
      stream.fail(storeError);
      reportFailure(storeError);
    };
    compactedAt(client, `${params.storePrefix}/`, next).then(
      (compacted) => fail(compacted ? expired(String(next - 1)) : wrap(error)),
      () => fail(wrap(error)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<StoreError>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          unavailable(
            `etcd did not accept the watch within ${params.connectTimeoutMs} ms (no quorum or no member reachable)`,
            undefined,
            "Timeout",
          ),
        ),
      params.connectTimeoutMs,
    );
  });
  const failure = await Promise.race([connected, failed, timedOut, stream.ended.then(() => undefined)]);
  clearTimeout(timer);
  if (failure) {
    cancel();
    throw failure;
  }
  return cancel;
}
