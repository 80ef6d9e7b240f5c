// What one stream subscribed to for one type, what the proxy holds, what it rejected, and where
// the protocol stands. One model for state-of-the-world and delta; only the request and response
// adapters (sotw.ts, delta.ts) differ.
import { createHash } from "node:crypto";
import { LimitExceededError } from "../limits/index.ts";
import type { ResourceRequest } from "../pipeline/index.ts";
import { setVersion, type EncodedResource, type ResolvedResources } from "./cache.ts";
import type { Reach } from "./reach.ts";
import { describeRejection, type Rejection } from "./rejections.ts";
import { requiresFullState, typeShortName, type TypeUrl } from "./resource-types.ts";
import type { NackRecord, ResourceRejection, TypeSyncStatus } from "./status.ts";

/** A resource as the proxy holds it. `resource` is absent when only its version is known (resume). */
export interface HeldResource {
  readonly version: string;
  readonly resource: EncodedResource | undefined;
}

/** A response the proxy has not answered yet. */
export interface InFlight {
  readonly nonce: string;
  readonly version: string;
  /** The resources carried, in response order: clients cite positions when they reject some. */
  readonly resources: readonly EncodedResource[];
  /** Delta: names this response removes. */
  readonly removed: readonly string[];
  /** State of the world: the response is the proxy's whole set of this type. */
  readonly replacesSet: boolean;
  /** Names carried (or left out) at their last good version instead of the wanted one. */
  readonly withheld: ReadonlySet<string>;
}

/** Where a subscription reports changes that server-wide views count. */
export interface SubscriptionObserver {
  reachChanged(typeUrl: TypeUrl, name: string, from: Reach, to: Reach): void;
  rejectionChanged(typeUrl: TypeUrl, name: string, rejection: Rejection | undefined): void;
}

export class Subscription {
  readonly typeUrl: TypeUrl;
  wildcard = false;
  private subscribed = new Set<string>();
  private key: string | undefined;
  /** What the proxy accepted, by name; names it was told do not exist are `absent` (delta). */
  private readonly accepted = new Map<string, HeldResource | "absent">();
  /**
   * State of the world: the version of the set the proxy was left with by its last answer (after
   * a NACK, the set it kept, which no response may have carried).
   */
  answeredSetVersion: string | null = null;
  private readonly rejected = new Map<string, Rejection>();
  /** The version of each resource the proxy should have, as of the last evaluation. */
  private targets = new Map<string, string>();
  private targetVersion: string | undefined;
  private readonly observer: SubscriptionObserver;
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  /** The version of the last response the proxy accepted whole. */
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
  /** Names one stream may subscribe to for this type (limit `xds.namesPerRequest`). */
  private readonly maxNames: number;

  constructor(typeUrl: TypeUrl, observer: SubscriptionObserver, maxNames: number) {
    this.typeUrl = typeUrl;
    this.observer = observer;
    this.maxNames = maxNames;
  }

  get names(): ReadonlySet<string> {
    return this.subscribed;
  }

  /** What the proxy holds: every version it accepted, less what it was told is gone. */
  get held(): ReadonlyMap<string, HeldResource | "absent"> {
    return this.accepted;
  }

  get rejections(): ReadonlyMap<string, Rejection> {
    return this.rejected;
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
    if (this.wildcard) return;
    for (const name of [...this.accepted.keys()])
      if (!this.subscribed.has(name)) this.setHeld(name, undefined);
    for (const name of [...this.rejected.keys()]) if (!this.subscribed.has(name)) this.clearRejection(name);
  }

  /**
   * Delta: names are added and removed; an empty first subscription of LDS/CDS is a wildcard.
   * Each request is bounded at the edge; the set they add up to is held to the same bound as a
   * state-of-the-world request, which lists the whole set. Throws LimitExceededError, changing
   * nothing, when the set would exceed it.
   */
  changeNames(subscribe: readonly string[], unsubscribe: readonly string[]): void {
    const names = new Set(this.subscribed);
    for (const name of subscribe) if (name !== "*") names.add(name);
    for (const name of unsubscribe) names.delete(name);
    if (names.size > this.maxNames) {
      throw new LimitExceededError(
        "xds.namesPerRequest",
        this.maxNames,
        `the ${typeShortName[this.typeUrl]} names subscribed to on one stream`,
        names.size,
      );
    }
    const first = this.requests++ === 0;
    if (first && subscribe.length === 0 && requiresFullState(this.typeUrl)) this.wildcard = true;
    if (subscribe.includes("*")) this.wildcard = true;
    if (unsubscribe.includes("*")) this.wildcard = false;
    for (const name of unsubscribe) {
      // An unsubscribed resource is forgotten: resubscribing must send it again.
      this.setHeld(name, undefined);
      this.clearRejection(name);
    }
    this.setNames([...names]);
  }

