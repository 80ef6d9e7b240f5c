// One ADS stream, whichever protocol variant: identity, per-type subscriptions, nonces, ACK/NACK
// bookkeeping and flow control (xDS protocol, "ACK/NACK and resource type instance version").
// The variants plug in as a ProtocolAdapter that reads requests and builds responses.
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import { excerpt } from "../limits/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { ResolvedResources, ResourceCache } from "./cache.ts";
import { planOffer, type Offer } from "./isolation.ts";
import { clientNode, proxyClient, proxyIdentity, type ProxyIdentity } from "./proxy-identity.ts";
import { attributeNack } from "./nack-attribution.ts";
import type { Reach, ReachIndex } from "./reach.ts";
import { nextRejection, type BackoffPolicy, type Rejection, type RejectionRegistry } from "./rejections.ts";
import { isKnownTypeUrl, pushOrder, typeShortName, type TypeUrl } from "./resource-types.ts";
import type { ProxyStatus } from "./status.ts";
import {
  heldVersion,
  Subscription,
  type InFlight,
  type SubscriptionContext,
  type SubscriptionObserver,
} from "./subscription.ts";
import type { Timer, Timers } from "../clock/index.ts";

/** A request of either variant, reduced to what the shared logic needs. */
export interface NormalizedRequest {
  readonly node: Node | undefined;
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly error: { readonly code: number; readonly message: string } | undefined;
  /** SotW: the version the proxy runs on (it keeps it after a NACK). */
  readonly versionInfo: string;
  /** Applies the request's subscription change. */
  readonly updateNames: (subscription: Subscription, firstForType: boolean) => void;
}

/** The fields both request variants share, as the shared logic reads them. */
export function commonRequestFields(request: {
  readonly node?: Node | undefined;
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: { readonly code: number; readonly message: string } | undefined;
}): Pick<NormalizedRequest, "node" | "typeUrl" | "responseNonce" | "error"> {
  const { errorDetail } = request;
  return {
    node: request.node,
    typeUrl: request.typeUrl,
    responseNonce: request.responseNonce,
    error: errorDetail ? { code: errorDetail.code, message: errorDetail.message } : undefined,
  };
}

export interface ProtocolAdapter {
  readonly name: "sotw" | "delta";
  /**
   * Delta requests carry subscription changes that must apply even when their nonce is stale;
   * a stale SotW request is ignored entirely.
   */
  readonly namesApplyWhenStale: boolean;
  /**
   * Builds the response for `subscription`, or undefined when the proxy already has it all.
   * `offer` is set when the proxy rejected some of the resources: what it may be given instead.
   */
  respond(
    subscription: Subscription,
    resolved: ResolvedResources,
    offer: Offer | undefined,
    nonce: string,
    controlPlaneId: string,
  ): Response | undefined;
}

export interface Response {
  readonly bytes: Uint8Array;
  readonly inFlight: Omit<InFlight, "nonce">;
  readonly resourceCount: number;
}

/** What every stream of a server shares (one object, not one per stream). */
export interface StreamDependencies {
  readonly cache: ResourceCache;
  readonly metrics: MeshplaneMetrics;
  readonly logger: Logger;
  readonly controlPlaneId: string;
  readonly now: () => Date;
  readonly timers: Timers;
  /** How long to wait before offering a newer version of a resource the proxy keeps rejecting. */
  readonly backoff: BackoffPolicy;
  readonly rejections: RejectionRegistry;
  readonly reach: ReachIndex;
  /** The push index and limits every subscription on the server shares. */
  readonly subscriptions: SubscriptionContext;
  /**
   * Queues `stream` for push(), in a later turn; `urgent` for work a proxy's request asked for,
   * which goes before the remainder of a publish.
   */
  readonly schedule: (stream: AdsStream, urgent: boolean) => void;
}

/**
 * How much of a proxy's NACK text is kept (status, debug pages) and logged. Clients write a few
 * lines per rejected resource; the text is the proxy's to choose, so only this much travels.
 */
export const nackTextChars = 1000;

/** Bit of each type in a stream's set of types to evaluate, in push order. */
const typeBit = new Map(pushOrder.map((typeUrl, i) => [typeUrl, 1 << i]));
const allTypes = (1 << pushOrder.length) - 1;

/**
 * One ADS stream. Requests are handled where they arrive: the subscription is recorded and, when
 * the proxy now needs something, the stream is queued for the push scheduler; resolution,
 * translation and encoding happen only in push(), which the scheduler runs in bounded turns.
 * The stream is the observer of its own subscriptions (no per-stream closures).
 */
