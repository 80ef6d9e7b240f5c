// Envoy security by table: inbound chains per PeerAuthentication mode (and the mesh-wide mode for
// ports no Service names), upstream mTLS exactly to STRICT ports with the destination's SPIFFE
// IDs, jwt_authn from RequestAuthentication with its JWKS clusters, and the SDS secrets. Every
// resource passes the PGV rules Envoy enforces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import { certChainFile, keyFile, rootCertFile } from "../../agent/index.ts";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { FilterChain } from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { JwtAuthenticationSchema } from "../../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { SubjectAltNameMatcher_SanType } from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import {
  DownstreamTlsContextSchema,
  UpstreamTlsContextSchema,
} from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { MeshSnapshot, MtlsMode, PortSecurity } from "../../mesh/index.ts";
import { generateResources } from "../generator.ts";
import { typeUrlOf } from "../proto.ts";
import { JwksUriError, jwtPayloadMetadata } from "./jwt.ts";
import { inspectEnvoyMessage } from "./pgv.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { certFileNames } from "./secret.ts";
import { endpoint, envoyProfile, jwtRule, meshOf, portSecurity, service, servicePort } from "./testing.ts";

const trustDomain = "example.org";

function meshWith(security: PortSecurity, meshMode: MtlsMode = "PERMISSIVE"): MeshSnapshot {
  const web = service("shop", "web", {
    ports: [servicePort(80, { appProtocol: "grpc", endpoints: [endpoint("10.1.0.1", 8080)], security })],
    serviceAccounts: ["web", "web-canary"],
  });
  return { ...meshOf([web]), trustDomain, meshSecurity: portSecurity({ mtls: meshMode }) };
}

function generate<T>(mesh: MeshSnapshot, schema: typeof ListenerSchema | typeof ClusterSchema) {
  const resources = generateResources(mesh, envoyProfile("shop", ["10.1.0.1"]), typeUrlOf(schema), {
    wildcard: true,
    names: [],
  });
  assertValidEnvoy(resources);
  return new Map(resources.map((r) => [r.name, r.message as T]));
}

const inbound = (mesh: MeshSnapshot) => generate<Listener>(mesh, ListenerSchema).get("virtualInbound");
const clusters = (mesh: MeshSnapshot) => generate<Cluster>(mesh, ClusterSchema);

function unpack<D extends Parameters<typeof anyUnpack>[1]>(any: Any | undefined, schema: D) {
  const message = any && anyUnpack(any, schema);
  assert.ok(message, `an Any of ${schema.typeName}`);
  return message;
}

function chainText(chain: FilterChain): string {
  const match = chain.filterChainMatch;
  const tls = chain.transportSocket?.configType.case === "typedConfig" ? "mTLS" : "plain";
  return `${chain.name} port=${match?.destinationPort ?? "*"} transport=${match?.transportProtocol || "*"} ${tls}`;
}

const modes: readonly { mode: MtlsMode; chains: string[]; inspector: boolean }[] = [
  {
    mode: "STRICT",
    chains: ["virtualInbound_8080_mtls port=8080 transport=tls mTLS"],
    inspector: true,
  },
  {
    mode: "PERMISSIVE",
    chains: [
      "virtualInbound_8080_mtls port=8080 transport=tls mTLS",
      "virtualInbound_8080 port=8080 transport=* plain",
    ],
    inspector: true,
  },
  { mode: "DISABLE", chains: ["virtualInbound_8080 port=8080 transport=* plain"], inspector: false },
];

for (const { mode, chains, inspector } of modes) {
  test(`inbound ${mode}: ${chains.length} chain(s) for the port, tls_inspector ${inspector ? "on" : "off"}`, () => {
    // The mesh-wide mode DISABLE isolates the port's own mode (the catch-all follows the mesh's).
    const listener = inbound(meshWith(portSecurity({ mtls: mode }), "DISABLE"));
    assert.ok(listener);
    const all = listener.filterChains.map(chainText);
    assert.deepEqual(all, [...chains, "virtualInbound-catchall-tcp port=* transport=* plain"]);
    assert.equal(
      listener.listenerFilters.some((f) => f.name === "envoy.filters.listener.tls_inspector"),
      inspector,
    );
  });
}

