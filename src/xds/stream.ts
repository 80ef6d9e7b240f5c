// One ADS stream, whichever protocol variant: identity, per-type subscriptions, nonces, ACK/NACK
// bookkeeping and flow control (xDS protocol, "ACK/NACK and resource type instance version").
// The variants plug in as a ProtocolAdapter that reads requests and builds responses.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { ProxyProfile } from "../translate/index.ts";
import type { ResolvedResources, ResourceCache } from "./cache.ts";
import { isKnownTypeUrl, pushOrder, typeShortName, type TypeUrl } from "./resource-types.ts";
import type { ProxyStatus } from "./status.ts";
import { Subscription, type InFlight } from "./subscription.ts";

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
  /** Builds the response for `subscription`, or undefined when the proxy already has it all. */
  respond(
    subscription: Subscription,
    resolved: ResolvedResources,
    nonce: string,
    controlPlaneId: string,
  ): Response | undefined;
}

export interface Response {
  readonly bytes: Uint8Array;
  readonly inFlight: Omit<InFlight, "nonce">;
  readonly resourceCount: number;
}

export interface StreamDependencies {
  readonly cache: ResourceCache;
  readonly metrics: MeshplaneMetrics;
  readonly logger: Logger;
  readonly controlPlaneId: string;
  readonly now: () => Date;
  readonly write: (bytes: Uint8Array) => void;
}

export interface ProxyIdentity {
  readonly nodeId: string;
  readonly profile: ProxyProfile;
  readonly userAgent: string;
}

/** Reads who the proxy is from the node of its first request. */
export function proxyIdentity(node: Node | undefined): ProxyIdentity {
  const metadata: JsonObject = node?.metadata ?? {};
  const namespace =
    typeof metadata.NAMESPACE === "string" && metadata.NAMESPACE ? metadata.NAMESPACE : "default";
  const version =
    node?.userAgentVersionType.case === "userAgentVersion" ? node.userAgentVersionType.value : "";
  const instanceIps =
    typeof metadata.INSTANCE_IPS === "string" ? metadata.INSTANCE_IPS.split(",").filter(Boolean) : [];
  return {
    nodeId: node?.id ?? "",
    profile: { namespace, flavour: node?.userAgentName === "envoy" ? "envoy" : "grpc", instanceIps },
    userAgent: [node?.userAgentName, version].filter(Boolean).join("/"),
  };
}

export class AdsStream {
  readonly id: number;
  readonly protocol: ProtocolAdapter;
  readonly connectedAt: Date;
  private identity: ProxyIdentity | undefined;
  private readonly subscriptions = new Map<TypeUrl, Subscription>();
  private nonce = 0;
  private closed = false;
  private readonly deps: StreamDependencies;
  private readonly log: Logger;

  constructor(id: number, protocol: ProtocolAdapter, deps: StreamDependencies) {
    this.id = id;
    this.protocol = protocol;
    this.deps = deps;
    this.connectedAt = deps.now();
    this.log = deps.logger.child({ stream: id, protocol: protocol.name });
  }

  get nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  handleRequest(request: NormalizedRequest): void {
    if (this.closed) return;
    if (!this.identity) {
      this.identity = proxyIdentity(request.node);
      this.log.info(
        {
          node: this.identity.nodeId,
          namespace: this.identity.profile.namespace,
          userAgent: this.identity.userAgent,
        },
        "proxy connected",
      );
    }
    const typeUrl = request.typeUrl;
    if (!isKnownTypeUrl(typeUrl)) {
      this.log.warn(
        { node: this.identity.nodeId, typeUrl },
        "request for an unsupported resource type ignored",
      );
      return;
    }
    let subscription = this.subscriptions.get(typeUrl);
    const firstForType = !subscription;
    if (!subscription) {
      subscription = new Subscription(typeUrl);
      this.subscriptions.set(typeUrl, subscription);
    }
    if (request.responseNonce !== "") {
      // A request answering an older response is stale: the proxy will answer the newer one,
      // and acting on this one would undo that (xDS protocol, "Resource updates").
      if (request.responseNonce !== subscription.sentNonce) {
        this.deps.metrics.staleRequests.inc({ type: typeShortName[typeUrl] });
        this.log.debug({ type: typeShortName[typeUrl], nonce: request.responseNonce }, "stale request");
        if (!this.protocol.namesApplyWhenStale) return;
      } else {
        this.answer(subscription, request);
      }
    }
    request.updateNames(subscription, firstForType);
    this.sendIfChanged(subscription);
  }

  private answer(subscription: Subscription, request: NormalizedRequest): void {
    const inFlight = subscription.inFlight;
    subscription.inFlight = undefined;
    const type = typeShortName[subscription.typeUrl];
    if (!request.error) {
      subscription.ackedVersion = inFlight?.version ?? request.versionInfo;
      this.deps.metrics.acks.inc({ type });
      this.log.debug({ node: this.identity?.nodeId, type, version: subscription.ackedVersion }, "ACK");
      return;
    }
    // The proxy keeps running on what it had; remember what it refused so it is not resent.
    inFlight?.revert();
    subscription.lastEvaluated = undefined;
    for (const [name, version] of inFlight?.carried ?? []) subscription.rejected.set(name, version);
    subscription.nackCount++;
    subscription.lastNack = {
      rejectedVersion: inFlight?.version ?? "",
      nonce: request.responseNonce,
      message: request.error.message,
      code: request.error.code,
      at: this.deps.now().toISOString(),
    };
    this.deps.metrics.nacks.inc({ type });
    this.log.warn(
      {
        node: this.identity?.nodeId,
        type,
        rejectedVersion: inFlight?.version,
        keptVersion: subscription.ackedVersion,
        error: request.error.message,
      },
      "proxy rejected configuration (NACK)",
    );
  }

  /** Re-evaluates every subscription against the current snapshot, in make-before-break order. */
  push(): void {
    for (const typeUrl of pushOrder) {
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
    const resolved = this.deps.cache.resolve(
      this.identity.profile,
      subscription.typeUrl,
      subscription.request(),
      subscription.requestKey,
    );
    const nonce = String(this.nonce + 1);
    const response = this.protocol.respond(subscription, resolved, nonce, this.deps.controlPlaneId);
    if (!response) return;
    this.nonce++;
    subscription.sentVersion = response.inFlight.version;
    subscription.sentNonce = nonce;
    subscription.inFlight = { nonce, ...response.inFlight };
    const type = typeShortName[subscription.typeUrl];
    this.deps.metrics.pushes.inc({ type });
    this.log.debug(
      { type, version: response.inFlight.version, nonce, resources: response.resourceCount },
      "response sent",
    );
    this.deps.write(response.bytes);
  }

  close(): void {
    this.closed = true;
  }

  status(): ProxyStatus {
    return {
      streamId: this.id,
      protocol: this.protocol.name,
      nodeId: this.identity?.nodeId ?? "",
      namespace: this.identity?.profile.namespace ?? "",
      userAgent: this.identity?.userAgent ?? "",
      connectedAt: this.connectedAt.toISOString(),
      types: pushOrder.flatMap((t) => this.subscriptions.get(t)?.status() ?? []),
    };
  }

  heldResources(): ReadonlyMap<TypeUrl, ReturnType<Subscription["heldResources"]>> {
    return new Map([...this.subscriptions].map(([typeUrl, s]) => [typeUrl, s.heldResources()]));
  }
}