  /** Delta resume: what the proxy already holds from an earlier stream (initial_resource_versions). */
  seedHeld(versions: Readonly<Record<string, string>>): void {
    for (const [name, version] of Object.entries(versions))
      this.setHeld(name, { version, resource: undefined });
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

  /**
   * Identifies the subscribed name set, for sharing resolved responses between proxies: a digest,
   * so the key costs the same for ten names or a hundred thousand. Each name is length-prefixed:
   * a name containing the separator cannot pass for two names (and share another set's result).
   */
  get requestKey(): string {
    if (this.key === undefined) {
      const hash = createHash("sha256");
      for (const name of [...this.subscribed].sort()) hash.update(`${name.length}:`).update(name);
      this.key = hash.digest("base64url");
    }
    return this.key;
  }

  /** Records the versions the proxy should have now (the evaluated set), for reach counting. */
  setTargets(resolved: ResolvedResources): void {
    // The set version covers every name and content hash: equal versions, nothing to do.
    if (resolved.version === this.targetVersion) return;
    this.targetVersion = resolved.version;
    const previous = this.targets;
    const next = new Map<string, string>();
    for (const resource of resolved.resources) {
      next.set(resource.name, resource.hash);
      const before = previous.get(resource.name);
      if (before === resource.hash) continue;
      this.report(
        resource.name,
        this.reachFor(resource.name, before),
        this.reachFor(resource.name, resource.hash),
      );
    }
    for (const [name, hash] of previous) {
      if (!next.has(name)) this.report(name, this.reachFor(name, hash), 0);
    }
    this.targets = next;
  }

  /**
   * Applies the proxy's answer to `inFlight`: it now holds what the response carried, except the
   * `rejected` resources, of which it keeps what it had (clients validate each resource and apply
   * the valid ones of a rejected response, gRFC A46 / Envoy).
   */
  accept(inFlight: InFlight, rejected: ReadonlySet<string>): void {
    if (inFlight.replacesSet) {
      const next = new Map<string, HeldResource>();
      for (const resource of inFlight.resources) {
        const before = this.accepted.get(resource.name);
        const last = before === undefined || before === "absent" ? undefined : before;
        if (rejected.has(resource.name)) {
          if (last) next.set(resource.name, last);
        } else {
          next.set(resource.name, last?.resource === resource ? last : heldOf(resource));
        }
      }
      for (const name of [...this.accepted.keys()]) if (!next.has(name)) this.setHeld(name, undefined);
      for (const [name, held] of next) if (this.accepted.get(name) !== held) this.setHeld(name, held);
      this.answeredSetVersion =
        rejected.size === 0
          ? inFlight.version
          : setVersion([...next].map(([name, held]) => ({ name, hash: held.version })).sort(byName));
      return;
    }
    for (const resource of inFlight.resources) {
      if (rejected.has(resource.name)) continue;
      // Unsubscribed while the response was in flight: the proxy drops it.
      if (!this.wildcard && !this.subscribed.has(resource.name)) continue;
      this.setHeld(resource.name, heldOf(resource));
    }
    for (const name of inFlight.removed) this.setHeld(name, this.subscribed.has(name) ? "absent" : undefined);
  }

  reject(name: string, rejection: Rejection): void {
    this.rejected.set(name, rejection);
    this.observer.rejectionChanged(this.typeUrl, name, rejection);
  }

  clearRejection(name: string): void {
    if (!this.rejected.delete(name)) return;
    this.observer.rejectionChanged(this.typeUrl, name, undefined);
  }

  /** The stream closed: withdraws everything this subscription counted in server-wide views. */
  release(): void {
    for (const [name, hash] of this.targets) this.report(name, this.reachFor(name, hash), 0);
    this.targets = new Map();
    this.targetVersion = undefined;
    for (const name of [...this.rejected.keys()]) this.clearRejection(name);
  }

  private setHeld(name: string, held: HeldResource | "absent" | undefined): void {
    const target = this.targets.get(name);
    const before = target === undefined ? 0 : this.reachFor(name, target);
    if (held === undefined) {
      if (!this.accepted.delete(name)) return;
    } else {
      this.accepted.set(name, held);
    }
    if (target !== undefined) this.report(name, before, this.reachFor(name, target));
  }

  private reachFor(name: string, target: string | undefined): Reach {
    if (target === undefined) return 0;
    const held = this.accepted.get(name);
    return held !== undefined && held !== "absent" && held.version === target ? 2 : 1;
  }

  private report(name: string, from: Reach, to: Reach): void {
    if (from !== to) this.observer.reachChanged(this.typeUrl, name, from, to);
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

  rejectionStatus(): ResourceRejection[] {
    return [...this.rejected]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, rejection]) => describeRejection(this.typeUrl, name, rejection));
  }

  /** The resources the proxy holds, for the config dump. */
  heldResources(): EncodedResource[] {
    return [...this.accepted.values()].flatMap((h) => (h === "absent" || !h.resource ? [] : [h.resource]));
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function heldOf(resource: EncodedResource): HeldResource {
  return { version: resource.hash, resource };
}