test("inbound mTLS: client certificate required, SDS default + ROOTCA, any SPIFFE ID of the trust domain", () => {
  const chain = inbound(meshWith(portSecurity({ mtls: "STRICT" })))?.filterChains[0];
  const socket = chain?.transportSocket;
  assert.equal(socket?.name, "envoy.transport_sockets.tls");
  const context = unpack(
    socket?.configType.case === "typedConfig" ? socket.configType.value : undefined,
    DownstreamTlsContextSchema,
  );
  assert.equal(context.requireClientCertificate, true);
  const common = context.commonTlsContext;
  assert.deepEqual(
    common?.tlsCertificateSdsSecretConfigs.map((c) => [c.name, c.sdsConfig?.configSourceSpecifier.case]),
    [["default", "ads"]],
  );
  const validation = common?.validationContextType;
  assert.equal(validation?.case, "combinedValidationContext");
  assert.equal(validation.value.validationContextSdsSecretConfig?.name, "ROOTCA");
  assert.deepEqual(
    validation.value.defaultValidationContext?.matchTypedSubjectAltNames.map((m) => m.matcher?.matchPattern),
    [{ case: "prefix", value: "spiffe://example.org/" }],
  );
  assert.deepEqual(common?.alpnProtocols, ["h2", "http/1.1"]);
});

test("ports no Service names follow the mesh-wide mode: STRICT leaves no plaintext way in", () => {
  for (const [meshMode, expected] of [
    ["STRICT", ["virtualInbound-catchall-tcp_mtls port=* transport=tls mTLS"]],
    [
      "PERMISSIVE",
      [
        "virtualInbound-catchall-tcp_mtls port=* transport=tls mTLS",
        "virtualInbound-catchall-tcp port=* transport=* plain",
      ],
    ],
    ["DISABLE", ["virtualInbound-catchall-tcp port=* transport=* plain"]],
  ] as const) {
    const listener = inbound(meshWith(portSecurity({ mtls: "DISABLE" }), meshMode));
    assert.deepEqual(listener?.filterChains.slice(1).map(chainText), expected, meshMode);
  }
});

test("outbound: mTLS exactly to STRICT ports, expecting the Service's accounts as exact SPIFFE IDs", () => {
  const name = "outbound|80||web.shop.svc.cluster.local";
  for (const mode of ["PERMISSIVE", "DISABLE"] as const) {
    assert.equal(
      clusters(meshWith(portSecurity({ mtls: mode }))).get(name)?.transportSocket,
      undefined,
      mode,
    );
  }
  const socket = clusters(meshWith(portSecurity({ mtls: "STRICT" }))).get(name)?.transportSocket;
  assert.equal(socket?.name, "envoy.transport_sockets.tls");
  const context = unpack(
    socket?.configType.case === "typedConfig" ? socket.configType.value : undefined,
    UpstreamTlsContextSchema,
  );
  const common = context.commonTlsContext;
  assert.deepEqual(
    common?.tlsCertificateSdsSecretConfigs.map((c) => c.name),
    ["default"],
  );
  const validation = common?.validationContextType;
  assert.equal(validation?.case, "combinedValidationContext");
  assert.equal(validation.value.validationContextSdsSecretConfig?.name, "ROOTCA");
  assert.deepEqual(
    validation.value.defaultValidationContext?.matchTypedSubjectAltNames.map((m) => [
      m.sanType,
      m.matcher?.matchPattern,
    ]),
    [
      [SubjectAltNameMatcher_SanType.URI, { case: "exact", value: "spiffe://example.org/ns/shop/sa/web" }],
      [
        SubjectAltNameMatcher_SanType.URI,
        { case: "exact", value: "spiffe://example.org/ns/shop/sa/web-canary" },
      ],
    ],
  );
  // A gRPC port: HTTP/2, which proxyless gRPC servers insist on through ALPN.
  assert.deepEqual(common?.alpnProtocols, ["h2"]);
});

