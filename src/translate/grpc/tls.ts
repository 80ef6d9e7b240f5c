// TLS for proxyless gRPC (gRFC A29): transport sockets whose certificates come from the
// bootstrap's certificate provider instance, never from the control plane. The workload's key,
// chain and trust bundle are files the meshplane agent writes; gRPC's file_watcher provider reads
// them (agent/bootstrap.ts names the instance). Servers require a client certificate signed by the
// mesh root (mTLS); clients check the server's SPIFFE ID against the Service's accounts.
import { create } from "@bufbuild/protobuf";
import { TransportSocketSchema, type TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  CertificateProviderPluginInstanceSchema,
  CertificateValidationContextSchema,
} from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import {
  CommonTlsContextSchema,
  DownstreamTlsContextSchema,
  UpstreamTlsContextSchema,
  type CommonTlsContext,
} from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { StringMatcherSchema } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import { packAny } from "../proto.ts";

/** The bootstrap's certificate provider instance (agent/bootstrap.ts writes it under this name). */
export const certificateProviderInstance = "default";

const tlsTransportSocket = "envoy.transport_sockets.tls";

/**
 * Identity and trust from the provider instance; `sans`, when given, are the only server
 * identities a client accepts (A29: `match_subject_alt_names`, which grpc-js-xds 1.14 reads; it
 * ignores `match_typed_subject_alt_names`). An exact matcher compares the whole SAN, URI ones too.
 */
function commonTlsContext(sans: readonly string[] = []): CommonTlsContext {
  const instance = create(CertificateProviderPluginInstanceSchema, {
    instanceName: certificateProviderInstance,
  });
  return create(CommonTlsContextSchema, {
    tlsCertificateProviderInstance: instance,
    validationContextType: {
      case: "validationContext",
      value: create(CertificateValidationContextSchema, {
        caCertificateProviderInstance: instance,
        matchSubjectAltNames: sans.map((exact) =>
          create(StringMatcherSchema, { matchPattern: { case: "exact", value: exact } }),
        ),
      }),
    },
  });
}

/** A STRICT server's socket: TLS with a required client certificate from the mesh CA. */
export function serverTlsSocket(): TransportSocket {
  const context = create(DownstreamTlsContextSchema, {
    commonTlsContext: commonTlsContext(),
    requireClientCertificate: true,
  });
  return create(TransportSocketSchema, {
    name: tlsTransportSocket,
    configType: { case: "typedConfig", value: packAny(DownstreamTlsContextSchema, context) },
  });
}

/** A client's socket to a STRICT destination: mTLS, accepting only the servers `spiffeIds` name. */
export function clientTlsSocket(spiffeIds: readonly string[]): TransportSocket {
  const context = create(UpstreamTlsContextSchema, { commonTlsContext: commonTlsContext(spiffeIds) });
  return create(TransportSocketSchema, {
    name: tlsTransportSocket,
    configType: { case: "typedConfig", value: packAny(UpstreamTlsContextSchema, context) },
  });
}
