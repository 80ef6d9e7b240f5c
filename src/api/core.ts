// core/v1 Service and discovery.k8s.io/v1 EndpointSlice: the same YAML works standalone and in a
// cluster, so unknown spec fields a cluster adds (ipFamilies, sessionAffinity...) are accepted.
import { Type, type Static } from "@sinclair/typebox";
import { ObjectMeta, dnsLabelPattern } from "./meta.ts";

const Protocol = Type.Union([Type.Literal("TCP"), Type.Literal("UDP"), Type.Literal("SCTP")]);

export const ServicePort = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: dnsLabelPattern, maxLength: 63 })),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    targetPort: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: dnsLabelPattern })]),
    ),
    protocol: Type.Optional(Protocol),
    appProtocol: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type ServicePort = Static<typeof ServicePort>;

export const Service = Type.Object({
  apiVersion: Type.Literal("v1"),
  kind: Type.Literal("Service"),
  metadata: ObjectMeta,
  spec: Type.Object(
    {
      ports: Type.Array(ServicePort, { minItems: 1 }),
      selector: Type.Optional(Type.Record(Type.String(), Type.String())),
      type: Type.Optional(
        Type.Union([
          Type.Literal("ClusterIP"),
          Type.Literal("NodePort"),
          Type.Literal("LoadBalancer"),
          Type.Literal("ExternalName"),
        ]),
      ),
      clusterIP: Type.Optional(Type.String()),
    },
    { additionalProperties: true },
  ),
  status: Type.Optional(Type.Unknown()),
});
export type Service = Static<typeof Service>;

export const EndpointPort = Type.Object(
  {
    name: Type.Optional(Type.String()),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    protocol: Type.Optional(Protocol),
    appProtocol: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type EndpointPort = Static<typeof EndpointPort>;

export const Endpoint = Type.Object(
  {
    addresses: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 100 }),
    conditions: Type.Optional(
      Type.Object(
        {
          ready: Type.Optional(Type.Boolean()),
          serving: Type.Optional(Type.Boolean()),
          terminating: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    zone: Type.Optional(Type.String()),
    nodeName: Type.Optional(Type.String()),
    hostname: Type.Optional(Type.String()),
    targetRef: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
);
export type Endpoint = Static<typeof Endpoint>;

export const EndpointSlice = Type.Object({
  apiVersion: Type.Literal("discovery.k8s.io/v1"),
  kind: Type.Literal("EndpointSlice"),
  metadata: ObjectMeta,
  addressType: Type.Union([Type.Literal("IPv4"), Type.Literal("IPv6"), Type.Literal("FQDN")]),
  endpoints: Type.Array(Endpoint, { maxItems: 1000 }),
  ports: Type.Optional(Type.Array(EndpointPort, { maxItems: 100 })),
});
export type EndpointSlice = Static<typeof EndpointSlice>;

/** Label that ties an EndpointSlice to its Service (discovery.k8s.io/v1). */
export const serviceNameLabel = "kubernetes.io/service-name";
