// NACK isolation: what one proxy is offered of the resources it should have, given what it
// rejected. A rejected version is never offered again; a newer version waits out the backoff;
// meanwhile the proxy is given its last good version, so the rest of the response (and the set
// in state-of-the-world LDS/CDS, where a missing name means "deleted") flows as usual. Pure.
import type { EncodedResource } from "./cache.ts";
import type { Rejection } from "./rejections.ts";
import { heldResource, heldVersion, type Held } from "./subscription.ts";

export interface Offer {
  /**
   * The wanted resources in order, where a held-back one is replaced by the proxy's last good
   * version, or left out when the proxy never accepted one (it cannot lose what it never had).
   */
  readonly resources: readonly EncodedResource[];
  /** Names held back from the wanted version. */
  readonly withheld: ReadonlySet<string>;
  /** Whether `resources` differs from the wanted list. */
  readonly substituted: boolean;
  /** Epoch milliseconds when a held-back newer version may be offered; undefined if none waits. */
  readonly retryAt: number | undefined;
  /** Rejections that no longer apply: the resource is gone, or the proxy holds what is wanted. */
  readonly settled: readonly string[];
}

export function planOffer(
  wanted: readonly EncodedResource[],
  held: ReadonlyMap<string, Held>,
  rejections: ReadonlyMap<string, Rejection>,
  nowMs: number,
): Offer {
  const resources: EncodedResource[] = [];
  const withheld = new Set<string>();
  const seen = new Set<string>();
  const settled: string[] = [];
  let retryAt: number | undefined;
  for (const resource of wanted) {
    const rejection = rejections.get(resource.name);
    if (!rejection) {
      resources.push(resource);
      continue;
    }
    seen.add(resource.name);
    const kept = held.get(resource.name);
    if (heldVersion(kept) === resource.hash) {
      settled.push(resource.name);
      resources.push(resource);
      continue;
    }
    const newer = resource.hash !== rejection.rejectedHash;
    if (newer && nowMs >= rejection.retryAt) {
      resources.push(resource);
      continue;
    }
    if (newer) retryAt = Math.min(retryAt ?? Infinity, rejection.retryAt);
    withheld.add(resource.name);
    const last = heldResource(kept);
    if (last) resources.push(last);
  }
  for (const name of rejections.keys()) if (!seen.has(name)) settled.push(name);
  return { resources, withheld, substituted: withheld.size > 0, retryAt, settled };
}
