// The built-in kinds' fields as upstream defines them (kubernetes/api core/v1 and discovery/v1
// types.go, apimachinery meta/v1 ObjectMeta, Kubernetes 1.32). src/api accepts any extra field of a
// Service or EndpointSlice so that YAML exported from a cluster loads; the API server needs the
// closed list: a field upstream does not know is reported (Strict) or pruned (Warn, Ignore), never
// stored. The meshplane kinds' and routes' own schemas are already closed.
import { Type } from "@sinclair/typebox";
import { EndpointPort, Endpoint, EndpointSlice, Service, ServicePort } from "../api/index.ts";

const closed = { additionalProperties: false } as const;
const opt = Type.Optional;
const strings = () => opt(Type.Array(Type.String()));
const stringMap = () => opt(Type.Record(Type.String(), Type.String()));
/** A value meshplane keeps as given (server-maintained records, free-form references). */
const anything = () => opt(Type.Unknown());

const ManagedFieldsEntry = Type.Object(
  {
    manager: opt(Type.String()),
    operation: opt(Type.String()),
    apiVersion: opt(Type.String()),
    time: opt(Type.String()),
    fieldsType: opt(Type.String()),
    fieldsV1: anything(),
    subresource: opt(Type.String()),
  },
  closed,
);

const OwnerReference = Type.Object(
  {
    apiVersion: Type.String(),
    kind: Type.String(),
    name: Type.String(),
    uid: Type.String(),
    controller: opt(Type.Boolean()),
    blockOwnerDeletion: opt(Type.Boolean()),
  },
  closed,
);

/** metav1.ObjectMeta: every kind's `metadata`. */
export const ObjectMetaFields = Type.Object(
  {
    name: opt(Type.String()),
    generateName: opt(Type.String()),
    namespace: opt(Type.String()),
    selfLink: opt(Type.String()),
    uid: opt(Type.String()),
    resourceVersion: opt(Type.String()),
    generation: opt(Type.Integer()),
    creationTimestamp: opt(Type.String()),
    deletionTimestamp: opt(Type.String()),
    deletionGracePeriodSeconds: opt(Type.Integer()),
    labels: stringMap(),
    annotations: stringMap(),
    ownerReferences: opt(Type.Array(OwnerReference)),
    finalizers: strings(),
    managedFields: opt(Type.Array(ManagedFieldsEntry)),
  },
  closed,
);

const Condition = Type.Object(
  {
    type: Type.String(),
    status: Type.String(),
    observedGeneration: opt(Type.Integer()),
    lastTransitionTime: opt(Type.String()),
    reason: opt(Type.String()),
    message: opt(Type.String()),
  },
  closed,
);

const PortStatus = Type.Object(
  { port: Type.Integer(), protocol: Type.String(), error: opt(Type.String()) },
  closed,
);

const ServiceStatus = Type.Object(
  {
    loadBalancer: opt(
      Type.Object(
        {
          ingress: opt(
            Type.Array(
              Type.Object(
                {
                  ip: opt(Type.String()),
                  hostname: opt(Type.String()),
                  ipMode: opt(Type.String()),
                  ports: opt(Type.Array(PortStatus)),
                },
                closed,
              ),
            ),
          ),
        },
        closed,
      ),
    ),
    conditions: opt(Type.Array(Condition)),
  },
  closed,
);

const serviceSpec = Service.properties.spec;

/** core/v1 Service: src/api's checked fields plus the rest of upstream's ServiceSpec. */
export const ServiceFields = Type.Object(
  {
    ...Service.properties,
    spec: Type.Object(
      {
        ...serviceSpec.properties,
        ports: Type.Array(Type.Object({ ...ServicePort.properties, nodePort: opt(Type.Integer()) }, closed), {
          minItems: 1,
        }),
        clusterIPs: strings(),
        externalIPs: strings(),
        sessionAffinity: opt(Type.String()),
        loadBalancerIP: opt(Type.String()),
        loadBalancerSourceRanges: strings(),
        externalName: opt(Type.String()),
        externalTrafficPolicy: opt(Type.String()),
        healthCheckNodePort: opt(Type.Integer()),
        publishNotReadyAddresses: opt(Type.Boolean()),
        sessionAffinityConfig: opt(
          Type.Object(
            { clientIP: opt(Type.Object({ timeoutSeconds: opt(Type.Integer()) }, closed)) },
            closed,
          ),
        ),
        ipFamilies: strings(),
        ipFamilyPolicy: opt(Type.String()),
        allocateLoadBalancerNodePorts: opt(Type.Boolean()),
        loadBalancerClass: opt(Type.String()),
        internalTrafficPolicy: opt(Type.String()),
        trafficDistribution: opt(Type.String()),
      },
      { ...closed, description: serviceSpec.description },
    ),
    status: opt(ServiceStatus),
  },
  closed,
);

const ObjectReference = Type.Object(
  {
    kind: opt(Type.String()),
    namespace: opt(Type.String()),
    name: opt(Type.String()),
    uid: opt(Type.String()),
    apiVersion: opt(Type.String()),
    resourceVersion: opt(Type.String()),
    fieldPath: opt(Type.String()),
  },
  closed,
);

const ForZone = Type.Object({ name: Type.String() }, closed);

/** discovery.k8s.io/v1 EndpointSlice with upstream's Endpoint and EndpointPort fields. */
export const EndpointSliceFields = Type.Object(
  {
    ...EndpointSlice.properties,
    endpoints: Type.Array(
      Type.Object(
        {
          ...Endpoint.properties,
          targetRef: opt(ObjectReference),
          hints: opt(
            Type.Object({ forZones: opt(Type.Array(ForZone)), forNodes: opt(Type.Array(ForZone)) }, closed),
          ),
          deprecatedTopology: stringMap(),
        },
        closed,
      ),
      { maxItems: 1000 },
    ),
    ports: opt(Type.Array(Type.Object({ ...EndpointPort.properties }, closed), { maxItems: 100 })),
  },
  closed,
);
