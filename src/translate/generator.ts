// Resources for one proxy profile, one name at a time, from one mesh. Each name is built under a
// fresh MeshView, so each resource carries exactly what it read. Pure; a translator fault becomes
// a value (`failure`), never an exception for the caller.
import { MeshFacets, type MeshSnapshot } from "../mesh/index.ts";
import { clientEncoding, encodingKey } from "./clients/index.ts";
import { envoyResourceTypes } from "./envoy/generator.ts";
import { grpcResourceTypes } from "./grpc/generator.ts";
import type {
  GeneratedResource,
  NameList,
  ProxyProfile,
  ResourceRequest,
  ResourceType,
  Translation,
} from "./types.ts";
import { MeshView, type ProfileField } from "./view.ts";

function resourceType(profile: ProxyProfile, typeUrl: string): ResourceType | undefined {
  return (profile.flavour === "envoy" ? envoyResourceTypes : grpcResourceTypes).get(typeUrl);
}

/**
 * Which proxies share resources of `typeUrl` with `profile`: those with the same flavour and the
 * same values of the attributes the type may read. Of the client, what counts is the encoding it
 * needs; clients that take the current one add nothing, so they share with every other proxy.
 */
export function profileGroup(typeUrl: string, profile: ProxyProfile): string {
  const fields = resourceType(profile, typeUrl)?.profile ?? [];
  return [profile.flavour, ...fields.flatMap((f) => groupPart(f, profile))].join("|");
}

function groupPart(field: ProfileField, profile: ProxyProfile): string[] {
  switch (field) {
    case "namespace":
      return [`ns=${profile.namespace}`];
    case "instanceIps":
      return [`ips=${profile.instanceIps.join(",")}`];
    case "certDir":
      // Proxies on the default directory share with their whole flavour.
      return profile.certDir === undefined ? [] : [`certs=${profile.certDir}`];
    case "client": {
      const key = encodingKey(clientEncoding(profile.client));
      return key ? [`client=${key}`] : [];
    }
  }
}

/** The resource `name` of `typeUrl` for `profile`. */
export function translate(
  facets: MeshFacets,
  profile: ProxyProfile,
  typeUrl: string,
  name: string,
): Translation {
  const type = resourceType(profile, typeUrl);
  const view = new MeshView(facets, profile, type?.profile ?? []);
  if (!type) return { name, resource: undefined, provenance: view.provenance() };
  try {
    const message = type.build(view, name);
    const provenance = view.provenance();
    const resource: GeneratedResource | undefined = message && {
      name,
      typeUrl,
      schema: type.schema,
      message,
      provenance,
    };
    return { name, resource, provenance };
  } catch (error) {
    return { name, resource: undefined, provenance: view.provenance(), failure: asError(error) };
  }
}

/** The names a wildcard subscriber to `typeUrl` gets. */
export function translateNames(facets: MeshFacets, profile: ProxyProfile, typeUrl: string): NameList {
  const type = resourceType(profile, typeUrl);
  const view = new MeshView(facets, profile, type?.profile ?? []);
  if (!type) return { names: [], provenance: view.provenance() };
  try {
    const names = type.names(view);
    return { names, provenance: view.provenance() };
  } catch (error) {
    return { names: [], provenance: view.provenance(), failure: asError(error) };
  }
}

/**
 * Everything `request` selects, generated from scratch over `mesh` (tools, tests, the simulator):
 * names that do not resolve are left out, and a translator fault is thrown.
 */
export function generateResources(
  mesh: MeshSnapshot,
  profile: ProxyProfile,
  typeUrl: string,
  request: ResourceRequest,
): GeneratedResource[] {
  const facets = new MeshFacets(mesh);
  const names = request.wildcard ? orThrow(translateNames(facets, profile, typeUrl)).names : request.names;
  return names.flatMap((name) => orThrow(translate(facets, profile, typeUrl, name)).resource ?? []);
}

function orThrow<T extends { failure?: Error }>(result: T): T {
  if (result.failure) throw result.failure;
  return result;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
