// One published version of what meshplane serves: the configuration objects, the mesh built from
// them, the facet keys that changed since the previous version, the issues, and translation over
// that mesh with recorded dependencies. Everything downstream (xDS, status, admin) reads this.
import type { Resource } from "../api/index.ts";
import type { FacetKey, MeshFacets, MeshIssue, MeshSnapshot } from "../mesh/index.ts";
import {
  profileGroup,
  translate,
  translateNames,
  type GeneratedResource,
  type NameList,
  type ProxyProfile,
  type Translation,
} from "../translate/index.ts";
import type { ChangeTrace } from "../telemetry/index.ts";
import { builtFrom } from "./blame.ts";
import type { TranslationFaults } from "./translation-faults.ts";

export interface ServingState {
  /** Increases with every publish. */
  readonly version: number;
  /** The configuration objects the mesh is built from (status reports their generations). */
  readonly resources: readonly Resource[];
  readonly mesh: MeshSnapshot;
  /**
   * Facet keys whose values differ from the previous version's: a resource that read none of
   * them is unchanged. Undefined for the first version (everything is new).
   */
  readonly changes: ReadonlySet<FacetKey> | undefined;
  /** The mesh's issues, then translator faults found so far (on the objects the resource read). */
  readonly issues: readonly MeshIssue[];
  /** The trace of this change, to its proxies' answers; undefined when tracing is off. */
  readonly trace?: ChangeTrace | undefined;
  /** Proxies in the same group get the same resources of `typeUrl`. */
  profileGroup(typeUrl: string, profile: ProxyProfile): string;
  /** The names a wildcard subscriber to `typeUrl` gets. */
  names(profile: ProxyProfile, typeUrl: string): NameList;
  /** Resource `name`, or why it does not exist; a translator fault is reported, not thrown. */
  generate(profile: ProxyProfile, typeUrl: string, name: string): Translation;
  /**
   * The configuration objects (`Kind namespace/name`) `resource` was built from; `error`, a
   * proxy's text about it, narrows EndpointSlices to those whose addresses it quotes.
   */
  sources(resource: GeneratedResource, error?: string): readonly string[];
}

export function servingState(input: {
  version: number;
  resources: readonly Resource[];
  mesh: MeshSnapshot;
  facets: MeshFacets;
  changes: ReadonlySet<FacetKey> | undefined;
  faults: TranslationFaults;
  trace?: ChangeTrace | undefined;
}): ServingState {
  const { mesh, facets, faults } = input;
  return {
    version: input.version,
    trace: input.trace,
    resources: input.resources,
    mesh,
    changes: input.changes,
    get issues() {
      const found = faults.issues();
      return found.length === 0 ? mesh.issues : [...mesh.issues, ...found];
    },
    profileGroup,
    names: (profile, typeUrl) => {
      const list = translateNames(facets, profile, typeUrl);
      if (list.failure)
        faults.record(typeUrl, profileGroup(typeUrl, profile), "*", list.failure, list.provenance);
      return list;
    },
    generate: (profile, typeUrl, name) => {
      const translation = translate(facets, profile, typeUrl, name);
      if (translation.failure) {
        faults.record(
          typeUrl,
          profileGroup(typeUrl, profile),
          name,
          translation.failure,
          translation.provenance,
        );
      }
      return translation;
    },
    sources: (resource, error) => builtFrom(resource.provenance, error),
  };
}
