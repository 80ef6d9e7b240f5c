// The encoding choices generators make per client: where two encodings mean the same, emit the
// one every client of the group accepts. Proxies whose choices agree share resources, so the cache
// key is the choices, not the client: every grpc-js-xds release since 1.9 shares one set of route
// configurations, and C-core 1.51 gets its own only where an encoding differs.
import { featureVerdict } from "./features.ts";
import type { ClientIdentity } from "./identity.ts";

export interface ClientEncoding {
  /**
   * Header matches as `HeaderMatcher.string_match` (gRFC A63); otherwise as the older `exact_match`
   * and `safe_regex_match`, which every gRPC client accepts and which mean the same for the exact
   * and regular-expression matches Gateway API has. C-core before 1.56 NACKs string_match with
   * "Invalid route header matcher specified.".
   */
  readonly headerStringMatch: boolean;
}

/** What meshplane emits for clients that support every feature, and for clients it cannot place. */
export const currentEncoding: ClientEncoding = { headerStringMatch: true };
const preA63: ClientEncoding = { headerStringMatch: false };

/**
 * A gRPC client whose release is unknown (C-core in C++ says only its core number) gets the
 * encoding every release accepts; a proxy that names no client we know, the current one.
 */
export function clientEncoding(client: ClientIdentity | undefined): ClientEncoding {
  if (client && client.implementation !== "envoy" && !client.version) return preA63;
  return featureVerdict(client, "headerStringMatch").verdict === "accepted" ? currentEncoding : preA63;
}

/** The encoding as a cache key: "" for the current encoding, so those proxies keep sharing with every other. */
export function encodingKey(encoding: ClientEncoding): string {
  return encoding.headerStringMatch ? "" : "pre-a63";
}
