// A config snapshot for the xDS layer: the mesh built from resources, the generators over it, and
// which resources the change from the previous resources can affect.
import type { Resource } from "../api/index.ts";
import {
  buildMeshSnapshot,
  type ChangeSet,
  type DataPlaneFlavour,
  type MeshSnapshot,
} from "../mesh/index.ts";
import { isAffected, isProfileDependent } from "./dependencies.ts";
import { generateResources } from "./generator.ts";
import { provenance } from "./provenance.ts";
import type { GeneratedResource, ProxyProfile, ResourceRequest } from "./types.ts";

export interface MeshConfigSnapshot {
  readonly version: number;
  readonly mesh: MeshSnapshot;
  generate(profile: ProxyProfile, typeUrl: string, request: ResourceRequest): GeneratedResource[];
  isProfileDependent(typeUrl: string, profile: ProxyProfile): boolean;
  /** Absent on the first snapshot: everything is new. */
  readonly isAffected?: (typeUrl: string, name: string, flavour: DataPlaneFlavour) => boolean;
  /**
   * The configuration objects (`Kind namespace/name`) resource `name` is built from for
   * `profile`; `error` (a proxy's complaint about it) narrows the list to what it quotes.
   */
  sources(typeUrl: string, name: string, profile: ProxyProfile, error?: string): readonly string[];
}

export function meshConfigSnapshot(
  version: number,
  resources: readonly Resource[],
  /** What changed since the previous snapshot's resources (diffResources); undefined on the first. */
  changes: ChangeSet | undefined,
  domain: string,
): MeshConfigSnapshot {
  const mesh = buildMeshSnapshot(resources, { domain });
  return {
    version,
    mesh,
    generate: (profile, typeUrl, request) => generateResources(mesh, profile, typeUrl, request),
    isProfileDependent,
    sources: (typeUrl, name, profile, error) =>
      provenance(mesh, typeUrl, name, { callerNamespace: profile.namespace, resources, error }),
    ...(changes
      ? {
          isAffected: (typeUrl: string, name: string, flavour: DataPlaneFlavour) =>
            isAffected(typeUrl, name, changes, flavour),
        }
      : {}),
  };
}
