// What every write goes through before the store: the body's identity against the URL (namespace,
// name, apiVersion, kind), defaults, and validation with field paths (validateResource from
// src/api). Upstream: apiserver registry/rest/{create,update,meta}.go, handlers/create.go.
import { randomBytes } from "node:crypto";
import { validateResource } from "../api/index.ts";
import { excerpt } from "../limits/index.ts";
import type { KubeObject } from "../store/index.ts";
import { validateNamespace } from "./namespaces.ts";
import { apiVersionOf, type ResourceDef } from "./resources.ts";
import type { ResourceTarget } from "./request.ts";
import { clusterIpCauses, defaultService } from "./service.ts";
import { badRequest, causeFromFieldError, invalid, shownName, type StatusCause } from "./status.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the decoded body names the kind the URL addresses and takes the URL's identity:
 * apiVersion/kind default from the path, the namespace from the URL (a different one is a 400), and
 * for item URLs the name.
 */
export function bindToTarget(body: unknown, target: ResourceTarget): KubeObject {
  const { def, version } = target;
  if (!isRecord(body)) throw badRequest("the request body must be a JSON object");
  const expected = apiVersionOf(def.group, version);
  const apiVersion = body.apiVersion ?? expected;
  const kind = body.kind ?? def.kind;
  if (apiVersion !== expected) {
    throw badRequest(
      `the API version in the data (${excerpt(String(apiVersion))}) does not match the expected API version (${expected})`,
    );
  }
  if (kind !== def.kind) {
    throw badRequest(
      `the kind in the data (${excerpt(String(kind))}) does not match the expected kind (${def.kind})`,
    );
  }
  const metadata: Record<string, unknown> = isRecord(body.metadata) ? { ...body.metadata } : {};
  // Decoding treats null as unset (kubectl writes `creationTimestamp: null`).
  for (const [key, value] of Object.entries(metadata)) if (value === null) delete metadata[key];
  if (def.namespaced) {
    if (
      metadata.namespace !== undefined &&
      metadata.namespace !== "" &&
      metadata.namespace !== target.namespace
    ) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    metadata.namespace = target.namespace;
  } else if (metadata.namespace !== undefined && metadata.namespace !== "") {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  } else {
    delete metadata.namespace;
  }
  if (target.name !== undefined) {
    if (metadata.name !== undefined && metadata.name !== target.name) {
      throw badRequest(
        `the name of the object (${shownName(String(metadata.name))}) does not match the name on the URL (${shownName(target.name)})`,
      );
    }
    metadata.name = target.name;
  }
  return { ...body, apiVersion: expected, kind: def.kind, metadata } as KubeObject;
}

const generateAlphabet = "bcdfghjklmnpqrstvwxz2456789";

/** `generateName` + five random characters (names.SimpleNameGenerator), when no name is given. */
export function generateName(object: KubeObject): KubeObject {
  const { name, generateName: prefix } = object.metadata;
  if ((name !== undefined && name !== "") || typeof prefix !== "string" || prefix === "") return object;
  const bytes = randomBytes(5);
  let suffix = "";
  for (const byte of bytes) suffix += generateAlphabet[byte % generateAlphabet.length];
  return { ...object, metadata: { ...object.metadata, name: prefix.slice(0, 253 - 5) + suffix } };
}

/** Server-side defaults of the kind. */
export function applyDefaults(def: ResourceDef, object: KubeObject): KubeObject {
  if (def.kind === "Service") return defaultService(object);
  if (def.kind === "EndpointSlice" && Array.isArray(object.ports)) {
    return {
      ...object,
      ports: object.ports.map((p: unknown) => (isRecord(p) ? { protocol: "TCP", ...p } : p)),
    };
  }
  if (def.kind === "Namespace") {
    // Upstream labels every namespace with its name (kubernetes.io/metadata.name, since 1.21).
    const spec = isRecord(object.spec) ? object.spec : {};
    const name = object.metadata.name;
    const labels =
      typeof name === "string"
        ? { ...object.metadata.labels, "kubernetes.io/metadata.name": name }
        : object.metadata.labels;
    return {
      ...object,
      metadata: { ...object.metadata, ...(labels ? { labels } : {}) },
      spec: { finalizers: ["kubernetes"], ...spec },
    };
  }
  return object;
}

/**
 * Validates an object about to be written (its unknown fields already pruned, fields.ts): 422
 * Invalid with a cause per problem. Returns the object to store (in the storage version).
 */
export function validate(def: ResourceDef, object: KubeObject): KubeObject {
  const name = object.metadata.name ?? "";
  let causes: StatusCause[] = [];
  if (def.validatedBy === "api") {
    const result = validateResource(object);
    if (!result.ok) causes = result.errors.map((e) => causeFromFieldError(e, object));
  } else if (def.validatedBy === "namespace") {
    causes = validateNamespace(object);
  }
  if (def.kind === "Service") causes.push(...clusterIpCauses(object));
  if (causes.length > 0) throw invalid(def, name, causes);
  return { ...object, apiVersion: apiVersionOf(def.group, def.storageVersion) };
}
