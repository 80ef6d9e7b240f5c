// Where each kind is stored: its API group and plural resource name, as the Kubernetes API and
// the resource store address it. One storage identity per kind, whatever versions are served.
import type { ResourceKind } from "./validate.ts";

export interface StoredKind {
  readonly kind: ResourceKind;
  readonly group: string;
  /** The version objects are stored and served in by preference. */
  readonly version: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

export const storedKinds: readonly StoredKind[] = [
  { kind: "Service", group: "", version: "v1", resource: "services", namespaced: true },
  {
    kind: "EndpointSlice",
    group: "discovery.k8s.io",
    version: "v1",
    resource: "endpointslices",
    namespaced: true,
  },
  {
    kind: "HTTPRoute",
    group: "gateway.networking.k8s.io",
    version: "v1",
    resource: "httproutes",
    namespaced: true,
  },
  {
    kind: "GRPCRoute",
    group: "gateway.networking.k8s.io",
    version: "v1",
    resource: "grpcroutes",
    namespaced: true,
  },
  {
    kind: "TrafficPolicy",
    group: "meshplane.dev",
    version: "v1alpha1",
    resource: "trafficpolicies",
    namespaced: true,
  },
  {
    kind: "FaultInjection",
    group: "meshplane.dev",
    version: "v1alpha1",
    resource: "faultinjections",
    namespaced: true,
  },
  {
    kind: "Rollout",
    group: "meshplane.dev",
    version: "v1alpha1",
    resource: "rollouts",
    namespaced: true,
  },
  {
    kind: "PeerAuthentication",
    group: "meshplane.dev",
    version: "v1alpha1",
    resource: "peerauthentications",
    namespaced: true,
  },
  {
    kind: "AuthorizationPolicy",
    group: "meshplane.dev",
    version: "v1alpha1",
    resource: "authorizationpolicies",
    namespaced: true,
  },
  {
    kind: "RequestAuthentication",
    group: "meshplane.dev",
    version: "v1alpha1",
    resource: "requestauthentications",
    namespaced: true,
  },
];

export function storedKind(kind: string): StoredKind | undefined {
  return storedKinds.find((k) => k.kind === kind);
}
