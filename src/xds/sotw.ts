// State-of-the-world ADS (StreamAggregatedResources). LDS and CDS responses carry the whole set
// the proxy should have: a name left out is read as deleted. RDS and EDS responses carry only the
// resources the proxy does not hold yet (xDS protocol, "Grouping resources into responses": in
// SotW only Listener and Cluster need the full state; other types are grouped as in delta), so
// a change to one route or one cluster's endpoints sends that one resource. One version string
// covers the set the proxy should have, whichever part of it a response carries.
//
// A client must not read a partial RDS/EDS response as deleting the rest: @grpc/grpc-js-xds
// 1.14.1 deletes resources missing from a response only for types whose
// `allResourcesRequiredInSotW()` is true (build/src/xds-client.js, handleResponseMessage), and
// that is false for RouteConfiguration and ClusterLoadAssignment
// (build/src/xds-resource-type/route-config-resource-type.js, endpoint-resource-type.js). Envoy's
// SotW mux gives an RDS/EDS watch only the resources a response names, and only when it names
// some (source/extensions/config_subscription/grpc/grpc_mux_impl.cc, onDiscoveryResponse).
import type { DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { setVersion, type EncodedResource } from "./cache.ts";
import { requiresFullState } from "./resource-types.ts";
import { commonRequestFields, type NormalizedRequest, type ProtocolAdapter } from "./stream.ts";
import { heldVersion, type Subscription } from "./subscription.ts";
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
    const first = subscription.sentVersion === null;
    const full = requiresFullState(subscription.typeUrl);
    let carried = resources;
    if (full || first) {
      // The first response is always sent (an empty LDS/CDS set completes a proxy's start-up);
      // after that, nothing is sent if the set is the one last sent, or the one a NACK left the
      // proxy with (its last good versions of what it rejected, and the rest).
      if (!first && (version === subscription.sentVersion || version === subscription.answeredSetVersion)) {
        return undefined;
      }
    } else {
      // RDS/EDS: what the proxy lacks, resource by resource. A set version cannot tell: a proxy
      // that drops a name and asks for it again takes its set back to a version already sent,
      // and has forgotten the resource. Nothing lacking (a held resource was deleted, names were
      // dropped, a rejected one is held back): SotW cannot say more to RDS/EDS, nothing is sent.
      carried = resources.filter((r) => notHeld(subscription, r));
      if (carried.length === 0) return undefined;
    }
    return {
      bytes: encodeDiscoveryResponse({
        versionInfo: version,
        resources: carried.map((r) => r.any),
        typeUrl: subscription.typeUrl,
        nonce,
        controlPlaneId,
      }),
      resourceCount: carried.length,
      inFlight: {
        version,
        resources: carried,
        removed: [],
        replacesSet: full,
        withheld: offer?.withheld ?? none,
      },
    };
  },
};

function notHeld(subscription: Subscription, resource: EncodedResource): boolean {
  return heldVersion(subscription.held.get(resource.name)) !== resource.hash;
}
