// What one stream subscribed to for one type, what the proxy holds, what it rejected, and where
// the protocol stands. One model for state-of-the-world and delta; only the request and response
// adapters (sotw.ts, delta.ts) differ. A stream holds thousands of these at scale, so the state
// is references to shared values: the interned name set (push-index.ts), the resolved set last
// evaluated and the encoded resources the proxy holds (cache.ts); only what differs per proxy
// (held names, nonces, rejections) is its own.
import { LimitExceededError } from "../limits/index.ts";
import type { ResourceRequest } from "../pipeline/index.ts";
import { setVersion, type EncodedResource, type ResolvedResources } from "./cache.ts";
import { nameSetKey, type NameSet, type PushIndex } from "./push-index.ts";
import type { Reach } from "./reach.ts";
import { describeRejection, type Rejection } from "./rejections.ts";
import { requiresFullState, typeShortName, type TypeUrl } from "./resource-types.ts";
import type { NackRecord, ResourceRejection, TypeSyncStatus } from "./status.ts";
import type { SentResponse } from "../telemetry/index.ts";

/** Delta: the proxy was told the name does not exist. */
export const absent: unique symbol = Symbol("absent");

/**
 * What the proxy holds of one name: the (shared) resource it accepted; only its version, when it
 * declared one on resuming a delta stream; or `absent`.
 */
export type Held = EncodedResource | string | typeof absent;

export function heldVersion(held: Held | undefined): string | undefined {
  return held === undefined || held === absent ? undefined : typeof held === "string" ? held : held.hash;
}

export function heldResource(held: Held | undefined): EncodedResource | undefined {
  return held === undefined || held === absent || typeof held === "string" ? undefined : held;
}

/** A response the proxy has not answered yet. */
export interface InFlight {
  readonly nonce: string;
  readonly version: string;
  /** The resources carried, in response order: clients cite positions when they reject some. */
  readonly resources: readonly EncodedResource[];
  /** Delta: names this response removes. */
  readonly removed: readonly string[];
  /** State of the world LDS/CDS: the response is the proxy's whole set of this type. */
  readonly replacesSet: boolean;
  /** Names carried (or left out) at their last good version instead of the wanted one. */
  readonly withheld: ReadonlySet<string>;
  /** The traced change the response carries, to report the answer to; undefined when untraced. */
  readonly sent?: SentResponse | undefined;
}

/** The stream a subscription belongs to: server-wide views it reports to, and its push queue. */
export interface SubscriptionObserver {
  reachChanged(typeUrl: TypeUrl, name: string, from: Reach, to: Reach): void;
  rejectionChanged(typeUrl: TypeUrl, name: string, rejection: Rejection | undefined): void;
  /** The subscription must be evaluated again (its resources or names may have changed). */
  invalidated(typeUrl: TypeUrl): void;
}

/** What every subscription on a server shares. */
export interface SubscriptionContext {
  readonly index: PushIndex<Subscription>;
  /** Names one stream may subscribe to per type (limit `xds.namesPerRequest`). */
  readonly maxNames: number;
}

const noNames: ReadonlySet<string> = new Set();
const noRejections: ReadonlyMap<string, Rejection> = new Map();
const emptyKey = nameSetKey([]);

export class Subscription {
  readonly typeUrl: TypeUrl;
  readonly observer: SubscriptionObserver;
  private readonly context: SubscriptionContext;
  /** The profile group whose wildcard set this subscription gets; undefined when not known. */
  private readonly group: string | undefined;
  wildcard = false;
  private nameSet: NameSet<Subscription> | undefined;
  /** Changes whenever the names or the wildcard flag do. */
  revision = 0;
  private requested = false;
  /** What the proxy accepted, by name. */
  private readonly accepted = new Map<string, Held>();
  /**
   * State of the world: the version of the set the proxy was left with by its last answer (after
   * a NACK, the set it kept, which no response may have carried).
   */
  answeredSetVersion: string | null = null;
  private rejected: Map<string, Rejection> | undefined;
  /** The resources the proxy should have, as of the last evaluation (sorted by name; shared). */
  private targets: ResolvedResources | undefined;
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  /** The version of the last response the proxy accepted whole. */
  ackedVersion: string | null = null;
  lastNack: NackRecord | null = null;
  nackCount = 0;
  /** At most one unanswered response per type (flow control); newer config waits for the answer. */
  inFlight: InFlight | undefined;
  /**
   * Delta: the resolved version last compared with what the proxy holds, and the name revision
   * it was compared for; undefined after a NACK or a backoff expiring (compare again).
   */
  evaluatedVersion: string | undefined;
  evaluatedRevision = -1;
  /** The config changed while a response was in flight: re-evaluate once the proxy answers. */
  pushPending = false;

  constructor(
    typeUrl: TypeUrl,
    observer: SubscriptionObserver,
    context: SubscriptionContext,
    group: string | undefined,
  ) {
    this.typeUrl = typeUrl;
    this.observer = observer;
    this.context = context;
    this.group = group;
  }

