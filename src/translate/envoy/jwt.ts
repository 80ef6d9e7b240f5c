// End-user authentication (RequestAuthentication) for Envoy sidecars: the jwt_authn HTTP filter
// on a port's inbound connection manager, with Istio's semantics: a request with a token must
// carry a valid one from some listed issuer, a request without a token passes (`requires_any` of
// every provider plus `allow_missing`); requiring a token is AuthorizationPolicy's business
// (`requestPrincipals`), which reads the verified payload from dynamic metadata. JWKS given by URL
// is fetched by Envoy through a cluster of its own (jwksCluster).
import { isIP } from "node:net";
import { create } from "@bufbuild/protobuf";
import {
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  ClusterSchema,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { SubjectAltNameMatcher_SanType } from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { UpstreamTlsContextSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import {
  JwtAuthenticationSchema,
  JwtProviderSchema,
  type JwtProvider,
} from "../../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import {
  HttpFilterSchema,
  type HttpFilter,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { JwtRule } from "../../mesh/security-model.ts";
import { durationMs, packAny } from "../proto.ts";
import { jwtAuthnFilterName } from "./names.ts";
import { tlsTransportSocketName } from "./tls.ts";

/**
 * Where the verified payload lands for RBAC: dynamic metadata
 * `filter_metadata["envoy.filters.http.jwt_authn"]["payload"]`, whichever provider verified it,
 * so a `requestPrincipals` matcher reads `iss` and `sub` under one path.
 */
export const jwtPayloadMetadata = { filter: jwtAuthnFilterName, key: "payload" } as const;

/** The CA bundle Envoy verifies JWKS servers with (Debian/Ubuntu path, as in Envoy's images). */
export const systemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

const jwksFetchTimeoutMs = 5000;
/** How long fetched keys are used before Envoy fetches them again. */
const jwksCacheMs = 5 * 60_000;
const defaultConnectTimeoutMs = 5000;

/** A JWKS server, as a cluster needs it. */
export interface JwksEndpoint {
  readonly tls: boolean;
  /** Without brackets for IPv6 literals. */
  readonly host: string;
  readonly port: number;
}

/** A JWKS URL refused by the translator (the API validates them; this is the last guard). */
export class JwksUriError extends Error {
  override readonly name = "JwksUriError";
  constructor(rule: JwtRule) {
    super(
      `${rule.source}: jwksUri ${JSON.stringify(rule.jwksUri)} is not an http(s) URL with a host; fix the RequestAuthentication`,
    );
  }
}

export function jwksEndpoint(rule: JwtRule): JwksEndpoint | undefined {
  if (rule.jwksUri === undefined) return undefined;
  const url = URL.parse(rule.jwksUri);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "")
    throw new JwksUriError(rule);
  const tls = url.protocol === "https:";
  return {
    tls,
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (tls ? 443 : 80) : Number(url.port),
  };
}

/** `jwks|<scheme>|<host>|<port>`: one cluster per JWKS server, shared by every rule that uses it. */
export function jwksClusterName(endpoint: JwksEndpoint): string {
  return `jwks|${endpoint.tls ? "https" : "http"}|${endpoint.host}|${endpoint.port}`;
}

/** Provider names: the issuer, numbered when two rules name the same one. */
function providerNames(rules: readonly JwtRule[]): string[] {
  const seen = new Map<string, number>();
  return rules.map((rule) => {
    const count = (seen.get(rule.issuer) ?? 0) + 1;
    seen.set(rule.issuer, count);
    return count === 1 ? rule.issuer : `${rule.issuer}#${count}`;
  });
}

function provider(rule: JwtRule): JwtProvider {
  const endpoint = jwksEndpoint(rule);
  const headers = rule.locations.flatMap((l) =>
    "header" in l ? [{ name: l.header, valuePrefix: l.prefix }] : [],
  );
  const params = rule.locations.flatMap((l) => ("queryParameter" in l ? [l.queryParameter] : []));
  return create(JwtProviderSchema, {
    issuer: rule.issuer,
    audiences: [...rule.audiences],
    jwksSourceSpecifier: endpoint
      ? {
          case: "remoteJwks",
          value: {
            httpUri: {
              uri: rule.jwksUri ?? "",
              httpUpstreamType: { case: "cluster", value: jwksClusterName(endpoint) },
              timeout: durationMs(jwksFetchTimeoutMs),
            },
            cacheDuration: durationMs(jwksCacheMs),
            // Fetched when the listener starts, not on the first request.
            asyncFetch: {},
          },
        }
      : { case: "localJwks", value: { specifier: { case: "inlineString", value: rule.jwks ?? "" } } },
    forward: rule.forwardOriginalToken,
    // Empty locations: Envoy's default, the Authorization Bearer header and `access_token`.
    fromHeaders: headers,
    fromParams: params,
    payloadInMetadata: jwtPayloadMetadata.key,
  });
}

/** The jwt_authn filter for a port's rules; undefined when no rule applies. */
export function jwtAuthnFilter(rules: readonly JwtRule[]): HttpFilter | undefined {
  if (rules.length === 0) return undefined;
  const names = providerNames(rules);
  const config = create(JwtAuthenticationSchema, {
    providers: Object.fromEntries(rules.map((rule, i) => [names[i] as string, provider(rule)])),
    rules: [
      {
        match: { pathSpecifier: { case: "prefix", value: "/" } },
        requirementType: {
          case: "requires",
          value: {
            requiresType: {
              case: "requiresAny",
              value: {
                requirements: [
                  ...names.map((name) => ({ requiresType: { case: "providerName" as const, value: name } })),
                  { requiresType: { case: "allowMissing" as const, value: {} } },
                ],
              },
            },
          },
        },
      },
    ],
    // CORS preflights carry no token; Istio lets them through too.
    bypassCorsPreflight: true,
  });
  return create(HttpFilterSchema, {
    name: jwtAuthnFilterName,
    configType: { case: "typedConfig", value: packAny(JwtAuthenticationSchema, config) },
  });
}

/**
 * The cluster Envoy fetches a JWKS through: the host by DNS (an IP as is), over TLS for https,
 * verified against the system CA bundle and the host name.
 */
export function jwksCluster(endpoint: JwksEndpoint): Cluster {
  const name = jwksClusterName(endpoint);
  const isIp = isIP(endpoint.host) !== 0;
  const tls =
    endpoint.tls &&
    create(UpstreamTlsContextSchema, {
      ...(!isIp && { sni: endpoint.host }),
      commonTlsContext: {
        validationContextType: {
          case: "validationContext",
          value: {
            trustedCa: { specifier: { case: "filename", value: systemCaBundle } },
            matchTypedSubjectAltNames: [
              {
                sanType: isIp ? SubjectAltNameMatcher_SanType.IP_ADDRESS : SubjectAltNameMatcher_SanType.DNS,
                matcher: { matchPattern: { case: "exact", value: endpoint.host } },
              },
            ],
          },
        },
      },
    });
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: {
      case: "type",
      value: isIp ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.LOGICAL_DNS,
    },
    connectTimeout: durationMs(defaultConnectTimeoutMs),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    loadAssignment: {
      clusterName: name,
      endpoints: [
        {
          lbEndpoints: [
            {
              hostIdentifier: {
                case: "endpoint",
                value: {
                  address: {
                    address: {
                      case: "socketAddress",
                      value: {
                        address: endpoint.host,
                        portSpecifier: { case: "portValue", value: endpoint.port },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      ],
    },
    ...(tls && {
      transportSocket: {
        name: tlsTransportSocketName,
        configType: { case: "typedConfig", value: packAny(UpstreamTlsContextSchema, tls) },
      },
    }),
  });
}
