// What one stream subscribed to for one type, what the proxy holds, and where the protocol
// stands. One model for state-of-the-world and delta; only the request and response adapters
// (sotw.ts, delta.ts) differ.
import type { ResourceRequest } from "../translate/index.ts";
import type { EncodedResource } from "./cache.ts";
import { requiresFullState, type TypeUrl } from "./resource-types.ts";
import type { NackRecord, TypeSyncStatus } from "./status.ts";

/** A resource as the proxy holds it. `resource` is absent when only its version is known (resume). */
export interface HeldResource {
  readonly version: string;
  readonly resource: EncodedResource | undefined;
}

/** A response the proxy has not answered yet. */
export interface InFlight {
  readonly nonce: string;
  readonly version: string;
  /** Undoes the bookkeeping of this response if the proxy rejects it. */
  readonly revert: () => void;
  /** Resource versions this response carried, so they are not resent if rejected. */
  readonly carried: ReadonlyMap<string, string>;
}

export class Subscription {
  readonly typeUrl: TypeUrl;
  wildcard = false;
  private subscribed = new Set<string>();
  private key: string | undefined;
  /** What the proxy holds by name; absent names it was told do not exist are `absent`. */
  readonly held = new Map<string, HeldResource | "absent">();
  /** Resource versions the proxy rejected: not sent again until their content changes. */
  readonly rejected = new Map<string, string>();
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  ackedVersion: string | null = null;
  lastNack: NackRecord | null = null;
  nackCount = 0;
  /** At most one unanswered response per type (flow control); newer config waits for the answer. */
  inFlight: InFlight | undefined;
  /** Delta: the resolved set and names last compared with what the proxy holds. */
  lastEvaluated: string | undefined;
  /** The config changed while a response was in flight: re-evaluate once the proxy answers. */
  pushPending = false;
  private requests = 0;

  constructor(typeUrl: TypeUrl) {
    this.typeUrl = typeUrl;
  }

  get names(): ReadonlySet<string> {
    return this.subscribed;
  }

  /**
   * State of the world: the request lists every name. xDS "legacy wildcard": the first LDS or CDS
   * request with no names subscribes to everything, as does the name "*".
   */
  replaceNames(names: readonly string[]): void {
    const first = this.requests++ === 0;
    this.wildcard =
      names.includes("*") ||
      (names.length === 0 && requiresFullState(this.typeUrl) && (first || this.wildcard));
    this.setNames(names.filter((n) => n !== "*"));
    for (const name of [...this.held.keys()]) {
      if (!this.wildcard && !this.subscribed.has(name)) this.held.delete(name);
    }
  }

  /** Delta: names are added and removed; an empty first subscription of LDS/CDS is a wildcard. */
  changeNames(subscribe: readonly string[], unsubscribe: readonly string[]): void {
    const first = this.requests++ === 0;
    if (first && subscribe.length === 0 && requiresFullState(this.typeUrl)) this.wildcard = true;
    if (subscribe.includes("*")) this.wildcard = true;
    if (unsubscribe.includes("*")) this.wildcard = false;
    const names = new Set(this.subscribed);
    for (const name of subscribe) if (name !== "*") names.add(name);
    for (const name of unsubscribe) {
      names.delete(name);
      // An unsubscribed resource is forgotten: resubscribing must send it again.
      this.held.delete(name);
      this.rejected.delete(name);
    }
    this.setNames([...names]);
  }

  /** Delta resume: what the proxy already holds from an earlier stream (initial_resource_versions). */
  seedHeld(versions: Readonly<Record<string, string>>): void {
    for (const [name, version] of Object.entries(versions))
      this.held.set(name, { version, resource: undefined });
  }

  private setNames(names: string[]): void {
    const next = new Set(names);
    if (next.size !== this.subscribed.size || names.some((n) => !this.subscribed.has(n))) {
      this.subscribed = next;
      this.key = undefined;
    }
  }

  request(): ResourceRequest {
    return { wildcard: this.wildcard, names: [...this.subscribed] };
  }

  /** Identifies the subscribed name set, for sharing resolved responses between proxies. */
  get requestKey(): string {
    this.key ??= [...this.subscribed].sort().join("\n");
    return this.key;
  }

  status(): TypeSyncStatus {
    return {
      typeUrl: this.typeUrl,
      subscribed: [...this.subscribed].sort(),
      wildcard: this.wildcard,
      sentVersion: this.sentVersion,
      sentNonce: this.sentNonce,
      ackedVersion: this.ackedVersion,
      lastNack: this.lastNack,
      nackCount: this.nackCount,
    };
  }

  /** The resources the proxy holds, for the config dump. */
  heldResources(): EncodedResource[] {
    return [...this.held.values()].flatMap((h) => (h === "absent" || !h.resource ? [] : [h.resource]));
  }
}
