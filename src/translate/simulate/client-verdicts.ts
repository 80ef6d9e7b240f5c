// What one client release does with the features a resource uses, beyond the rules every gRPC
// client shares (grpc-validation.ts): a client older than a feature ignores it, or NACKs the
// resource where the feature is a value of a field it reads (clients/features.ts). Without a client
// (explain with no --client, a proxy that names none) nothing is added: meshplane claims nothing.
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { Cluster_LbPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import {
  featureVerdict,
  type ClientFeature,
  type ClientIdentity,
  type FeatureVerdict,
} from "../clients/index.ts";

/** A client's verdicts on one resource: why it would NACK it, and what it would ignore. */
export interface ClientVerdicts {
  readonly rejected: string[];
  readonly ignored: string[];
}

const sharedHeaderMatchers = ["exactMatch", "safeRegexMatch", "rangeMatch", "presentMatch", "prefixMatch"];

/**
 * The header matcher kinds `client` accepts. grpc-js-xds 1.14 lists no contains_match
 * (route-config-resource-type.ts); C-core, grpc-go and grpc-java read it (gRFC A28). Without a
 * client, grpc-js-xds's list, which the validator has always used.
 */
export function headerMatcherKinds(client: ClientIdentity | undefined): ReadonlySet<string> {
  const kinds = [...sharedHeaderMatchers, "suffixMatch"];
  if (client && client.implementation !== "grpc-js") kinds.push("containsMatch");
  if (featureVerdict(client, "headerStringMatch").verdict === "accepted") kinds.push("stringMatch");
  return new Set(kinds);
}

/** Why `client` rejects header matcher `kind`: the gRFC and release, and what C-core says. */
export function headerMatcherRejection(client: ClientIdentity | undefined, kind: string): string {
  const verdict = kind === "stringMatch" ? featureVerdict(client, "headerStringMatch") : undefined;
  if (!verdict || verdict.verdict === "accepted") return "is not supported";
  const said =
    client?.implementation === "grpc-core" ? ' (C-core says "Invalid route header matcher specified.")' : "";
  return `is ${verdict.reason}${said}`;
}

function collect(verdicts: ClientVerdicts, verdict: FeatureVerdict, where: string): void {
  if (verdict.verdict === "accepted") return;
  (verdict.verdict === "ignored" ? verdicts.ignored : verdicts.rejected).push(`${where}${verdict.reason}`);
}

function uses(client: ClientIdentity | undefined, feature: ClientFeature, used: boolean): FeatureVerdict {
  return used ? featureVerdict(client, feature) : { verdict: "accepted" };
}

/** Route-level features: timeouts, retries and fault overrides. Header matchers: grpc-validation.ts. */
export function routeConfigurationVerdicts(
  config: RouteConfiguration,
  client: ClientIdentity | undefined,
): ClientVerdicts {
  const verdicts: ClientVerdicts = { rejected: [], ignored: [] };
  if (!client) return verdicts;
  for (const vhost of config.virtualHosts) {
    for (const route of vhost.routes) {
      const where = `route ${route.name || "(unnamed)"}: `;
      const action = route.action.case === "route" ? route.action.value : undefined;
      collect(verdicts, uses(client, "maxStreamDuration", action?.maxStreamDuration !== undefined), where);
      collect(
        verdicts,
        uses(client, "retry", (action?.retryPolicy ?? vhost.retryPolicy) !== undefined),
        where,
      );
      collect(
        verdicts,
        uses(client, "faultInjection", Object.keys(route.typedPerFilterConfig).length > 0),
        where,
      );
    }
  }
  return { rejected: [...new Set(verdicts.rejected)], ignored: [...new Set(verdicts.ignored)] };
}

/** Cluster-level features: ring hash (an LB policy, so NACKed when unknown), circuit breaking, outlier detection. */
export function clusterVerdicts(cluster: Cluster, client: ClientIdentity | undefined): ClientVerdicts {
  const verdicts: ClientVerdicts = { rejected: [], ignored: [] };
  if (!client) return verdicts;
  collect(verdicts, uses(client, "ringHash", cluster.lbPolicy === Cluster_LbPolicy.RING_HASH), "");
  const maxRequests = cluster.circuitBreakers?.thresholds.some((t) => t.maxRequests !== undefined) ?? false;
  collect(verdicts, uses(client, "circuitBreaking", maxRequests), "");
  collect(verdicts, uses(client, "outlierDetection", cluster.outlierDetection !== undefined), "");
  return verdicts;
}