export class AdsStream implements SubscriptionObserver {
  readonly id: number;
  readonly protocol: ProtocolAdapter;
  /** Epoch milliseconds. */
  private readonly connectedAt: number;
  private identity: ProxyIdentity | undefined;
  /** The proxy's node as CSDS reports it (see clientNode). */
  private node: Node | undefined;
  private readonly subscriptions = new Map<TypeUrl, Subscription>();
  /** Per type, the pending re-evaluation for a resource waiting out its backoff. */
  private retries: Map<TypeUrl, { readonly at: number; readonly timer: Timer }> | undefined;
  /** Types to evaluate on the next push (bits of typeBit). */
  private dirty = 0;
  private nonce = 0;
  private closed = false;
  /** An unsupported type was asked for and logged: once per stream is enough. */
  private unsupportedLogged = false;
  private readonly deps: StreamDependencies;
  private readonly write: (bytes: Uint8Array) => void;

  constructor(
    id: number,
    protocol: ProtocolAdapter,
    deps: StreamDependencies,
    write: (bytes: Uint8Array) => void,
  ) {
    this.id = id;
    this.protocol = protocol;
    this.deps = deps;
    this.write = write;
    this.connectedAt = deps.now().getTime();
  }

  get nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  reachChanged(typeUrl: TypeUrl, name: string, from: Reach, to: Reach): void {
    this.deps.reach.move(typeUrl, name, from, to);
  }

  rejectionChanged(typeUrl: TypeUrl, name: string, rejection: Rejection | undefined): void {
    this.deps.rejections.set({ id: this.id, nodeId: this.identity?.nodeId ?? "" }, typeUrl, name, rejection);
  }

  /** A published change concerns the stream's subscription to `typeUrl`. */
  invalidated(typeUrl: TypeUrl): void {
    this.evaluate(typeUrl, false);
  }

  /** A publish without a change set: every subscription is evaluated again. */
  invalidateAll(): void {
    if (this.closed) return;
    this.dirty = allTypes;
    this.deps.schedule(this, false);
  }

  handleRequest(request: NormalizedRequest): void {
    if (this.closed) return;
    if (!this.identity) {
      this.identity = proxyIdentity(request.node);
      this.node = clientNode(request.node);
      // The proxy's group of shared resources is kept while it is connected (see close()).
      this.deps.cache.attach(this.identity.profile);
      this.deps.logger.info(
        {
          ...this.logFields(),
          node: this.identity.nodeId,
          namespace: excerpt(this.identity.profile.namespace),
          userAgent: this.identity.userAgent,
          client: this.identity.clientGroup,
        },
        "proxy connected",
      );
    }
    const typeUrl = request.typeUrl;
    if (!isKnownTypeUrl(typeUrl)) {
      if (!this.unsupportedLogged) {
        this.unsupportedLogged = true;
        this.deps.logger.warn(
          { ...this.logFields(), node: this.identity.nodeId, typeUrl: excerpt(typeUrl) },
          "request for an unsupported resource type ignored (logged once per stream)",
        );
      }
      return;
    }
    let subscription = this.subscriptions.get(typeUrl);
    const firstForType = !subscription;
    if (!subscription) {
      const group = this.deps.cache.snapshot?.profileGroup(typeUrl, this.identity.profile);
      subscription = new Subscription(typeUrl, this, this.deps.subscriptions, group);
      this.subscriptions.set(typeUrl, subscription);
    }
    // Whether the proxy now needs an evaluation: a new type or names, a NACK (what it may be
    // offered instead), or a change that waited for this answer. A plain ACK needs nothing.
    let evaluate = firstForType;
    if (request.responseNonce !== "") {
      // A request answering an older response is stale: the proxy will answer the newer one,
      // and acting on this one would undo that (xDS protocol, "Resource updates").
      if (request.responseNonce !== subscription.sentNonce) {
        this.deps.metrics.staleRequests.inc({ type: typeShortName[typeUrl] });
        this.deps.logger.debug(
          { ...this.logFields(), type: typeShortName[typeUrl], nonce: excerpt(request.responseNonce) },
          "stale request",
        );
        if (!this.protocol.namesApplyWhenStale) return;
      } else if (this.answer(subscription, request)) {
        evaluate = true;
      }
    }
    const revision = subscription.revision;
    request.updateNames(subscription, firstForType);
    if (evaluate || subscription.revision !== revision) this.evaluate(typeUrl, true);
  }

  /** Marks `typeUrl` for the next push and queues the stream. */
  private evaluate(typeUrl: TypeUrl, urgent: boolean): void {
    if (this.closed) return;
    this.dirty |= typeBit.get(typeUrl) ?? 0;
    this.deps.schedule(this, urgent);
  }

