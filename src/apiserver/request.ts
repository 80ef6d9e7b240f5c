// Request plumbing: which endpoint a path names and the response format an Accept header asks
// for. Paths follow spec-notes §1.2; bodies are body.ts's.
import { findResource, groupVersions, servesGroupVersion, type ResourceDef } from "./resources.ts";
import { ApiError, pathNotFound } from "./status.ts";

export type Endpoint =
  | { readonly kind: "version" }
  | { readonly kind: "api" }
  | { readonly kind: "apis" }
  | { readonly kind: "group"; readonly group: string }
  | { readonly kind: "groupVersion"; readonly group: string; readonly version: string }
  | { readonly kind: "openapiIndex" }
  | { readonly kind: "openapiDoc"; readonly path: string }
  | { readonly kind: "resource"; readonly target: ResourceTarget };

export interface ResourceTarget {
  readonly def: ResourceDef;
  /** The version the client addressed; replies use it. */
  readonly version: string;
  /** Set for namespaced paths (`/namespaces/{ns}/...`); absent for all-namespaces and cluster scope. */
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly subresource?: "status" | undefined;
}

const segmentRe = /^[^/]+$/;

/** Splits `/a/b/c` into decoded segments; rejects empty ones (`//`) and `.`/`..`. */
function segments(path: string): string[] | undefined {
  const parts = path.split("/").slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  const decoded: string[] = [];
  for (const part of parts) {
    let value: string;
    try {
      value = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (!segmentRe.test(value) || value === "." || value === "..") return undefined;
    decoded.push(value);
  }
  return decoded;
}

/** Resolves a request path (without query) to an endpoint; throws 404 for unknown paths. */
export function resolvePath(path: string): Endpoint {
  if (path === "/version" || path === "/version/") return { kind: "version" };
  const parts = segments(path);
  if (parts === undefined) throw pathNotFound();
  const [root, ...rest] = parts;
  if (root === "openapi" && rest[0] === "v3") {
    return rest.length === 1
      ? { kind: "openapiIndex" }
      : { kind: "openapiDoc", path: rest.slice(1).join("/") };
  }
  if (root === "api") {
    if (rest.length === 0) return { kind: "api" };
    const [version, ...tail] = rest;
    if (version !== "v1") throw pathNotFound();
    if (tail.length === 0) return { kind: "groupVersion", group: "", version };
    return { kind: "resource", target: resourceTarget("", version, tail) };
  }
  if (root === "apis") {
    if (rest.length === 0) return { kind: "apis" };
    const [group = "", version, ...tail] = rest;
    if (version === undefined) {
      if (!groupVersions().some((gv) => gv.group === group)) throw pathNotFound();
      return { kind: "group", group };
    }
    if (tail.length === 0) {
      if (!servesGroupVersion(group, version)) throw pathNotFound();
      return { kind: "groupVersion", group, version };
    }
    return { kind: "resource", target: resourceTarget(group, version, tail) };
  }
  throw pathNotFound();
}

function resourceTarget(group: string, version: string, tail: string[]): ResourceTarget {
  // /namespaces/{ns}/{resource}[/{name}[/{sub}]] for namespaced kinds, unless it names a
  // namespace's own subresource (/namespaces/{name}/status).
  if (tail[0] === "namespaces" && tail.length >= 3) {
    const def = findResource(group, version, tail[2] as string);
    if (def?.namespaced) return target(def, version, tail[1], tail.slice(3));
  }
  const def = findResource(group, version, tail[0] as string);
  if (!def) throw pathNotFound();
  const [, name, ...sub] = tail;
  // A namespaced kind without a namespace: only the all-namespaces collection.
  if (def.namespaced && name !== undefined) throw pathNotFound();
  return target(def, version, undefined, name === undefined ? [] : [name, ...sub]);
}

function target(
  def: ResourceDef,
  version: string,
  namespace: string | undefined,
  tail: string[],
): ResourceTarget {
  const [name, subresource, ...extra] = tail;
  if (extra.length > 0) throw pathNotFound();
  if (subresource !== undefined && (subresource !== "status" || !def.statusSubresource)) throw pathNotFound();
  return {
    def,
    version,
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource: "status" as const }),
  };
}

/** What the client wants back: plain JSON, or a meta.k8s.io Table of the given version. */
export type ResponseFormat =
  { readonly as: "json" } | { readonly as: "table"; readonly version: "v1" | "v1beta1" };

/**
 * Reads Accept in order (client-go lists its preference first). Table is chosen when asked for with
 * `as=Table;g=meta.k8s.io`; protobuf is never served (spec-notes §1.0: always answer JSON). Only
 * when every entry asks for another `as=` conversion (PartialObjectMetadata) is the answer 406.
 */
export function negotiate(accept: string | undefined): ResponseFormat {
  const entries = (accept ?? "").split(",").filter((e) => e.trim() !== "");
  for (const entry of entries) {
    const [mediaType = "", ...rawParams] = entry.split(";").map((p) => p.trim());
    const params = new Map(
      rawParams.map((p) => {
        const at = p.indexOf("=");
        return at < 0 ? [p.toLowerCase(), ""] : [p.slice(0, at).toLowerCase(), p.slice(at + 1)];
      }),
    );
    const as = params.get("as");
    if (as === undefined) return { as: "json" };
    if (as === "Table" && params.get("g") === "meta.k8s.io" && mediaType === "application/json") {
      const version = params.get("v");
      if (version === "v1" || version === "v1beta1") return { as: "table", version };
    }
  }
  if (entries.length === 0) return { as: "json" };
  throw new ApiError(
    406,
    "NotAcceptable",
    `only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io`,
    {},
  );
}
