// Gateway API v1 HTTPRoute and GRPCRoute (standard channel field set), as used in mesh (GAMMA)
// mode: parentRefs name a Service. Unknown fields are rejected so a typo never silently changes
// routing.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { ObjectMeta, durationPattern } from "./meta.ts";

const strict = { additionalProperties: false } as const;
const Name = Type.String({ minLength: 1, maxLength: 253 });
const PortNumber = Type.Integer({ minimum: 1, maximum: 65535 });

export const ParentReference = Type.Object(
  {
    group: Type.Optional(Type.String({ maxLength: 253 })),
    kind: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    name: Name,
    sectionName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    port: Type.Optional(PortNumber),
  },
  strict,
);
export type ParentReference = Static<typeof ParentReference>;

const HeaderName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$",
});
const HeaderValue = Type.Object(
  { name: HeaderName, value: Type.String({ minLength: 1, maxLength: 4096 }) },
  strict,
);

const HeaderModifier = Type.Object(
  {
    set: Type.Optional(Type.Array(HeaderValue, { maxItems: 16 })),
    add: Type.Optional(Type.Array(HeaderValue, { maxItems: 16 })),
    remove: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 16 })),
  },
  strict,
);

const LocalObjectReference = Type.Object({ group: Type.String(), kind: Type.String(), name: Name }, strict);

const BackendObjectReference = {
  group: Type.Optional(Type.String({ maxLength: 253 })),
  kind: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  name: Name,
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  port: Type.Optional(PortNumber),
};

