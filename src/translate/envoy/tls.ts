// Mutual TLS for Envoy sidecars, in Istio's form: both sides present the workload certificate
// (SDS secret `default`) and verify the peer against the mesh roots (SDS secret `ROOTCA`), both
// served over ADS (secret.ts). Servers accept any identity of the trust domain (who may call what
// is authorization's business); clients accept only the identities that serve the destination.
import { create } from "@bufbuild/protobuf";
import type { TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import { TransportSocketSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { SubjectAltNameMatcher_SanType } from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import {
  CommonTlsContextSchema,
  DownstreamTlsContextSchema,
  UpstreamTlsContextSchema,
  type CommonTlsContext,
} from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { StringMatcher } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import { StringMatcherSchema } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import { adsConfigSource, packAny } from "../proto.ts";
import { rootCaSecret, workloadCertificateSecret } from "./secret.ts";

export const tlsTransportSocketName = "envoy.transport_sockets.tls";

/** ALPN a sidecar's inbound TLS offers: HTTP/2 for gRPC callers, HTTP/1.1 for the rest. */
const inboundAlpn = ["h2", "http/1.1"];

/**
 * The workload certificate and the roots, with `peers` as the only URI SANs accepted from the
 * other side (Envoy checks the typed matchers after the chain verifies).
 */
function commonTlsContext(peers: readonly StringMatcher[], alpn: readonly string[]): CommonTlsContext {
  return create(CommonTlsContextSchema, {
    tlsCertificateSdsSecretConfigs: [{ name: workloadCertificateSecret, sdsConfig: adsConfigSource() }],
    validationContextType: {
      case: "combinedValidationContext",
      value: {
        defaultValidationContext: {
          matchTypedSubjectAltNames: peers.map((matcher) => ({
            sanType: SubjectAltNameMatcher_SanType.URI,
            matcher,
          })),
        },
        validationContextSdsSecretConfig: { name: rootCaSecret, sdsConfig: adsConfigSource() },
      },
    },
    alpnProtocols: [...alpn],
  });
}

/**
 * Inbound mTLS: a client certificate is required, and must carry a SPIFFE ID of the mesh's trust
 * domain (`spiffe://<td>/`), as Istio's sidecars check.
 */
export function downstreamMtls(trustDomain: string): TransportSocket {
  const trustDomainPrefix = create(StringMatcherSchema, {
    matchPattern: { case: "prefix", value: `spiffe://${trustDomain}/` },
  });
  const context = create(DownstreamTlsContextSchema, {
    commonTlsContext: commonTlsContext([trustDomainPrefix], inboundAlpn),
    requireClientCertificate: true,
  });
  return create(TransportSocketSchema, {
    name: tlsTransportSocketName,
    configType: { case: "typedConfig", value: packAny(DownstreamTlsContextSchema, context) },
  });
}

/**
 * Outbound mTLS to a destination whose servers present one of `spiffeIds` (exact URI SANs). ALPN
 * says which HTTP version the cluster speaks: gRPC servers (proxyless ones included) insist on h2.
 */
export function upstreamMtls(spiffeIds: readonly string[], http2: boolean): TransportSocket {
  const peers = spiffeIds.map((id) =>
    create(StringMatcherSchema, { matchPattern: { case: "exact", value: id } }),
  );
  const context = create(UpstreamTlsContextSchema, {
    commonTlsContext: commonTlsContext(peers, [http2 ? "h2" : "http/1.1"]),
  });
  return create(TransportSocketSchema, {
    name: tlsTransportSocketName,
    configType: { case: "typedConfig", value: packAny(UpstreamTlsContextSchema, context) },
  });
}
