// Discovery documents, legacy (APIVersions, APIGroupList, APIResourceList) and aggregated
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList). client-go decides the format only from the
// response Content-Type, so the server answers aggregated exactly when Accept asks for it and both
// /api and /apis answer the same way (spec-notes §1.3, client-go discovery_client.go).
import { apiVersionOf, groupVersions, resources, type GroupVersion, type ResourceDef } from "./resources.ts";

export type DiscoveryFormat = "legacy" | "v2" | "v2beta1";

const aggregatedMediaType = (version: "v2" | "v2beta1") =>
  `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;

/** The first aggregated format Accept lists, else legacy. */
export function discoveryFormat(accept: string | undefined): DiscoveryFormat {
  for (const entry of (accept ?? "").split(",")) {
    const params = entry
      .split(";")
      .slice(1)
      .map((p) => p.trim());
    if (!params.includes("g=apidiscovery.k8s.io") || !params.includes("as=APIGroupDiscoveryList")) continue;
    if (params.includes("v=v2")) return "v2";
    if (params.includes("v=v2beta1")) return "v2beta1";
  }
  return "legacy";
}

export function discoveryContentType(format: DiscoveryFormat): string {
  return format === "legacy" ? "application/json" : aggregatedMediaType(format);
}

const statusVerbs = ["get", "patch", "update"];

/** `/api`: the core versions. */
export function coreDiscovery(format: DiscoveryFormat, serverAddress: string): object {
  const core = groupVersions().filter((gv) => gv.group === "");
  if (format !== "legacy") return aggregatedList(format, core);
  return {
    kind: "APIVersions",
    versions: core.map((gv) => gv.version),
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** `/apis`: every named group. */
export function groupsDiscovery(format: DiscoveryFormat): object {
  const named = groupVersions().filter((gv) => gv.group !== "");
  if (format !== "legacy") return aggregatedList(format, named);
  const groups = [...new Set(named.map((gv) => gv.group))];
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map((g) => apiGroup(g, named)) };
}

/** `/apis/<group>`: one APIGroup (legacy only). */
export function groupDiscovery(group: string): object | undefined {
  const gvs = groupVersions().filter((gv) => gv.group === group);
  return gvs.length === 0 ? undefined : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, gvs) };
}

function apiGroup(group: string, gvs: readonly GroupVersion[]): object {
  const versions = gvs
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: apiVersionOf(group, gv.version), version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** `/api/v1`, `/apis/<g>/<v>`: APIResourceList with the status subresources. */
export function resourceListDiscovery(group: string, version: string): object {
  const defs = resources.filter((r) => r.group === group && r.versions.includes(version));
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf(group, version),
    resources: defs.flatMap((def) => [
      {
        name: def.plural,
        singularName: def.singular,
        namespaced: def.namespaced,
        kind: def.kind,
        verbs: [...def.verbs],
        ...(def.shortNames.length > 0 ? { shortNames: [...def.shortNames] } : {}),
        ...(def.categories.length > 0 ? { categories: [...def.categories] } : {}),
      },
      ...(def.statusSubresource
        ? [
            {
              name: `${def.plural}/status`,
              singularName: "",
              namespaced: def.namespaced,
              kind: def.kind,
              verbs: statusVerbs,
            },
          ]
        : []),
    ]),
  };
}

function aggregatedList(format: "v2" | "v2beta1", gvs: readonly GroupVersion[]): object {
  const groups = [...new Set(gvs.map((gv) => gv.group))];
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${format}`,
    metadata: {},
    items: groups.map((group) => ({
      metadata: group === "" ? {} : { name: group },
      versions: gvs
        .filter((gv) => gv.group === group)
        .map((gv) => ({
          version: gv.version,
          resources: gv.resources.map((def) => aggregatedResource(def, gv.version)),
          freshness: "Current",
        })),
    })),
  };
}

function aggregatedResource(def: ResourceDef, version: string): object {
  // responseKind is required: client-go drops resources without it (convertAPIResource).
  const responseKind = { group: def.group, version, kind: def.kind };
  return {
    resource: def.plural,
    responseKind,
    scope: def.namespaced ? "Namespaced" : "Cluster",
    singularResource: def.singular,
    verbs: [...def.verbs],
    ...(def.shortNames.length > 0 ? { shortNames: [...def.shortNames] } : {}),
    ...(def.categories.length > 0 ? { categories: [...def.categories] } : {}),
    ...(def.statusSubresource
      ? { subresources: [{ subresource: "status", responseKind, verbs: statusVerbs }] }
      : {}),
  };
}
