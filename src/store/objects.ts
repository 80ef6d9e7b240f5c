// Object semantics shared by every backend: metadata checks, what create/update/updateStatus/delete
// turn the stored object into, and JSON helpers. Pure: backends pass in the clock and stamp the
// resourceVersion themselves. Upstream references: generic registry store.go (Update, Delete,
// markAsDeleting, ShouldDeleteDuringUpdate), customresource strategy.go (generation, status).
import { randomUUID } from "node:crypto";
import { badRequest, conflict, invalid, type FieldCause } from "./errors.ts";
import { checkLabelValue, checkQualifiedName } from "./selectors.ts";
import type { DeleteOptions, JsonValue, KubeObject, ObjectKey, ResourceType } from "./types.ts";

const dnsLabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const rvRe = /^(0|[1-9][0-9]{0,15})$/;

/** `group/resource`: the identity of a type in every backend. */
export function typeId(type: ResourceType): string {
  return `${type.group}/${type.resource}`;
}

export function checkType(type: ResourceType): void {
  const groupOk = type.group === "" || (type.group.length <= 253 && dnsSubdomainRe.test(type.group));
  if (!groupOk || type.resource.length > 63 || !dnsLabelRe.test(type.resource)) {
    throw badRequest(`invalid resource type ${JSON.stringify(type)}`);
  }
}

/** Storage key within a type, ordered like the list output: `namespace/name`, or `name`. */
export function objectKey(type: ResourceType, key: ObjectKey): string {
  return type.namespaced ? `${key.namespace ?? ""}/${key.name}` : key.name;
}

/** Half-open key range `[start, end)` of one namespace, or of the whole type. */
export interface KeyRange {
  readonly start: string;
  readonly end?: string | undefined;
}

export function namespaceRange(namespace: string | undefined): KeyRange {
  // "0" is the character after "/", so [ns/, ns0) holds exactly the keys of namespace ns.
  return namespace === undefined ? { start: "" } : { start: `${namespace}/`, end: `${namespace}0` };
}

/** Checks the identity given to get/delete/list/watch. */
export function checkKey(type: ResourceType, key: ObjectKey): void {
  const causes = [...nameCauses(key.name, "name"), ...namespaceCauses(type, key.namespace)];
  if (causes.length > 0) throw invalid(type, key.name, causes);
}

export function checkNamespaceOption(type: ResourceType, namespace: string | undefined): void {
  if (namespace === undefined) return;
  if (!type.namespaced) throw badRequest(`${type.resource} is cluster-scoped: a namespace is not allowed`);
  if (!dnsLabelRe.test(namespace) || namespace.length > 63) {
    throw badRequest(`invalid namespace ${JSON.stringify(namespace)}`);
  }
}

function nameCauses(name: unknown, field: string): FieldCause[] {
  if (typeof name !== "string" || name === "")
    return [{ field: `metadata.${field}`, message: "Required value" }];
  // Names become key path segments (etcd keys, continue tokens): apimachinery IsValidPathSegmentName,
  // and printable ASCII so that every backend orders keys the same way.
  if (name.length > 253 || name === "." || name === ".." || /[^\x21-\x7e]|[/%]/.test(name)) {
    return [
      {
        field: `metadata.${field}`,
        message: `Invalid value: ${JSON.stringify(name)}: must be at most 253 printable ASCII characters, not '.' or '..', without '/', '%' or spaces`,
      },
    ];
  }
  return [];
}