function jwtFilter(mesh: MeshSnapshot) {
  const chain = inbound(mesh)?.filterChains[0];
  const filter = chain?.filters[0];
  const manager = unpack(
    filter?.configType.case === "typedConfig" ? filter.configType.value : undefined,
    HttpConnectionManagerSchema,
  );
  const names = manager.httpFilters.map((f) => f.name);
  const jwt = manager.httpFilters[0];
  const config =
    jwt?.name === "envoy.filters.http.jwt_authn" && jwt.configType.case === "typedConfig"
      ? unpack(jwt.configType.value, JwtAuthenticationSchema)
      : undefined;
  return { names, config };
}

test("no RequestAuthentication, no jwt_authn: the router alone", () => {
  assert.deepEqual(jwtFilter(meshWith(portSecurity({}))).names, ["envoy.filters.http.router"]);
});

test("jwt_authn: one provider per rule, a token must be valid if present, payload for RBAC, before the router", () => {
  const rules = [
    jwtRule({ audiences: ["shop"], forwardOriginalToken: true }),
    jwtRule({
      source: "RequestAuthentication shop/idp",
      issuer: "https://idp.example",
      jwks: undefined,
      jwksUri: "https://idp.example/.well-known/jwks.json",
      locations: [{ header: "x-jwt", prefix: "Token " }, { queryParameter: "jwt" }],
    }),
    jwtRule({ source: "RequestAuthentication shop/again" }),
  ];
  const { names, config } = jwtFilter(meshWith(portSecurity({ jwtRules: rules })));
  assert.deepEqual(names, ["envoy.filters.http.jwt_authn", "envoy.filters.http.router"]);
  assert.ok(config);
  assert.deepEqual(Object.keys(config.providers), [
    "https://issuer.example",
    "https://idp.example",
    "https://issuer.example#2",
  ]);
  const inline = config.providers["https://issuer.example"];
  assert.deepEqual(inline?.audiences, ["shop"]);
  assert.equal(inline?.forward, true);
  assert.deepEqual(inline?.jwksSourceSpecifier, {
    case: "localJwks",
    value: inline?.jwksSourceSpecifier.value,
  });
  assert.equal(inline?.payloadInMetadata, jwtPayloadMetadata.key);
  assert.deepEqual(inline?.fromHeaders, [], "Envoy's default: Authorization Bearer and access_token");
  const remote = config.providers["https://idp.example"];
  const source = remote?.jwksSourceSpecifier;
  assert.equal(source?.case, "remoteJwks");
  assert.equal(source.value.httpUri?.uri, "https://idp.example/.well-known/jwks.json");
  assert.deepEqual(source.value.httpUri?.httpUpstreamType, {
    case: "cluster",
    value: "jwks|https|idp.example|443",
  });
  assert.deepEqual(
    remote?.fromHeaders.map((h) => [h.name, h.valuePrefix]),
    [["x-jwt", "Token "]],
  );
  assert.deepEqual(remote?.fromParams, ["jwt"]);
  const requires = config.rules[0]?.requirementType;
  assert.equal(requires?.case, "requires");
  const any = requires.value.requiresType;
  assert.equal(any.case, "requiresAny");
  assert.deepEqual(
    any.value.requirements.map((r) =>
      r.requiresType.case === "providerName" ? r.requiresType.value : r.requiresType.case,
    ),
    ["https://issuer.example", "https://idp.example", "https://issuer.example#2", "allowMissing"],
  );
});

