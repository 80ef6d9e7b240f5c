// State-of-the-world ADS (StreamAggregatedResources): every response carries the whole set the
// proxy subscribed to; one version string covers the set.
import type { DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { commonRequestFields, type NormalizedRequest, type ProtocolAdapter } from "./stream.ts";
import type { HeldResource } from "./subscription.ts";
import { encodeDiscoveryResponse } from "./wire.ts";

export function normalizeSotwRequest(request: DiscoveryRequest): NormalizedRequest {
  return {
    ...commonRequestFields(request),
    versionInfo: request.versionInfo,
    updateNames: (subscription) => subscription.replaceNames(request.resourceNames),
  };
}

export const sotwProtocol: ProtocolAdapter = {
  name: "sotw",
  namesApplyWhenStale: false,
  respond(subscription, resolved, nonce, controlPlaneId) {
    // Same set as last sent: nothing new (and after a NACK the rejected set is not resent).
    if (resolved.version === subscription.sentVersion) return undefined;
    const previous = new Map(subscription.held);
    subscription.held.clear();
    for (const resource of resolved.resources) {
      subscription.held.set(resource.name, { version: resource.hash, resource } satisfies HeldResource);
    }
    return {
      bytes: encodeDiscoveryResponse({
        versionInfo: resolved.version,
        resources: resolved.resources.map((r) => r.any),
        typeUrl: subscription.typeUrl,
        nonce,
        controlPlaneId,
      }),
      resourceCount: resolved.resources.length,
      inFlight: {
        version: resolved.version,
        carried: new Map(),
        revert: () => {
          subscription.held.clear();
          for (const [name, held] of previous) subscription.held.set(name, held);
        },
      },
    };
  },
};