function namespaceCauses(type: ResourceType, namespace: unknown): FieldCause[] {
  if (!type.namespaced) {
    return namespace === undefined || namespace === ""
      ? []
      : [{ field: "metadata.namespace", message: "Forbidden: not allowed on this type" }];
  }
  if (typeof namespace !== "string" || namespace === "") {
    return [{ field: "metadata.namespace", message: "Required value" }];
  }
  return namespace.length <= 63 && dnsLabelRe.test(namespace)
    ? []
    : [
        {
          field: "metadata.namespace",
          message: `Invalid value: ${JSON.stringify(namespace)}: must be a DNS label`,
        },
      ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringMapCauses(value: unknown, field: string, checkValues: boolean): FieldCause[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return [{ field, message: "Invalid value: must be a map of strings" }];
  const causes: FieldCause[] = [];
  for (const [key, v] of Object.entries(value)) {
    const keyProblem = checkQualifiedName(key);
    if (keyProblem) causes.push({ field, message: `Invalid value: ${keyProblem}` });
    const valueProblem =
      typeof v !== "string" ? "must be a string" : checkValues ? checkLabelValue(v) : undefined;
    if (valueProblem) causes.push({ field: `${field}[${key}]`, message: `Invalid value: ${valueProblem}` });
  }
  return causes;
}

/**
 * Copies the input as plain JSON (dropping `null` metadata fields, as Kubernetes decoding does for
 * omitempty fields) and checks what the store relies on. Throws Invalid.
 */
export function normalizeInput(type: ResourceType, input: KubeObject, forCreate: boolean): KubeObject {
  let object: KubeObject;
  try {
    object = JSON.parse(JSON.stringify(input)) as KubeObject;
  } catch (error) {
    throw invalid(type, "", [{ field: "", message: `not representable as JSON: ${String(error)}` }]);
  }
  if (!isRecord(object) || !isRecord(object.metadata)) {
    throw invalid(type, "", [{ field: "metadata", message: "Required value: must be an object" }]);
  }
  const meta = object.metadata;
  for (const [field, value] of Object.entries(meta)) if (value === null) delete meta[field];
  const generated = forCreate && !meta.name && typeof meta.generateName === "string";
  if (generated) meta.name = generateName(meta.generateName as string);
  const causes = [
    ...nameCauses(meta.name, generated ? "generateName" : "name"),
    ...namespaceCauses(type, meta.namespace),
    ...stringMapCauses(meta.labels, "metadata.labels", true),
    ...stringMapCauses(meta.annotations, "metadata.annotations", false),
    ...otherCauses(type, object),
  ];
  if (causes.length > 0) throw invalid(type, typeof meta.name === "string" ? meta.name : "", causes);
  if (!type.namespaced) delete meta.namespace;
  return object;
}

function otherCauses(type: ResourceType, object: KubeObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const { apiVersion, kind } = object as { apiVersion: unknown; kind: unknown };
  if (typeof apiVersion !== "string" || apiVersion === "") {
    causes.push({ field: "apiVersion", message: "Required value" });
  } else if (apiGroup(apiVersion) !== type.group) {
    const message = `Invalid value: ${JSON.stringify(apiVersion)}: not in group ${JSON.stringify(type.group)}`;
    causes.push({ field: "apiVersion", message });
  }
  if (typeof kind !== "string" || kind === "") causes.push({ field: "kind", message: "Required value" });
  const { finalizers, resourceVersion: rv, uid } = object.metadata as Record<string, unknown>;
  const finalizersOk =
    finalizers === undefined ||
    (Array.isArray(finalizers) && finalizers.every((f) => typeof f === "string" && f !== ""));
  if (!finalizersOk) {
    causes.push({
      field: "metadata.finalizers",
      message: "Invalid value: must be a list of non-empty strings",
    });
  }
  if (rv !== undefined && (typeof rv !== "string" || !(rv === "" || rvRe.test(rv)))) {
    causes.push({
      field: "metadata.resourceVersion",
      message: "Invalid value: must be a decimal integer string",
    });
  }
  if (uid !== undefined && typeof uid !== "string") {
    causes.push({ field: "metadata.uid", message: "Invalid value: must be a string" });
  }
  return causes;
}

function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

const generateAlphabet = "bcdfghjklmnpqrstvwxz2456789";

/** apiserver names.SimpleNameGenerator: the prefix (cut to fit) and five random characters. */
function generateName(prefix: string): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += generateAlphabet[Math.floor(Math.random() * generateAlphabet.length)];
  return prefix.slice(0, 253 - 5) + suffix;
}

export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Parses a resourceVersion given by a caller; "" and undefined mean "none". */
export function parseResourceVersion(
  value: string | undefined,
  what = "resourceVersion",
): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!rvRe.test(value)) {
    throw badRequest(`invalid ${what} ${JSON.stringify(value)}: must be a decimal integer`);
  }
  return Number(value);
}

/** The object to store on create, without resourceVersion (the backend stamps it). */
export function prepareCreate(type: ResourceType, input: KubeObject, now: number): KubeObject {
  const object = normalizeInput(type, input, true);
  const { status: _dropped, ...rest } = object;
  const meta = { ...object.metadata };
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  meta.uid = randomUUID();
  meta.creationTimestamp = rfc3339Seconds(now);
  meta.generation = 1;
  return { ...rest, metadata: meta } as KubeObject;
}