  /** Applies an ACK or NACK; true when the subscription must be evaluated again. */
  private answer(subscription: Subscription, request: NormalizedRequest): boolean {
    const inFlight = subscription.inFlight;
    // Already answered: grpc-js-xds repeats its last answer (nonce and error) whenever it
    // changes its subscription, and that request only changes names.
    if (!inFlight) return false;
    subscription.inFlight = undefined;
    const type = typeShortName[subscription.typeUrl];
    if (!request.error) {
      subscription.accept(inFlight, new Set());
      // An accepted newer version ends a rejection series (and its backoff).
      for (const resource of inFlight.resources)
        if (!inFlight.withheld.has(resource.name)) subscription.clearRejection(resource.name);
      subscription.ackedVersion = inFlight.version;
      this.deps.metrics.acks.inc({ type });
      this.reportAnswer(inFlight, type, undefined);
      this.deps.logger.debug(
        { ...this.logFields(), node: this.identity?.nodeId, type, version: inFlight.version },
        "ACK",
      );
      return subscription.pushPending;
    }
    const rejected = this.isolate(subscription, inFlight, request.error.message);
    const message = excerpt(request.error.message, nackTextChars);
    subscription.evaluatedVersion = undefined;
    subscription.nackCount++;
    subscription.lastNack = {
      rejectedVersion: inFlight.version,
      nonce: request.responseNonce,
      message,
      code: request.error.code,
      at: this.deps.now().toISOString(),
    };
    this.deps.metrics.nacks.inc({ type });
    this.reportAnswer(inFlight, type, message);
    this.deps.logger.warn(
      {
        ...this.logFields(),
        node: this.identity?.nodeId,
        type,
        rejectedVersion: inFlight.version,
        keptVersion: subscription.ackedVersion,
        resources: rejected.map((r) => r.name),
        objects: [...new Set(rejected.flatMap((r) => r.objects))],
        error: message,
      },
      "proxy rejected configuration (NACK)",
    );
    return true;
  }

  /** Tells the traced change a response carried how the proxy answered it. */
  private reportAnswer(inFlight: InFlight, type: string, error: string | undefined): void {
    inFlight.sent?.change.answered(inFlight.sent, {
      node: this.identity?.nodeId ?? "",
      type,
      version: inFlight.version,
      error,
    });
  }

  /**
   * Works out which resources of the rejected response the proxy refused, records them (they
   * are not offered again until their content changes, see isolation.ts) and takes the rest as
   * accepted, as clients apply the valid resources of a rejected response.
   */
  private isolate(
    subscription: Subscription,
    inFlight: InFlight,
    message: string,
  ): { name: string; objects: readonly string[] }[] {
    const heldHash = (name: string) => heldVersion(subscription.held.get(name)) ?? null;
    const attribution = attributeNack(
      message,
      inFlight.resources.map((r) => ({ name: r.name, changed: heldHash(r.name) !== r.hash })),
    );
    const kept = new Map([...attribution.errors.keys()].map((name) => [name, heldHash(name)]));
    subscription.accept(inFlight, new Set(attribution.errors.keys()));
    for (const resource of inFlight.resources) {
      if (!attribution.errors.has(resource.name) && !inFlight.withheld.has(resource.name))
        subscription.clearRejection(resource.name);
    }
    const at = this.deps.now();
    const snapshot = this.deps.cache.snapshot;
    return inFlight.resources.flatMap((resource) => {
      const text = attribution.errors.get(resource.name);
      if (text === undefined) return [];
      const error = excerpt(text, nackTextChars);
      const previous = subscription.rejections.get(resource.name);
      // A last good version sent in place of a rejected one was refused too: the series goes on
      // against the version that is wanted.
      const rejectedHash =
        inFlight.withheld.has(resource.name) && previous ? previous.rejectedHash : resource.hash;
      // What the rejected version was built from, as its generator recorded it; the full text
      // narrows it (an endpoint address the proxy quotes).
      const objects = snapshot?.sources(resource.source, text) ?? [];
      const keptHash = kept.get(resource.name) ?? null;
      subscription.reject(
        resource.name,
        nextRejection(previous, { rejectedHash, keptHash, error, objects }, at, this.deps.backoff),
      );
      return [{ name: resource.name, objects }];
    });
  }

  /**
   * Evaluates the subscriptions marked since the last push against the current snapshot, in
   * make-before-break order: resolves (translating what is not memoized), encodes and sends.
   */
  push(): void {
    const dirty = this.dirty;
    this.dirty = 0;
    for (const typeUrl of pushOrder) {
      if ((dirty & (typeBit.get(typeUrl) ?? 0)) === 0) continue;
      const subscription = this.subscriptions.get(typeUrl);
      if (subscription) this.sendIfChanged(subscription);
    }
  }

