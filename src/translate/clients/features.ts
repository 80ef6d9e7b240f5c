// What each gRPC implementation does with the xDS features meshplane emits, by release. A client
// that predates a feature ignores its fields, except where gRPC NACKs an unknown value of a field it
// does read (an LB policy, a header matcher kind): grpc/grpc doc/grpc_xds_features.md. Releases are
// that table's; grpc-js means the @grpc/grpc-js-xds package. Features older than xDS v3 support
// (gRFC A30: C-core, Java and Go 1.36, grpc-js-xds 1.4) are not listed: meshplane speaks only v3.
// Not emitted yet, so not listed: RBAC (A41; C-core 1.51, Java and Go 1.42), whose header matchers
// have the same A63 gap as route matches and will need clientEncoding too.
import type { ClientIdentity, ClientImplementation, ClientVersion } from "./identity.ts";
import { compareVersions, formatVersion, parseVersion } from "./identity.ts";

export type ClientFeature =
  | "maxStreamDuration"
  | "circuitBreaking"
  | "faultInjection"
  | "ringHash"
  | "retry"
  | "outlierDetection"
  | "headerStringMatch";

type GrpcImplementation = Exclude<ClientImplementation, "envoy">;

export interface FeatureSupport {
  /** What the feature is, for messages. */
  readonly title: string;
  readonly grfc: string;
  /** First release that supports it, per implementation. */
  readonly since: Readonly<Record<GrpcImplementation, string>>;
  /** What an older client does with it. */
  readonly before: "ignored" | "rejected";
}

export const featureSupport: Readonly<Record<ClientFeature, FeatureSupport>> = {
  maxStreamDuration: {
    title: "route timeouts (max_stream_duration)",
    grfc: "A31",
    since: { "grpc-core": "1.37.1", "grpc-java": "1.37.1", "grpc-go": "1.37.0", "grpc-js": "1.4.0" },
    before: "ignored",
  },
  circuitBreaking: {
    title: "circuit breaking (max_requests)",
    grfc: "A32",
    since: { "grpc-core": "1.37.1", "grpc-java": "1.37.1", "grpc-go": "1.37.0", "grpc-js": "1.4.0" },
    before: "ignored",
  },
  faultInjection: {
    title: "fault injection",
    grfc: "A33",
    since: { "grpc-core": "1.37.1", "grpc-java": "1.37.1", "grpc-go": "1.37.0", "grpc-js": "1.4.0" },
    before: "ignored",
  },
  ringHash: {
    title: "ring hash load balancing (lb_policy RING_HASH)",
    grfc: "A42",
    since: { "grpc-core": "1.40.0", "grpc-java": "1.40.1", "grpc-go": "1.41.0", "grpc-js": "1.10.0" },
    before: "rejected",
  },
  retry: {
    title: "retries (retry_policy)",
    grfc: "A44",
    since: { "grpc-core": "1.40.0", "grpc-java": "1.40.1", "grpc-go": "1.41.0", "grpc-js": "1.8.0" },
    before: "ignored",
  },
  outlierDetection: {
    title: "outlier detection",
    grfc: "A50",
    since: { "grpc-core": "1.51.0", "grpc-java": "1.49.0", "grpc-go": "1.50.0", "grpc-js": "1.7.0" },
    before: "ignored",
  },
  headerStringMatch: {
    title: "header matches written as string_match",
    grfc: "A63",
    since: { "grpc-core": "1.56.0", "grpc-java": "1.53.0", "grpc-go": "1.56.0", "grpc-js": "1.9.0" },
    before: "rejected",
  },
};

/** Releases that accept a feature but break on it. */
interface KnownBug {
  readonly feature: ClientFeature;
  readonly implementation: GrpcImplementation;
  /** Affected releases: from `from` up to, not including, `until`. */
  readonly from: string;
  readonly until: string;
  readonly effect: string;
}

const knownBugs: readonly KnownBug[] = [
  {
    feature: "ringHash",
    implementation: "grpc-core",
    from: "1.50.0",
    until: "1.53.0",
    // Seen with Debian's python3-grpcio 1.51.1: the client segfaults on its first call even when
    // that call is routed to another cluster than the ring hash one.
    effect:
      "the client crashes (segfault) on its first call once its routes name a ring hash cluster (grpc/grpc#31766, fixed by grpc/grpc#32012)",
  },
];

export type FeatureVerdict =
  | { readonly verdict: "accepted" }
  | {
      readonly verdict: "ignored" | "rejected" | "broken";
      /** "rejected by C-core 1.51.1 (Python): header matches … need gRFC A63, C-core 1.56.0 and later" */
      readonly reason: string;
      /** The reason without who: "header matches … need gRFC A63, C-core 1.56.0 and later" */
      readonly detail: string;
    };

const accepted: FeatureVerdict = { verdict: "accepted" };

/**
 * What `client` does with `feature`. Clients we cannot place (no version, an implementation we do
 * not know) are taken to accept it: meshplane then emits what it always has, and claims nothing.
 */
export function featureVerdict(client: ClientIdentity | undefined, feature: ClientFeature): FeatureVerdict {
  if (!client) return accepted;
  const { implementation, version } = client;
  if (implementation === "envoy" || !version) return accepted;
  const support = featureSupport[feature];
  const since = parseVersion(support.since[implementation]) as ClientVersion;
  if (compareVersions(version, since) < 0) {
    const detail = `${support.title} needs gRFC ${support.grfc}, ${implementationName(implementation)} ${formatVersion(since)} and later`;
    return {
      verdict: support.before,
      reason: `${support.before} by ${clientName(client)}: ${detail}`,
      detail,
    };
  }
  const bug = knownBugs.find(
    (b) =>
      b.feature === feature &&
      b.implementation === implementation &&
      compareVersions(version, parseVersion(b.from) as ClientVersion) >= 0 &&
      compareVersions(version, parseVersion(b.until) as ClientVersion) < 0,
  );
  if (bug)
    return {
      verdict: "broken",
      reason: `broken in ${clientName(client)}: ${bug.effect}`,
      detail: bug.effect,
    };
  return accepted;
}

export function implementationName(implementation: ClientImplementation): string {
  switch (implementation) {
    case "grpc-core":
      return "C-core";
    case "grpc-js":
      return "grpc-js-xds";
    case "grpc-go":
      return "grpc-go";
    case "grpc-java":
      return "grpc-java";
    case "envoy":
      return "Envoy";
  }
}

/** "C-core 1.51.1 (Python)", "grpc-js-xds 1.14.1": the client as messages name it. */
export function clientName(client: ClientIdentity): string {
  const version = client.version ? ` ${formatVersion(client.version)}` : "";
  const language = client.language ? ` (${client.language})` : "";
  return `${implementationName(client.implementation)}${version}${language}`;
}
