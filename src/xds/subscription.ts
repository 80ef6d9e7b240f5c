// What one stream subscribed to for one type, and where the protocol stands for it. Shared by
// the state-of-the-world and (later) delta stream handlers.
import type { ResourceRequest } from "../translate/index.ts";
import type { EncodedResource } from "./cache.ts";
import { requiresFullState, type TypeUrl } from "./resource-types.ts";
import type { NackRecord, TypeSyncStatus } from "./status.ts";

export class Subscription {
  readonly typeUrl: TypeUrl;
  wildcard = false;
  names: ReadonlySet<string> = new Set();
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  ackedVersion: string | null = null;
  lastNack: NackRecord | null = null;
  nackCount = 0;
  /** A response is on its way and unanswered: at most one per type (flow control). */
  awaitingAck = false;
  /** The config changed while waiting for an answer: recompute once the proxy answers. */
  pushPending = false;
  /** What the proxy was last sent, by name. */
  sent: ReadonlyMap<string, EncodedResource> = new Map();
  private requests = 0;

  constructor(typeUrl: TypeUrl) {
    this.typeUrl = typeUrl;
  }

  /**
   * Applies the names of a request. xDS "legacy wildcard": the first request of LDS or CDS with
   * no names subscribes to everything, as does the explicit name "*".
   */
  updateNames(names: readonly string[]): void {
    const first = this.requests++ === 0;
    if (
      names.includes("*") ||
      (names.length === 0 && requiresFullState(this.typeUrl) && (first || this.wildcard))
    ) {
      this.wildcard = true;
    } else {
      this.wildcard = false;
    }
    this.names = new Set(names.filter((n) => n !== "*"));
  }

  request(): ResourceRequest {
    return { wildcard: this.wildcard, names: [...this.names] };
  }

  status(): TypeSyncStatus {
    return {
      typeUrl: this.typeUrl,
      subscribed: [...this.names].sort(),
      wildcard: this.wildcard,
      sentVersion: this.sentVersion,
      sentNonce: this.sentNonce,
      ackedVersion: this.ackedVersion,
      lastNack: this.lastNack,
      nackCount: this.nackCount,
    };
  }
}
