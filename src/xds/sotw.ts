// One state-of-the-world ADS stream (xDS protocol, "ACK/NACK and resource type instance
// version"): per type, the proxy's subscription, what it was sent, what it runs on.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { JsonObject } from "@bufbuild/protobuf";
import type { DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import type { ProxyProfile } from "../translate/index.ts";
import type { ResourceCache } from "./cache.ts";
import { isKnownTypeUrl, pushOrder, typeShortName, type TypeUrl } from "./resource-types.ts";
import type { ProxyStatus } from "./status.ts";
import { Subscription } from "./subscription.ts";
import { encodeDiscoveryResponse } from "./wire.ts";

export interface StreamDependencies {
  readonly cache: ResourceCache;
  readonly metrics: MeshplaneMetrics;
  readonly logger: Logger;
  readonly controlPlaneId: string;
  readonly now: () => Date;
}

export interface ProxyIdentity {
  readonly nodeId: string;
  readonly profile: ProxyProfile;
  readonly userAgent: string;
}

/** Reads who the proxy is from the node of its first request. */
export function proxyIdentity(request: DiscoveryRequest): ProxyIdentity {
  const node = request.node;
  const metadata: JsonObject = node?.metadata ?? {};
  const namespace =
    typeof metadata.NAMESPACE === "string" && metadata.NAMESPACE ? metadata.NAMESPACE : "default";
  const version =
    node?.userAgentVersionType.case === "userAgentVersion" ? node.userAgentVersionType.value : "";
  return {
    nodeId: node?.id ?? "",
    profile: { namespace },
    userAgent: [node?.userAgentName, version].filter(Boolean).join("/"),
  };
}

export class SotwStream {
  readonly id: number;
  readonly connectedAt: Date;
  private identity: ProxyIdentity | undefined;
  private readonly subscriptions = new Map<TypeUrl, Subscription>();
  private nonce = 0;
  private closed = false;
  private readonly call: ServerDuplexStream<DiscoveryRequest, Uint8Array>;
  private readonly deps: StreamDependencies;
  private readonly log: Logger;

  constructor(id: number, call: ServerDuplexStream<DiscoveryRequest, Uint8Array>, deps: StreamDependencies) {
    this.id = id;
    this.call = call;
    this.deps = deps;
    this.connectedAt = deps.now();
    this.log = deps.logger.child({ stream: id });
  }

  get nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  handleRequest(request: DiscoveryRequest): void {
    if (this.closed) return;
    if (!this.identity) {
      this.identity = proxyIdentity(request);
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
    if (!subscription) {
      subscription = new Subscription(typeUrl);
      this.subscriptions.set(typeUrl, subscription);
    }
    const type = typeShortName[typeUrl];
    if (request.responseNonce !== "") {
      // A request that answers an older response is stale: the proxy has a newer one in flight
      // and will answer it; acting on this one would undo that (xDS protocol, "Resource updates").
      if (request.responseNonce !== subscription.sentNonce) {
        this.deps.metrics.staleRequests.inc({ type });
        this.log.debug(
          { type, nonce: request.responseNonce, expected: subscription.sentNonce },
          "stale request ignored",
        );
        return;
      }
      subscription.awaitingAck = false;
      if (request.errorDetail) {
        this.recordNack(subscription, request);
      } else {
        subscription.ackedVersion = request.versionInfo;
        this.deps.metrics.acks.inc({ type });
        this.log.debug({ node: this.identity.nodeId, type, version: request.versionInfo }, "ACK");
      }
    }
    subscription.updateNames(request.resourceNames);
    this.sendIfChanged(subscription);
  }

  private recordNack(subscription: Subscription, request: DiscoveryRequest): void {
    const detail = request.errorDetail;
    subscription.nackCount++;
    subscription.lastNack = {
      rejectedVersion: subscription.sentVersion ?? "",
      nonce: request.responseNonce,
      message: detail?.message ?? "",
      code: detail?.code ?? 0,
      at: this.deps.now().toISOString(),
    };
    const type = typeShortName[subscription.typeUrl];
    this.deps.metrics.nacks.inc({ type });
    // The proxy keeps running on its last accepted version; we do not resend the rejected one.
    this.log.warn(
      {
        node: this.identity?.nodeId,
        type,
        rejectedVersion: subscription.sentVersion,
        keptVersion: request.versionInfo,
        error: detail?.message,
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
    if (subscription.awaitingAck) {
      subscription.pushPending = true;
      return;
    }
    subscription.pushPending = false;
    const resolved = this.deps.cache.resolve(
      this.identity.profile,
      subscription.typeUrl,
      subscription.request(),
    );
    // Same version as last sent: nothing new for this proxy (and after a NACK, resending the
    // rejected version would only be rejected again).
    if (resolved.version === subscription.sentVersion) return;
    const nonce = String(++this.nonce);
    const bytes = encodeDiscoveryResponse({
      versionInfo: resolved.version,
      resources: resolved.resources.map((r) => r.any),
      typeUrl: subscription.typeUrl,
      nonce,
      controlPlaneId: this.deps.controlPlaneId,
    });
    subscription.sentVersion = resolved.version;
    subscription.sentNonce = nonce;
    subscription.sent = new Map(resolved.resources.map((r) => [r.name, r]));
    subscription.awaitingAck = true;
    this.deps.metrics.pushes.inc({ type: typeShortName[subscription.typeUrl] });
    this.log.debug(
      {
        type: typeShortName[subscription.typeUrl],
        version: resolved.version,
        nonce,
        resources: resolved.resources.length,
      },
      "response sent",
    );
    this.call.write(bytes);
  }

  /** Stops sending; with `end`, also finishes the call so the proxy reconnects elsewhere. */
  close(end = false): void {
    if (end && !this.closed) this.call.end();
    this.closed = true;
  }

  status(): ProxyStatus {
    return {
      streamId: this.id,
      nodeId: this.identity?.nodeId ?? "",
      namespace: this.identity?.profile.namespace ?? "",
      userAgent: this.identity?.userAgent ?? "",
      connectedAt: this.connectedAt.toISOString(),
      types: pushOrder.flatMap((t) => this.subscriptions.get(t)?.status() ?? []),
    };
  }

  sentResources(): ReadonlyMap<TypeUrl, Subscription["sent"]> {
    return new Map([...this.subscriptions].map(([typeUrl, s]) => [typeUrl, s.sent]));
  }
}
