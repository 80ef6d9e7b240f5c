// Incremental ADS (DeltaAggregatedResources): responses carry only resources whose version (a
// content hash) differs from what the proxy holds, plus removals. A proxy that reconnects
// declares what it holds (initial_resource_versions) and receives only what changed meanwhile.
import type { DeltaDiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "./cache.ts";
import { commonRequestFields, type NormalizedRequest, type ProtocolAdapter } from "./stream.ts";
import { absent, heldVersion, type Subscription } from "./subscription.ts";
import { encodeDeltaDiscoveryResponse, encodeDeltaResource } from "./wire.ts";

/**
 * Each resource version's delta wrapper (name, version, Any) is encoded once and shared by every
 * proxy it is sent to, like the Any itself; entries go with the resource version.
 */
const encodedWrappers = new WeakMap<EncodedResource, Uint8Array>();
const none: ReadonlySet<string> = new Set();

function deltaWrapper(resource: EncodedResource): Uint8Array {
  let bytes = encodedWrappers.get(resource);
  if (!bytes) {
    bytes = encodeDeltaResource(resource.name, resource.hash, resource.any);
    encodedWrappers.set(resource, bytes);
  }
  return bytes;
}

export function normalizeDeltaRequest(request: DeltaDiscoveryRequest): NormalizedRequest {
  return {
    ...commonRequestFields(request),
    versionInfo: "",
    updateNames: (subscription, firstForType) => {
      // initial_resource_versions is only meaningful on the first request of a type.
      if (firstForType) subscription.seedHeld(request.initialResourceVersions);
      subscription.changeNames(request.resourceNamesSubscribe, request.resourceNamesUnsubscribe);
    },
  };
}

export const deltaProtocol: ProtocolAdapter = {
  name: "delta",
  namesApplyWhenStale: true,
  respond(subscription, resolved, offer, nonce, controlPlaneId) {
    // Same resources for the same names as last evaluated: nothing can differ (a NACK or a
    // backoff expiring clears this).
    if (
      subscription.evaluatedVersion === resolved.version &&
      subscription.evaluatedRevision === subscription.revision
    ) {
      return undefined;
    }
    subscription.evaluatedVersion = resolved.version;
    subscription.evaluatedRevision = subscription.revision;
    const desired = new Set(resolved.resources.map((r) => r.name));
    // Versions declared on resume become the shared resources they name, once they match.
    for (const resource of resolved.resources) subscription.adoptHeld(resource);
    // A held-back resource is offered at the version the proxy holds, so it is not sent.
    const changed = (offer?.resources ?? resolved.resources).filter((r) => needsSending(subscription, r));
    const removed: string[] = [];
    for (const [name, held] of subscription.held)
      if (held !== absent && !desired.has(name)) removed.push(name);
    // A name subscribed explicitly that does not exist is reported once, as removed.
    if (!subscription.wildcard) {
      for (const name of subscription.names)
        if (!desired.has(name) && !subscription.held.has(name)) removed.push(name);
    }
    if (changed.length === 0 && removed.length === 0) return undefined;
    return {
      bytes: encodeDeltaDiscoveryResponse({
        systemVersionInfo: resolved.version,
        resources: changed.map(deltaWrapper),
        removed,
        typeUrl: subscription.typeUrl,
        nonce,
        controlPlaneId,
      }),
      resourceCount: changed.length + removed.length,
      inFlight: {
        version: resolved.version,
        resources: changed,
        removed,
        replacesSet: false,
        withheld: offer?.withheld ?? none,
      },
    };
  },
};

function needsSending(subscription: Subscription, resource: EncodedResource): boolean {
  return heldVersion(subscription.held.get(resource.name)) !== resource.hash;
}
