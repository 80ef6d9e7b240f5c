// Which patch types each kind accepts, and the per-field list and map rules strategic merge patch and
// server-side apply merge by. Built-in kinds carry these as Go struct tags upstream
// (`patchStrategy`/`patchMergeKey`, `+listType`/`+listMapKey`/`+mapType` in api core/v1 and
// discovery/v1 types.go); custom resources take them from their CRD schema, where a list without
// `x-kubernetes-list-type` is atomic.
import type { JsonObject, JsonValue } from "./json.ts";

export const patchTypes = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

export type PatchType = (typeof patchTypes)[keyof typeof patchTypes];

/** A group (`""` for core) and a kind, as in `GroupKind`. */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

/**
 * How a list merges.
 * - `atomic`: replaced as a whole (SMP without `patchStrategy: merge`; SSA `listType=atomic`, the
 *   default for unlisted fields);
 * - `set`: a list of scalars merged as a set (SMP primitive merge list; SSA `listType=set`);
 * - `map`: a list of objects keyed by `keys` (SSA `listType=map`) and merged by `smpMergeKey`
 *   (SMP `patchMergeKey`).
 */
export type ListRule =
  | { readonly type: "atomic" }
  | { readonly type: "set" }
  | {
      readonly type: "map";
      /** SSA key fields, in the order upstream lists them (sorted when written into managedFields). */
      readonly keys: readonly string[];
      /** Values a key field takes when an element omits it (the OpenAPI default, e.g. protocol TCP). */
      readonly keyDefaults?: Readonly<Record<string, JsonValue>>;
      /** The SMP merge key. */
      readonly smpMergeKey: string;
      /**
       * Fields compared as well when both the patch element and the live element set them. Upstream
       * SMP merges Service ports by `port` alone, so `53/UDP` in a patch would land on `53/TCP`.
       */
      readonly smpAlsoMatch?: readonly string[];
    };

export type MapListRule = Extract<ListRule, { type: "map" }>;

/**
 * Field rules of one kind. Paths are field names joined by `.`, with `[]` after a list field for its
 * elements: `spec.ports`, `spec.ports[].targetPort`.
 */
export interface FieldRules {
  readonly lists: ReadonlyMap<string, ListRule>;
  /** Maps SSA treats as one value (`+mapType=atomic`); SMP still merges them key by key. */
  readonly atomicMaps: ReadonlySet<string>;
  /**
   * The zero value of the kind as upstream serialises a new Go object (`spec: {}` for a Service):
   * what a create is compared against, so managedFields match upstream (no `.` on `f:spec`).
   */
  readonly empty: Readonly<JsonObject>;
}

const atomic: ListRule = { type: "atomic" };

// ObjectMeta (apimachinery meta/v1 types.go): finalizers `listType=set`/`patchStrategy=merge`,
// ownerReferences `listType=map` key uid / `patchMergeKey=uid`. Conditions follow the Kubernetes API
// convention (`listType=map`, key `type`) for every kind, ours included.
const commonLists: ReadonlyArray<readonly [string, ListRule]> = [
  ["metadata.finalizers", { type: "set" }],
  ["metadata.ownerReferences", { type: "map", keys: ["uid"], smpMergeKey: "uid" }],
  ["status.conditions", { type: "map", keys: ["type"], smpMergeKey: "type" }],
];

interface KindTable {
  readonly lists: ReadonlyArray<readonly [string, ListRule]>;
  readonly atomicMaps: readonly string[];
  readonly empty: JsonObject;
}

/** Built-in kinds: they accept strategic merge patch. */
const builtins: ReadonlyMap<string, KindTable> = new Map<string, KindTable>([
  [
    "/Service",
    {
      // core/v1 ServiceSpec.Ports: `listType=map`, keys port+protocol (protocol defaults to TCP);
      // `patchMergeKey=port`. Selector is `mapType=atomic`. clusterIPs, ipFamilies, externalIPs and
      // loadBalancerSourceRanges are atomic lists, as is status.loadBalancer.ingress.
      lists: [
        [
          "spec.ports",
          {
            type: "map",
            keys: ["port", "protocol"],
            keyDefaults: { protocol: "TCP" },
            smpMergeKey: "port",
            smpAlsoMatch: ["protocol"],
          },
        ],
      ],
      atomicMaps: ["spec.selector"],
      empty: { metadata: {}, spec: {}, status: { loadBalancer: {} } },
    },
  ],
  // discovery/v1 EndpointSlice: endpoints and ports are `listType=atomic`.
  ["discovery.k8s.io/EndpointSlice", { lists: [], atomicMaps: [], empty: { metadata: {} } }],
  // core/v1 Namespace: spec.finalizers is atomic; status.conditions keyed by type (common rule).
  ["/Namespace", { lists: [], atomicMaps: [], empty: { metadata: {}, spec: {}, status: {} } }],
]);

const cache = new Map<string, FieldRules>();

/** The list and map rules of a kind; custom resources get the ObjectMeta and conditions rules only. */
export function fieldRules(kind: GroupKind): FieldRules {
  const id = `${kind.group}/${kind.kind}`;
  let rules = cache.get(id);
  if (!rules) {
    const table = builtins.get(id);
    rules = {
      lists: new Map([...commonLists, ...(table?.lists ?? [])]),
      atomicMaps: new Set(table?.atomicMaps ?? []),
      empty: table?.empty ?? {},
    };
    cache.set(id, rules);
  }
  return rules;
}

/** A fresh copy of the kind's zero value. */
export function emptyObject(rules: FieldRules): JsonObject {
  return structuredClone(rules.empty) as JsonObject;
}

export function listRule(rules: FieldRules, path: string): ListRule {
  return rules.lists.get(path) ?? atomic;
}

/** `v1` → group "", `discovery.k8s.io/v1` → "discovery.k8s.io". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * Whether a kind is compiled in (accepts strategic merge patch). A bare kind name matches a built-in
 * of any group, so pass the group when a custom resource may share a built-in's name.
 */
export function isBuiltinKind(kind: string | GroupKind): boolean {
  if (typeof kind === "string") return [...builtins.keys()].some((id) => id.endsWith(`/${kind}`));
  return builtins.has(`${kind.group}/${kind.kind}`);
}

/**
 * The PATCH content types a kind accepts, in the order upstream lists them in its 415 message:
 * custom resources take JSON patch, merge patch and apply (apiextensions-apiserver
 * customresource_handler.go); built-ins also take strategic merge patch.
 */
export function supportedPatchTypes(kind: string | GroupKind): readonly PatchType[] {
  return isBuiltinKind(kind)
    ? [patchTypes.json, patchTypes.merge, patchTypes.strategic, patchTypes.apply]
    : [patchTypes.json, patchTypes.merge, patchTypes.apply];
}

/**
 * The patch type of a `Content-Type` header value, ignoring parameters (`; charset=utf-8`) and case;
 * undefined for anything else.
 */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = contentType?.split(";")[0]?.trim().toLowerCase();
  return Object.values(patchTypes).find((t) => t === base);
}