  private sendIfChanged(subscription: Subscription): void {
    if (this.closed || !this.identity) return;
    if (subscription.inFlight) {
      subscription.pushPending = true;
      return;
    }
    subscription.pushPending = false;
    this.deps.metrics.evaluations.inc({ type: typeShortName[subscription.typeUrl] });
    const resolved = this.deps.cache.resolve(
      this.identity.profile,
      subscription.typeUrl,
      subscription.request(),
      subscription.requestKey,
    );
    subscription.setTargets(resolved);
    const offer = this.offer(subscription, resolved);
    const nonce = String(this.nonce + 1);
    const response = this.protocol.respond(subscription, resolved, offer, nonce, this.deps.controlPlaneId);
    if (!response) return;
    this.nonce++;
    subscription.sentVersion = response.inFlight.version;
    subscription.sentNonce = nonce;
    const sent = this.deps.cache.snapshot?.trace?.sent();
    subscription.inFlight = { nonce, ...response.inFlight, sent };
    const type = typeShortName[subscription.typeUrl];
    this.deps.metrics.pushes.inc({ type });
    this.deps.logger.debug(
      {
        ...this.logFields(),
        type,
        version: response.inFlight.version,
        nonce,
        resources: response.resourceCount,
      },
      "response sent",
    );
    this.write(response.bytes);
  }

  /** What the proxy may be given, when it rejected some resources; undefined when it rejected none. */
  private offer(subscription: Subscription, resolved: ResolvedResources): Offer | undefined {
    if (subscription.rejections.size === 0) return undefined;
    const offer = planOffer(
      resolved.resources,
      subscription.held,
      subscription.rejections,
      this.deps.now().getTime(),
    );
    for (const name of offer.settled) subscription.clearRejection(name);
    if (offer.retryAt !== undefined) this.retryAt(subscription, offer.retryAt);
    return offer;
  }

  /** Re-evaluates `subscription` at `at`, when a held-back newer version may be offered. */
  private retryAt(subscription: Subscription, at: number): void {
    const typeUrl = subscription.typeUrl;
    this.retries ??= new Map();
    const pending = this.retries.get(typeUrl);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.deps.timers.after(at - this.deps.now().getTime(), () => {
      this.retries?.delete(typeUrl);
      subscription.evaluatedVersion = undefined;
      this.evaluate(typeUrl, true);
    });
    this.retries.set(typeUrl, { at, timer });
  }

  /** Withdraws everything the stream counted or kept in shared state; it ignores requests after. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { timer } of this.retries?.values() ?? []) timer.cancel();
    this.retries = undefined;
    for (const subscription of this.subscriptions.values()) subscription.release();
    if (this.identity) this.deps.cache.detach(this.identity.profile);
  }

  /** The proxy's client group, once its first request said who it is. */
  get clientGroup(): string | undefined {
    return this.identity?.clientGroup;
  }

  status(): ProxyStatus {
    return {
      streamId: this.id,
      protocol: this.protocol.name,
      nodeId: this.identity?.nodeId ?? "",
      namespace: this.identity?.profile.namespace ?? "",
      userAgent: this.identity?.userAgent ?? "",
      flavour: this.identity?.profile.flavour ?? "grpc",
      instanceIps: this.identity?.profile.instanceIps ?? [],
      client: proxyClient(this.identity?.profile.client),
      connectedAt: new Date(this.connectedAt).toISOString(),
      types: pushOrder.flatMap(
        (t) => this.subscriptions.get(t)?.status((this.dirty & (typeBit.get(t) ?? 0)) !== 0) ?? [],
      ),
      rejections: pushOrder.flatMap((t) => this.subscriptions.get(t)?.rejectionStatus() ?? []),
    };
  }

  /** Who the proxy is and what it subscribed to, for CSDS; undefined before its first request. */
  clientState(): { readonly node: Node; readonly subscriptions: Iterable<Subscription> } | undefined {
    return this.node && { node: this.node, subscriptions: this.subscriptions.values() };
  }

  heldResources(): ReadonlyMap<TypeUrl, ReturnType<Subscription["heldResources"]>> {
    return new Map([...this.subscriptions].map(([typeUrl, s]) => [typeUrl, s.heldResources()]));
  }

  /** What every log line about the stream says (bound per call: a child logger per stream costs memory). */
  private logFields(): { stream: number; protocol: ProtocolAdapter["name"] } {
    return { stream: this.id, protocol: this.protocol.name };
  }
}
