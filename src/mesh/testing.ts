// Test helpers: mesh resources from plain objects (validated as the API validates them) and a build.
import { validateResource, type Resource } from "../api/index.ts";
import { buildMeshSnapshot } from "./build.ts";
import type { MeshIssue, MeshSnapshot } from "./model.ts";

export function resources(...objects: object[]): Resource[] {
  return objects.map((object) => {
    const result = validateResource(object);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.resource;
  });
}

export function build(...objects: object[]): MeshSnapshot {
  return buildMeshSnapshot(resources(...objects), { domain: "cluster.local" });
}

/** `object field reason [flavour]`: issues in a form tables compare easily. */
export function issueLines(issues: readonly MeshIssue[]): string[] {
  return issues.map((i) => `${i.object} ${i.field} ${i.reason}${i.flavour ? ` [${i.flavour}]` : ""}`);
}

export const service = (name: string, ports: object[] = [{ port: 80 }], namespace = "default") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { ports },
});

export const serviceParent = (name = "web", extra: object = {}) => ({
  group: "",
  kind: "Service",
  name,
  ...extra,
});

export function route(
  kind: "HTTPRoute" | "GRPCRoute",
  name: string,
  rules: object[],
  metadata: { namespace?: string; creationTimestamp?: string } = {},
  parentRefs: object[] = [serviceParent()],
) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind,
    metadata: { name, namespace: "default", ...metadata },
    spec: { parentRefs, rules },
  };
}

export function trafficPolicy(
  name: string,
  spec: object,
  metadata: { namespace?: string; creationTimestamp?: string } = {},
) {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "TrafficPolicy",
    metadata: { name, namespace: "default", ...metadata },
    spec,
  };
}

export function faultInjection(name: string, spec: object, namespace = "default") {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "FaultInjection",
    metadata: { name, namespace },
    spec,
  };
}

/** A PeerAuthentication, AuthorizationPolicy or RequestAuthentication. */
export function securityPolicy(
  kind: "PeerAuthentication" | "AuthorizationPolicy" | "RequestAuthentication",
  name: string,
  spec: object,
  metadata: { namespace?: string; creationTimestamp?: string } = {},
) {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind,
    metadata: { name, namespace: "default", ...metadata },
    spec,
  };
}
