// What a change would do to the xDS resources live proxies hold, before it is applied: the mesh is
// built and translated by the pipeline's own code for the configuration as it is and as it would
// be, for each proxy group the live proxies form, and each resource that differs is shown as a
// line diff of its proto JSON with the proxies that subscribe to it.
import { toJson } from "@bufbuild/protobuf";
import { objectRef, type Resource } from "../api/index.ts";
import { buildMeshSnapshot, MeshFacets, type BuildOptions } from "../mesh/index.ts";
import {
  packedTypesRegistry,
  profileGroup,
  translate,
  translateNames,
  type ProxyProfile,
} from "../translate/index.ts";
import { unifiedDiff } from "./text-diff.ts";

/** A live proxy as /debug/syncz describes it: who it is and what it subscribes to. */
export interface SubscribedProxy {
  /** `node` on `replica`: how the proxy is named in the output. */
  readonly node: string;
  readonly replica: string;
  readonly profile: ProxyProfile;
  readonly types: readonly {
    readonly typeUrl: string;
    readonly wildcard: boolean;
    readonly subscribed: readonly string[];
  }[];
}

export interface ResourceDifference {
  readonly typeUrl: string;
  readonly name: string;
  /** The proxy group (profileGroup): proxies in it get the same resource. */
  readonly group: string;
  readonly change: "added" | "removed" | "changed";
  /** Unified diff of the resource's proto JSON, before → after. */
  readonly diff: string;
  /** The proxies that subscribe to the resource (`node@replica`), sorted. */
  readonly proxies: readonly string[];
}

/** `resources` with `changes` applied: an object of the same kind, namespace and name is replaced. */
export function applyChanges(resources: readonly Resource[], changes: readonly Resource[]): Resource[] {
  const key = (r: Resource) => objectRef(r.kind, r.metadata);
  const replaced = new Map(changes.map((r) => [key(r), r]));
  const merged = resources.map((r) => replaced.get(key(r)) ?? r);
  const present = new Set(resources.map(key));
  return [...merged, ...changes.filter((r) => !present.has(key(r)))];
}

const order = [
  "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  "type.googleapis.com/envoy.config.listener.v3.Listener",
  "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
];

export function diffResources(
  before: readonly Resource[],
  after: readonly Resource[],
  proxies: readonly SubscribedProxy[],
  build: BuildOptions,
): ResourceDifference[] {
  const facets = {
    before: new MeshFacets(buildMeshSnapshot(before, build)),
    after: new MeshFacets(buildMeshSnapshot(after, build)),
  };
  const registry = packedTypesRegistry();
  /** By type, group and name: the profile to translate for, and who holds it. */
  const held = new Map<
    string,
    { typeUrl: string; group: string; name: string; profile: ProxyProfile; proxies: Set<string> }
  >();
  const wildcardNames = new Map<string, readonly string[]>();
  for (const proxy of proxies) {
    for (const type of proxy.types) {
      const group = profileGroup(type.typeUrl, proxy.profile);
      let names = type.subscribed;
      if (type.wildcard) {
        const key = `${type.typeUrl}\0${group}`;
        names = wildcardNames.get(key) ?? [
          ...new Set([
            ...translateNames(facets.before, proxy.profile, type.typeUrl).names,
            ...translateNames(facets.after, proxy.profile, type.typeUrl).names,
          ]),
        ];
        wildcardNames.set(key, names);
      }
      for (const name of names) {
        const key = `${type.typeUrl}\0${group}\0${name}`;
        const entry = held.get(key) ?? {
          typeUrl: type.typeUrl,
          group,
          name,
          profile: proxy.profile,
          proxies: new Set(),
        };
        entry.proxies.add(`${proxy.node}@${proxy.replica}`);
        held.set(key, entry);
      }
    }
  }
  const render = (side: MeshFacets, entry: { profile: ProxyProfile; typeUrl: string; name: string }) => {
    const resource = translate(side, entry.profile, entry.typeUrl, entry.name).resource;
    return resource ? JSON.stringify(toJson(resource.schema, resource.message, { registry }), null, 2) : "";
  };
  const differences: ResourceDifference[] = [];
  for (const entry of held.values()) {
    const a = render(facets.before, entry);
    const b = render(facets.after, entry);
    if (a === b) continue;
    differences.push({
      typeUrl: entry.typeUrl,
      name: entry.name,
      group: entry.group,
      change: a === "" ? "added" : b === "" ? "removed" : "changed",
      diff: unifiedDiff(a, b),
      proxies: [...entry.proxies].sort(),
    });
  }
  return differences.sort(
    (x, y) =>
      order.indexOf(x.typeUrl) - order.indexOf(y.typeUrl) ||
      (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) ||
      (x.group < y.group ? -1 : x.group > y.group ? 1 : 0),
  );
}