/** What a write does to the stored object. */
export type WritePlan =
  | { readonly action: "put"; readonly object: KubeObject }
  | { readonly action: "delete" }
  | { readonly action: "noop" };

function checkPreconditions(
  type: ResourceType,
  current: KubeObject,
  uid: string | undefined,
  resourceVersion: string | undefined,
  asPrecondition: boolean,
): void {
  const name = current.metadata.name ?? "";
  if (uid !== undefined && uid !== "" && uid !== current.metadata.uid) {
    throw conflict(
      type,
      name,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ""}`,
    );
  }
  if (
    resourceVersion !== undefined &&
    resourceVersion !== "" &&
    resourceVersion !== current.metadata.resourceVersion
  ) {
    throw asPrecondition
      ? conflict(
          type,
          name,
          `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ""}`,
        )
      : conflict(type, name);
  }
}

/** Metadata the server sets; what clients send for these is ignored. */
export const serverManagedMetadata = [
  "uid",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "generation",
  "resourceVersion",
] as const;

/**
 * Main-resource update (`object` from normalizeInput): everything but `status` and the
 * server-managed metadata comes from `object`. Emptying the finalizers of an object being deleted
 * deletes it (ShouldDeleteDuringUpdate).
 */
export function planUpdate(type: ResourceType, current: KubeObject, object: KubeObject): WritePlan {
  checkPreconditions(type, current, object.metadata.uid, object.metadata.resourceVersion, false);
  const meta = { ...object.metadata };
  for (const field of serverManagedMetadata) {
    if (current.metadata[field] === undefined) delete meta[field];
    else (meta as Record<string, unknown>)[field] = current.metadata[field];
  }
  const { status: _ignored, ...rest } = object;
  const next: KubeObject = { ...rest, metadata: meta };
  if (current.status !== undefined) next.status = current.status;
  if (current.metadata.deletionTimestamp !== undefined) {
    const before = new Set(current.metadata.finalizers ?? []);
    const added = (meta.finalizers ?? []).filter((f) => !before.has(f));
    if (added.length > 0) {
      throw invalid(type, meta.name ?? "", [
        {
          field: "metadata.finalizers",
          message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
        },
      ]);
    }
    if ((meta.finalizers ?? []).length === 0) return { action: "delete" };
  }
  if (!jsonEqual(withoutMetaAndStatus(current), withoutMetaAndStatus(next))) {
    meta.generation = (current.metadata.generation ?? 0) + 1;
  }
  return changed(current, next);
}

/** Status subresource (`object` from normalizeInput): only `status` changes; absent clears it. */
export function planStatusUpdate(type: ResourceType, current: KubeObject, object: KubeObject): WritePlan {
  checkPreconditions(type, current, object.metadata.uid, object.metadata.resourceVersion, false);
  const { status: _old, ...rest } = current;
  const next: KubeObject = { ...rest };
  if (object.status !== undefined) next.status = object.status;
  return changed(current, next);
}

/** Delete now, or mark for deletion while finalizers remain (markAsDeleting). */
export function planDelete(
  type: ResourceType,
  current: KubeObject,
  options: DeleteOptions,
  now: number,
): WritePlan {
  checkPreconditions(type, current, options.preconditions?.uid, options.preconditions?.resourceVersion, true);
  if ((current.metadata.finalizers ?? []).length === 0) return { action: "delete" };
  if (current.metadata.deletionTimestamp !== undefined) return { action: "noop" };
  return {
    action: "put",
    object: {
      ...current,
      metadata: {
        ...current.metadata,
        deletionTimestamp: rfc3339Seconds(now),
        deletionGracePeriodSeconds: 0,
      },
    },
  };
}

function changed(current: KubeObject, next: KubeObject): WritePlan {
  const nextMeta = { ...next.metadata, resourceVersion: current.metadata.resourceVersion };
  return jsonEqual(current as unknown as JsonValue, { ...next, metadata: nextMeta } as unknown as JsonValue)
    ? { action: "noop" }
    : { action: "put", object: next };
}

function withoutMetaAndStatus(object: KubeObject): JsonValue {
  const { metadata: _m, status: _s, ...rest } = object;
  return rest as JsonValue;
}

/** Structural equality of JSON values; object key order does not matter. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
    );
  }
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  if (keys.length !== Object.keys(b).filter((k) => b[k] !== undefined).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

export function withResourceVersion(object: KubeObject, rv: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
