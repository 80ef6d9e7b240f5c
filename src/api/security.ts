// meshplane.dev/v1alpha1 security kinds, shaped after Istio's security.istio.io/v1 API with Gateway
// API policy attachment: `targetRefs` name Services (sectionName = a port name); without targetRefs
// a policy covers its namespace, and in meshplane-system the whole mesh. PeerAuthentication sets
// the mTLS mode servers run, AuthorizationPolicy who may call what, RequestAuthentication which
// end-user JWTs are accepted. Unknown fields are rejected: a typo must never open a hole.
import { Type, type Static } from "@sinclair/typebox";
import { ObjectMeta } from "./meta.ts";
import { PolicyTargetReference, meshplaneApiVersion } from "./policies.ts";

const strict = { additionalProperties: false } as const;
const literals = <T extends string>(...values: T[]) => Type.Union(values.map((v) => Type.Literal(v)));
/** A bounded list of bounded strings; patterns are checked in validate-security.ts. */
const Strings = (maxLength = 256) =>
  Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength }), { minItems: 1, maxItems: 64 }));
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Ports = Type.Optional(Type.Array(Port, { minItems: 1, maxItems: 64 }));
const TargetRefs = Type.Optional(Type.Array(PolicyTargetReference, { minItems: 1, maxItems: 16 }));

export const mtlsModes = ["STRICT", "PERMISSIVE", "DISABLE"] as const;
const MtlsModeSpec = literals(...mtlsModes);

export const PeerAuthentication = Type.Object({
  apiVersion: Type.Literal(meshplaneApiVersion),
  kind: Type.Literal("PeerAuthentication"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      targetRefs: TargetRefs,
      mtls: Type.Optional(Type.Object({ mode: MtlsModeSpec }, strict)),
      portLevelMtls: Type.Optional(
        Type.Array(Type.Object({ port: Port, mode: MtlsModeSpec }, strict), { minItems: 1, maxItems: 64 }),
      ),
    },
    strict,
  ),
  status: Type.Optional(Type.Unknown()),
});
export type PeerAuthentication = Static<typeof PeerAuthentication>;

export const AuthorizationSourceSpec = Type.Object(
  {
    principals: Strings(),
    notPrincipals: Strings(),
    namespaces: Strings(63),
    notNamespaces: Strings(63),
    ipBlocks: Strings(64),
    notIpBlocks: Strings(64),
    requestPrincipals: Strings(1024),
    notRequestPrincipals: Strings(1024),
  },
  strict,
);
export type AuthorizationSourceSpec = Static<typeof AuthorizationSourceSpec>;

/** A gRPC service, or one of its methods; the mesh turns it into `/service/method` paths. */
export const GrpcOperationSpec = Type.Object(
  {
    service: Type.String({ minLength: 1, maxLength: 1024 }),
    method: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  strict,
);

export const AuthorizationOperationSpec = Type.Object(
  {
    grpc: Type.Optional(GrpcOperationSpec),
    paths: Strings(1024),
    notPaths: Strings(1024),
    methods: Strings(32),
    notMethods: Strings(32),
    ports: Ports,
    notPorts: Ports,
    headers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({
              minLength: 1,
              maxLength: 256,
              pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$",
            }),
            values: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 64 }),
          },
          strict,
        ),
        { minItems: 1, maxItems: 16 },
      ),
    ),
  },
  strict,
);
export type AuthorizationOperationSpec = Static<typeof AuthorizationOperationSpec>;

export const AuthorizationRuleSpec = Type.Object(
  {
    from: Type.Optional(
      Type.Array(Type.Object({ source: AuthorizationSourceSpec }, strict), { minItems: 1, maxItems: 32 }),
    ),
    to: Type.Optional(
      Type.Array(Type.Object({ operation: AuthorizationOperationSpec }, strict), {
        minItems: 1,
        maxItems: 32,
      }),
    ),
  },
  strict,
);
export type AuthorizationRuleSpec = Static<typeof AuthorizationRuleSpec>;

export const authorizationActions = ["ALLOW", "DENY", "AUDIT"] as const;

export const AuthorizationPolicy = Type.Object({
  apiVersion: Type.Literal(meshplaneApiVersion),
  kind: Type.Literal("AuthorizationPolicy"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      targetRefs: TargetRefs,
      action: Type.Optional(literals(...authorizationActions)),
      rules: Type.Optional(Type.Array(AuthorizationRuleSpec, { maxItems: 64 })),
    },
    strict,
  ),
  status: Type.Optional(Type.Unknown()),
});
export type AuthorizationPolicy = Static<typeof AuthorizationPolicy>;

/** An inline JWKS is a JSON document; 64 KiB holds dozens of keys. */
export const maxInlineJwksLength = 65_536;

export const JwtRuleSpec = Type.Object(
  {
    issuer: Type.String({ minLength: 1, maxLength: 1024 }),
    audiences: Strings(1024),
    jwksUri: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    jwks: Type.Optional(Type.String({ minLength: 1, maxLength: maxInlineJwksLength })),
    fromHeaders: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({
              minLength: 1,
              maxLength: 256,
              pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$",
            }),
            prefix: Type.Optional(Type.String({ maxLength: 64 })),
          },
          strict,
        ),
        { minItems: 1, maxItems: 8 },
      ),
    ),
    fromParams: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9._~-]+$" }), {
        minItems: 1,
        maxItems: 8,
      }),
    ),
    forwardOriginalToken: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type JwtRuleSpec = Static<typeof JwtRuleSpec>;

export const RequestAuthentication = Type.Object({
  apiVersion: Type.Literal(meshplaneApiVersion),
  kind: Type.Literal("RequestAuthentication"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      targetRefs: TargetRefs,
      jwtRules: Type.Array(JwtRuleSpec, { minItems: 1, maxItems: 16 }),
    },
    strict,
  ),
  status: Type.Optional(Type.Unknown()),
});
export type RequestAuthentication = Static<typeof RequestAuthentication>;

export type SecurityPolicy = PeerAuthentication | AuthorizationPolicy | RequestAuthentication;
