// One word per proxy and xDS type for "is my change live there", defined on the facts /debug/syncz
// reports: what was last generated for the proxy, what was sent, what it ACKed or NACKed, and
// what it holds. The same definitions as istioctl proxy-status, made exact for NACK isolation.
import { typeShortName, type TypeUrl } from "./resource-types.ts";
import type { ResourceRejection, TypeSyncStatus } from "./status.ts";

export type SyncState = "SYNCED" | "STALE" | "NOT SENT" | "NACKED";

/** What each state means, in the words the CLI and the README use. */
export const syncStateMeanings: Readonly<Record<SyncState, string>> = {
  SYNCED:
    "the proxy ACKed the last response and holds the latest generated version of every resource it subscribed to",
  STALE:
    "a response is in flight (sent, not yet ACKed), newer configuration waits to be sent, or the proxy does not hold the latest generated version of a resource",
  "NOT SENT": "the proxy subscribed to the type but nothing has been sent for it yet",
  NACKED:
    "the proxy rejected the last response of the type, or rejects a resource of it and runs its last good version (or none) until the resource changes",
};

export interface TypeSyncVerdict {
  readonly state: SyncState;
  /** The proxy's error text when NACKED. */
  readonly error: string | undefined;
}

/**
 * The state of one type on one stream; `rejections` are the stream's resource rejections (all
 * types). NACKED comes first: a proxy kept on its last good version is never merely stale.
 */
export function typeSyncState(
  type: TypeSyncStatus,
  rejections: readonly ResourceRejection[],
): TypeSyncVerdict {
  const short = typeShortName[type.typeUrl as TypeUrl] as string | undefined;
  const rejected = rejections.filter((r) => r.type === short);
  const lastAnswerNack = type.lastNack !== null && type.lastNack.nonce === type.sentNonce;
  if (rejected.length > 0 || lastAnswerNack) {
    const errors = rejected.map((r) => `${r.resource}: ${r.error}`);
    return {
      state: "NACKED",
      error: errors.length > 0 ? errors.join("; ") : (type.lastNack?.message ?? undefined),
    };
  }
  if (type.sentVersion === null) return { state: "NOT SENT", error: undefined };
  // Versions alone cannot tell: a SotW RDS/EDS set that only lost names is not sent again, so its
  // latest version is never sent, yet the proxy holds everything it asked for.
  const stale = type.inFlight || type.pending || type.outdated > 0;
  return { state: stale ? "STALE" : "SYNCED", error: undefined };
}