const RequestMirror = Type.Object(
  {
    backendRef: Type.Object(BackendObjectReference, strict),
    percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    fraction: Type.Optional(
      Type.Object(
        {
          numerator: Type.Integer({ minimum: 0 }),
          denominator: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        strict,
      ),
    ),
  },
  strict,
);

const PathModifier = Type.Object(
  {
    type: Type.Union([Type.Literal("ReplaceFullPath"), Type.Literal("ReplacePrefixMatch")]),
    replaceFullPath: Type.Optional(Type.String({ maxLength: 1024 })),
    replacePrefixMatch: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  strict,
);

export const HTTPRouteFilter = Type.Object(
  {
    type: Type.Union([
      Type.Literal("RequestHeaderModifier"),
      Type.Literal("ResponseHeaderModifier"),
      Type.Literal("RequestMirror"),
      Type.Literal("RequestRedirect"),
      Type.Literal("URLRewrite"),
      Type.Literal("ExtensionRef"),
    ]),
    requestHeaderModifier: Type.Optional(HeaderModifier),
    responseHeaderModifier: Type.Optional(HeaderModifier),
    requestMirror: Type.Optional(RequestMirror),
    requestRedirect: Type.Optional(
      Type.Object(
        {
          scheme: Type.Optional(Type.Union([Type.Literal("http"), Type.Literal("https")])),
          hostname: Type.Optional(Type.String()),
          path: Type.Optional(PathModifier),
          port: Type.Optional(PortNumber),
          statusCode: Type.Optional(Type.Union([301, 302, 303, 307, 308].map((c) => Type.Literal(c)))),
        },
        strict,
      ),
    ),
    urlRewrite: Type.Optional(
      Type.Object({ hostname: Type.Optional(Type.String()), path: Type.Optional(PathModifier) }, strict),
    ),
    extensionRef: Type.Optional(LocalObjectReference),
  },
  strict,
);
export type HTTPRouteFilter = Static<typeof HTTPRouteFilter>;

function backendRef<T extends TSchema>(filter: T) {
  return Type.Object(
    {
      ...BackendObjectReference,
      weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
      filters: Type.Optional(Type.Array(filter, { maxItems: 16 })),
    },
    strict,
  );
}

const matchType = (...types: string[]) => Type.Optional(Type.Union(types.map((t) => Type.Literal(t))));

export const HTTPHeaderMatch = Type.Object(
  {
    type: matchType("Exact", "RegularExpression"),
    name: HeaderName,
    value: Type.String({ maxLength: 4096 }),
  },
  strict,
);
export type HTTPHeaderMatch = Static<typeof HTTPHeaderMatch>;

export const HTTPRouteMatch = Type.Object(
  {
    path: Type.Optional(
      Type.Object(
        {
          type: matchType("Exact", "PathPrefix", "RegularExpression"),
          value: Type.Optional(Type.String({ maxLength: 1024 })),
        },
        strict,
      ),
    ),
    headers: Type.Optional(Type.Array(HTTPHeaderMatch, { maxItems: 16 })),
    queryParams: Type.Optional(
      Type.Array(
        Type.Object(
          {
            type: matchType("Exact", "RegularExpression"),
            name: Type.String({ minLength: 1, maxLength: 256 }),
            value: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          strict,
        ),
        { maxItems: 16 },
      ),
    ),
    method: matchType("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"),
  },
  strict,
);
export type HTTPRouteMatch = Static<typeof HTTPRouteMatch>;

const Duration = Type.String({ pattern: durationPattern });

export const HTTPBackendRef = backendRef(HTTPRouteFilter);
export type HTTPBackendRef = Static<typeof HTTPBackendRef>;

export const HTTPRouteRule = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    matches: Type.Optional(Type.Array(HTTPRouteMatch, { maxItems: 64 })),
    filters: Type.Optional(Type.Array(HTTPRouteFilter, { maxItems: 16 })),
    backendRefs: Type.Optional(Type.Array(HTTPBackendRef, { maxItems: 16 })),
    timeouts: Type.Optional(
      Type.Object({ request: Type.Optional(Duration), backendRequest: Type.Optional(Duration) }, strict),
    ),
    retry: Type.Optional(
      Type.Object(
        {
          codes: Type.Optional(Type.Array(Type.Integer({ minimum: 400, maximum: 599 }))),
          attempts: Type.Optional(Type.Integer({ minimum: 0 })),
          backoff: Type.Optional(Duration),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type HTTPRouteRule = Static<typeof HTTPRouteRule>;

const routeSpec = <R extends TSchema>(rule: R) =>
  Type.Object(
    {
      parentRefs: Type.Array(ParentReference, { minItems: 1, maxItems: 32 }),
      // GEP-1294: hostnames SHOULD be ignored in mesh mode; accepted so shared YAML validates.
      hostnames: Type.Optional(Type.Array(Type.String(), { maxItems: 16 })),
      rules: Type.Optional(Type.Array(rule, { maxItems: 16 })),
    },
    strict,
  );

export const HTTPRoute = Type.Object({
  apiVersion: Type.Union([
    Type.Literal("gateway.networking.k8s.io/v1"),
    Type.Literal("gateway.networking.k8s.io/v1beta1"),
  ]),
  kind: Type.Literal("HTTPRoute"),
  metadata: ObjectMeta,
  spec: routeSpec(HTTPRouteRule),
  status: Type.Optional(Type.Unknown()),
});
export type HTTPRoute = Static<typeof HTTPRoute>;

export const GRPCRouteFilter = Type.Object(
  {
    type: Type.Union([
      Type.Literal("RequestHeaderModifier"),
      Type.Literal("ResponseHeaderModifier"),
      Type.Literal("RequestMirror"),
      Type.Literal("ExtensionRef"),
    ]),
    requestHeaderModifier: Type.Optional(HeaderModifier),
    responseHeaderModifier: Type.Optional(HeaderModifier),
    requestMirror: Type.Optional(RequestMirror),
    extensionRef: Type.Optional(LocalObjectReference),
  },
  strict,
);

export const GRPCMethodMatch = Type.Object(
  {
    type: matchType("Exact", "RegularExpression"),
    service: Type.Optional(Type.String({ maxLength: 1024 })),
    method: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  strict,
);
export type GRPCMethodMatch = Static<typeof GRPCMethodMatch>;

export const GRPCRouteMatch = Type.Object(
  {
    method: Type.Optional(GRPCMethodMatch),
    headers: Type.Optional(Type.Array(HTTPHeaderMatch, { maxItems: 16 })),
  },
  strict,
);
export type GRPCRouteMatch = Static<typeof GRPCRouteMatch>;

export const GRPCBackendRef = backendRef(GRPCRouteFilter);
export type GRPCBackendRef = Static<typeof GRPCBackendRef>;

export const GRPCRouteRule = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    matches: Type.Optional(Type.Array(GRPCRouteMatch, { maxItems: 8 })),
    filters: Type.Optional(Type.Array(GRPCRouteFilter, { maxItems: 16 })),
    backendRefs: Type.Optional(Type.Array(GRPCBackendRef, { maxItems: 16 })),
  },
  strict,
);
export type GRPCRouteRule = Static<typeof GRPCRouteRule>;

export const GRPCRoute = Type.Object({
  apiVersion: Type.Literal("gateway.networking.k8s.io/v1"),
  kind: Type.Literal("GRPCRoute"),
  metadata: ObjectMeta,
  spec: routeSpec(GRPCRouteRule),
  status: Type.Optional(Type.Unknown()),
});
export type GRPCRoute = Static<typeof GRPCRoute>;
