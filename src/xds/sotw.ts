// State-of-the-world ADS (StreamAggregatedResources): every response carries the whole set the
// proxy subscribed to; one version string covers the set.
import type { DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { setVersion } from "./cache.ts";
import { commonRequestFields, type NormalizedRequest, type ProtocolAdapter } from "./stream.ts";
import { encodeDiscoveryResponse } from "./wire.ts";

const none: ReadonlySet<string> = new Set();

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
  respond(subscription, resolved, offer, nonce, controlPlaneId) {
    // With resources held back, the set differs from the shared one: its own version.
    const resources = offer?.substituted ? offer.resources : resolved.resources;
    const version = offer?.substituted ? setVersion(resources) : resolved.version;
    // The first response is always sent (an empty LDS/CDS set completes a proxy's start-up);
    // after that, nothing is sent if the set is the one last sent, or the one a NACK left the
    // proxy with (its last good versions of what it rejected, and the rest).
    if (
      subscription.sentVersion !== null &&
      (version === subscription.sentVersion || version === subscription.answeredSetVersion)
    ) {
      return undefined;
    }
    return {
      bytes: encodeDiscoveryResponse({
        versionInfo: version,
        resources: resources.map((r) => r.any),
        typeUrl: subscription.typeUrl,
        nonce,
        controlPlaneId,
      }),
      resourceCount: resources.length,
      inFlight: { version, resources, removed: [], replacesSet: true, withheld: offer?.withheld ?? none },
    };
  },
};