test("JWKS clusters: one per server, DNS for names with TLS verified against the host, static for IPs", () => {
  const rules = [
    jwtRule({ jwks: undefined, jwksUri: "https://idp.example/keys" }),
    jwtRule({ jwks: undefined, jwksUri: "https://idp.example:443/other" }),
    jwtRule({ jwks: undefined, jwksUri: "http://10.9.0.1:8081/jwks" }),
    jwtRule({ jwks: undefined, jwksUri: "https://[fd00::1]:8443/jwks" }),
  ];
  const all = clusters(meshWith(portSecurity({ jwtRules: rules })));
  const jwks = [...all.keys()].filter((n) => n.startsWith("jwks|"));
  assert.deepEqual(jwks, [
    "jwks|https|idp.example|443",
    "jwks|http|10.9.0.1|8081",
    "jwks|https|fd00::1|8443",
  ]);
  const https = all.get("jwks|https|idp.example|443");
  assert.equal(https?.clusterDiscoveryType.value, Cluster_DiscoveryType.LOGICAL_DNS);
  const tls = unpack(
    https?.transportSocket?.configType.case === "typedConfig"
      ? https.transportSocket.configType.value
      : undefined,
    UpstreamTlsContextSchema,
  );
  assert.equal(tls.sni, "idp.example");
  const validation = tls.commonTlsContext?.validationContextType;
  assert.equal(validation?.case, "validationContext");
  assert.equal(validation.value.trustedCa?.specifier.value, "/etc/ssl/certs/ca-certificates.crt");
  assert.deepEqual(validation.value.matchTypedSubjectAltNames[0]?.matcher?.matchPattern, {
    case: "exact",
    value: "idp.example",
  });
  const plain = all.get("jwks|http|10.9.0.1|8081");
  assert.equal(plain?.clusterDiscoveryType.value, Cluster_DiscoveryType.STATIC);
  assert.equal(plain?.transportSocket, undefined);
  // An IP literal: no SNI, its certificate must name the IP.
  const v6 = all.get("jwks|https|fd00::1|8443");
  assert.equal(v6?.clusterDiscoveryType.value, Cluster_DiscoveryType.STATIC);
  const v6Tls = unpack(
    v6?.transportSocket?.configType.case === "typedConfig" ? v6.transportSocket.configType.value : undefined,
    UpstreamTlsContextSchema,
  );
  assert.equal(v6Tls.sni, "");
  const v6Validation = v6Tls.commonTlsContext?.validationContextType;
  assert.equal(v6Validation?.case, "validationContext");
  assert.deepEqual(
    v6Validation.value.matchTypedSubjectAltNames.map((m) => [m.sanType, m.matcher?.matchPattern.value]),
    [[SubjectAltNameMatcher_SanType.IP_ADDRESS, "fd00::1"]],
  );
});

test("a JWKS URL the translator cannot use fails the listener and names the policy; CDS goes on", () => {
  const mesh = meshWith(
    portSecurity({ jwtRules: [jwtRule({ jwks: undefined, jwksUri: "ftp://idp.example/k" })] }),
  );
  assert.throws(
    () => inbound(mesh),
    (error) => {
      assert.ok(error instanceof JwksUriError);
      assert.match(error.message, /RequestAuthentication shop\/jwt: jwksUri "ftp:\/\/idp.example\/k"/);
      return true;
    },
  );
  assert.ok(![...clusters(mesh).keys()].some((n) => n.startsWith("jwks|")));
});

test("secrets name the agent's files", () => {
  assert.deepEqual(certFileNames, { chain: certChainFile, key: keyFile, roots: rootCertFile });
});

test("PGV sees inside the new types: a lone requirement and a JWKS fetch without a timeout are caught", () => {
  const config = create(JwtAuthenticationSchema, {
    providers: {
      p: {
        issuer: "i",
        jwksSourceSpecifier: {
          case: "remoteJwks",
          value: { httpUri: { uri: "https://i/jwks", httpUpstreamType: { case: "cluster", value: "c" } } },
        },
      },
    },
    rules: [
      {
        match: { pathSpecifier: { case: "prefix", value: "/" } },
        requirementType: {
          case: "requires",
          value: {
            requiresType: {
              case: "requiresAny",
              value: { requirements: [{ requiresType: { case: "providerName", value: "p" } }] },
            },
          },
        },
      },
    ],
  });
  const rules = inspectEnvoyMessage(JwtAuthenticationSchema, config).violations.map(
    (v) => `${v.path} ${v.rule}`,
  );
  assert.deepEqual(rules.sort(), [
    'providers["p"].remote_jwks.http_uri.timeout duration.required',
    "rules[0].requires.requires_any.requirements repeated.min_items",
  ]);
});