  get names(): ReadonlySet<string> {
    return this.nameSet?.names ?? noNames;
  }

  /** What the proxy holds: every version it accepted, less what it was told is gone. */
  get held(): ReadonlyMap<string, Held> {
    return this.accepted;
  }

  get rejections(): ReadonlyMap<string, Rejection> {
    return this.rejected ?? noRejections;
  }

  /** What the proxy should have, as of the last evaluation; undefined before the first. */
  get target(): ResolvedResources | undefined {
    return this.targets;
  }

  /**
   * State of the world: the request lists every name. xDS "legacy wildcard": the first LDS or CDS
   * request with no names subscribes to everything, as does the name "*".
   */
  replaceNames(names: readonly string[]): void {
    const first = !this.requested;
    this.requested = true;
    this.setWildcard(
      names.includes("*") ||
        (names.length === 0 && requiresFullState(this.typeUrl) && (first || this.wildcard)),
    );
    this.setNames(names.filter((n) => n !== "*"));
    if (this.wildcard) return;
    // Every request repeats the names: no copies here (a Map iterates safely over deletions).
    const subscribed = this.names;
    for (const name of this.accepted.keys()) if (!subscribed.has(name)) this.setHeld(name, undefined);
    for (const name of this.rejections.keys()) if (!subscribed.has(name)) this.clearRejection(name);
  }

  /**
   * Delta: names are added and removed; an empty first subscription of LDS/CDS is a wildcard.
   * Each request is bounded at the edge; the set they add up to is held to the same bound as a
   * state-of-the-world request, which lists the whole set. Throws LimitExceededError, changing
   * nothing, when the set would exceed it.
   */
  changeNames(subscribe: readonly string[], unsubscribe: readonly string[]): void {
    const names = new Set(this.names);
    for (const name of subscribe) if (name !== "*") names.add(name);
    for (const name of unsubscribe) names.delete(name);
    if (names.size > this.context.maxNames) {
      throw new LimitExceededError(
        "xds.namesPerRequest",
        this.context.maxNames,
        `the ${typeShortName[this.typeUrl]} names subscribed to on one stream`,
        names.size,
      );
    }
    const first = !this.requested;
    this.requested = true;
    let wildcard = this.wildcard;
    if (first && subscribe.length === 0 && requiresFullState(this.typeUrl)) wildcard = true;
    if (subscribe.includes("*")) wildcard = true;
    if (unsubscribe.includes("*")) wildcard = false;
    this.setWildcard(wildcard);
    for (const name of unsubscribe) {
      // An unsubscribed resource is forgotten: resubscribing must send it again.
      if (this.accepted.has(name)) this.revision++;
      this.setHeld(name, undefined);
      this.clearRejection(name);
    }
    this.setNames([...names]);
  }

  /** Delta resume: what the proxy already holds from an earlier stream (initial_resource_versions). */
  seedHeld(versions: Readonly<Record<string, string>>): void {
    for (const [name, version] of Object.entries(versions)) this.setHeld(name, version);
  }

  private setWildcard(wildcard: boolean): void {
    if (wildcard === this.wildcard) return;
    this.wildcard = wildcard;
    this.revision++;
    this.context.index.wildcard(this, this.typeUrl, this.group, wildcard);
  }

  private setNames(names: readonly string[]): void {
    const current = this.names;
    const next = new Set(names);
    if (next.size === current.size && names.every((n) => current.has(n))) return;
    this.revision++;
    if (next.size === 0) {
      if (this.nameSet) this.context.index.leave(this, this.nameSet);
      this.nameSet = undefined;
      return;
    }
    this.nameSet = this.context.index.join(this, this.typeUrl, next, this.nameSet);
  }

  request(): ResourceRequest {
    return { wildcard: this.wildcard, names: this.nameSet?.list ?? [] };
  }

  /** Identifies the subscribed name set, for sharing resolved responses between proxies. */
  get requestKey(): string {
    return this.nameSet?.key ?? emptyKey;
  }

  /** Makes `resolved` what the proxy should have now, for reach counting. */
  setTargets(resolved: ResolvedResources): void {
    const previous = this.targets?.resources ?? [];
    // The set version covers every name and content hash: equal versions, nothing to count.
    const same = resolved.version === this.targets?.version;
    this.targets = resolved;
    if (same) return;
    const next = resolved.resources;
    // Both lists are sorted by name: one merge walk finds what was added, changed and dropped.
    let i = 0;
    let j = 0;
    while (i < previous.length || j < next.length) {
      const before = previous[i];
      const after = next[j];
      if (after === undefined || (before !== undefined && before.name < after.name)) {
        const { name, hash } = before as EncodedResource;
        this.report(name, this.reachFor(name, hash), 0);
        i++;
      } else if (before === undefined || after.name < before.name) {
        this.report(after.name, 0, this.reachFor(after.name, after.hash));
        j++;
      } else {
        if (before.hash !== after.hash) {
          this.report(
            after.name,
            this.reachFor(after.name, before.hash),
            this.reachFor(after.name, after.hash),
          );
        }
        i++;
        j++;
      }
    }
  }

