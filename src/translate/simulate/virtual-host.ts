// Virtual host selection by domain, as Envoy and grpc-js-xds do it: an exact domain beats the
// longest suffix wildcard (`*.x`), which beats the longest prefix wildcard (`x*`), which beats `*`.
import type { VirtualHost } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { SimulationFlavour } from "./types.ts";

const ranks = ["exact", "suffix", "prefix", "any"] as const;
export type DomainMatchType = (typeof ranks)[number];

export interface VirtualHostChoice {
  readonly virtualHost: VirtualHost;
  readonly domain: string;
  readonly matchType: DomainMatchType;
}

function matchType(pattern: string): DomainMatchType | undefined {
  if (pattern === "") return undefined;
  if (pattern === "*") return "any";
  const star = pattern.indexOf("*");
  if (star < 0) return "exact";
  if (star !== pattern.lastIndexOf("*")) return undefined;
  if (star === 0) return "suffix";
  return star === pattern.length - 1 ? "prefix" : undefined;
}

function matches(type: DomainMatchType, pattern: string, host: string, flavour: SimulationFlavour): boolean {
  // Envoy requires a wildcard to stand for at least one character; grpc-js-xds does not.
  const minimum = flavour === "envoy" ? pattern.length : pattern.length - 1;
  switch (type) {
    case "exact":
      return host === pattern;
    case "suffix":
      return host.length >= minimum && host.endsWith(pattern.slice(1));
    case "prefix":
      return host.length >= minimum && host.startsWith(pattern.slice(0, -1));
    case "any":
      return true;
  }
}

export function selectVirtualHost(
  virtualHosts: readonly VirtualHost[],
  authority: string,
  flavour: SimulationFlavour,
): VirtualHostChoice | undefined {
  // Envoy compares host names case-insensitively; grpc-js-xds compares the dialled string as is.
  const fold = (value: string) => (flavour === "envoy" ? value.toLowerCase() : value);
  const host = fold(authority);
  let best: VirtualHostChoice | undefined;
  for (const virtualHost of virtualHosts) {
    for (const domain of virtualHost.domains) {
      const type = matchType(domain);
      if (!type || !matches(type, fold(domain), host, flavour)) continue;
      const better =
        !best ||
        ranks.indexOf(type) < ranks.indexOf(best.matchType) ||
        (type === best.matchType && domain.length > best.domain.length);
      if (better) best = { virtualHost, domain, matchType: type };
    }
  }
  return best;
}