  /**
   * Applies the proxy's answer to `inFlight`: it now holds what the response carried, except the
   * `rejected` resources, of which it keeps what it had (clients validate each resource and apply
   * the valid ones of a rejected response, gRFC A46 / Envoy).
   */
  accept(inFlight: InFlight, rejected: ReadonlySet<string>): void {
    if (inFlight.replacesSet) {
      const next = new Map<string, Held>();
      for (const resource of inFlight.resources) {
        const before = this.accepted.get(resource.name);
        if (!rejected.has(resource.name)) next.set(resource.name, resource);
        else if (before !== undefined && before !== absent) next.set(resource.name, before);
      }
      for (const name of [...this.accepted.keys()]) if (!next.has(name)) this.setHeld(name, undefined);
      for (const [name, held] of next) if (this.accepted.get(name) !== held) this.setHeld(name, held);
      this.answeredSetVersion =
        rejected.size === 0
          ? inFlight.version
          : setVersion(
              [...next].map(([name, held]) => ({ name, hash: heldVersion(held) ?? "" })).sort(byName),
            );
      return;
    }
    for (const resource of inFlight.resources) {
      if (rejected.has(resource.name)) continue;
      // Unsubscribed while the response was in flight: the proxy drops it.
      if (!this.wildcard && !this.names.has(resource.name)) continue;
      this.setHeld(resource.name, resource);
    }
    for (const name of inFlight.removed) this.setHeld(name, this.names.has(name) ? absent : undefined);
  }

  /** The proxy declared `resource`'s version on resume: it holds this very resource. */
  adoptHeld(resource: EncodedResource): void {
    if (this.accepted.get(resource.name) === resource.hash) this.accepted.set(resource.name, resource);
  }

  reject(name: string, rejection: Rejection): void {
    this.rejected ??= new Map();
    this.rejected.set(name, rejection);
    this.observer.rejectionChanged(this.typeUrl, name, rejection);
  }

  clearRejection(name: string): void {
    if (!this.rejected?.delete(name)) return;
    if (this.rejected.size === 0) this.rejected = undefined;
    this.observer.rejectionChanged(this.typeUrl, name, undefined);
  }

  /** The stream closed: withdraws everything this subscription counted or joined server-wide. */
  release(): void {
    for (const { name, hash } of this.targets?.resources ?? [])
      this.report(name, this.reachFor(name, hash), 0);
    this.targets = undefined;
    for (const name of [...this.rejections.keys()]) this.clearRejection(name);
    if (this.nameSet) this.context.index.leave(this, this.nameSet);
    this.nameSet = undefined;
    if (this.wildcard) this.context.index.wildcard(this, this.typeUrl, this.group, false);
  }

  private setHeld(name: string, held: Held | undefined): void {
    const target = this.targetHash(name);
    const before = target === undefined ? 0 : this.reachFor(name, target);
    if (held === undefined) {
      if (!this.accepted.delete(name)) return;
    } else {
      this.accepted.set(name, held);
    }
    if (target !== undefined) this.report(name, before, this.reachFor(name, target));
  }

  /** The content hash of `name` the proxy should have; a binary search of the sorted targets. */
  private targetHash(name: string): string | undefined {
    const resources = this.targets?.resources ?? [];
    let low = 0;
    let high = resources.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const resource = resources[middle] as EncodedResource;
      if (resource.name === name) return resource.hash;
      if (resource.name < name) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  private reachFor(name: string, target: string): Reach {
    return heldVersion(this.accepted.get(name)) === target ? 2 : 1;
  }

  private report(name: string, from: Reach, to: Reach): void {
    if (from !== to) this.observer.reachChanged(this.typeUrl, name, from, to);
  }

  /** `pending`: the stream has this type marked for its next push. */
  status(pending: boolean): TypeSyncStatus {
    const targets = this.targets?.resources ?? [];
    return {
      typeUrl: this.typeUrl,
      subscribed: [...(this.nameSet?.list ?? [])],
      wildcard: this.wildcard,
      sentVersion: this.sentVersion,
      sentNonce: this.sentNonce,
      ackedVersion: this.ackedVersion,
      lastNack: this.lastNack,
      nackCount: this.nackCount,
      latestVersion: this.targets?.version ?? null,
      inFlight: this.inFlight !== undefined,
      pending: pending || this.pushPending,
      outdated: targets.reduce((n, r) => (heldVersion(this.accepted.get(r.name)) === r.hash ? n : n + 1), 0),
    };
  }

  rejectionStatus(): ResourceRejection[] {
    return [...this.rejections]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, rejection]) => describeRejection(this.typeUrl, name, rejection));
  }

  /** The resources the proxy holds, for the config dump. */
  heldResources(): EncodedResource[] {
    return [...this.accepted.values()].flatMap((held) => heldResource(held) ?? []);
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
