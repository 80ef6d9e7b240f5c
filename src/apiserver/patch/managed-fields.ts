// `metadata.managedFields` in the Kubernetes wire format, decoded into one field set per manager
// and encoded back (apimachinery pkg/util/managedfields/internal: managedfields.go, stripmeta.go,
// capmanagers.go).
import { isObject, type JsonObject, type JsonValue } from "./json.ts";
import { fieldElement, FieldSet } from "./fieldset.ts";

export type ManagedFieldsOperation = "Apply" | "Update";

/** One entry of `metadata.managedFields` (meta/v1 ManagedFieldsEntry), keys in the Go struct order. */
export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: ManagedFieldsOperation;
  readonly apiVersion: string;
  /** RFC 3339, seconds: when this manager last changed the object. */
  readonly time?: string;
  readonly fieldsType: "FieldsV1";
  readonly fieldsV1: JsonObject;
  readonly subresource?: string;
}

export interface ManagerFields {
  readonly manager: string;
  readonly operation: ManagedFieldsOperation;
  readonly apiVersion: string;
  readonly subresource?: string | undefined;
  time?: string | undefined;
  set: FieldSet;
}

/** Keyed by `managerId`. */
export type Managers = Map<string, ManagerFields>;

/**
 * Upstream `BuildManagerIdentifier`: the entry without fields and time, and without apiVersion for
 * appliers, so an applier is one manager whatever version it applies.
 */
export function managerId(
  m: Pick<ManagerFields, "manager" | "operation" | "apiVersion" | "subresource">,
): string {
  return JSON.stringify({
    manager: m.manager,
    operation: m.operation,
    ...(m.operation === "Update" && m.apiVersion ? { apiVersion: m.apiVersion } : {}),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  });
}

/** Parses managedFields; throws an Error naming the bad entry (upstream `DecodeManagedFields`). */
export function decodeManagedFields(value: JsonValue | undefined): Managers {
  const managers: Managers = new Map();
  if (value === undefined || value === null) return managers;
  if (!Array.isArray(value)) throw new Error("metadata.managedFields must be a list");
  value.forEach((entry, i) => {
    if (!isObject(entry)) throw new Error(`managed fields entry ${i} must be an object`);
    const { manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource } = entry;
    if (operation !== "Apply" && operation !== "Update")
      throw new Error("operation must be `Apply` or `Update`");
    if (typeof apiVersion !== "string" || apiVersion === "") throw new Error("apiVersion must not be empty");
    if (fieldsType === undefined || fieldsType === "")
      throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (fieldsType !== "FieldsV1")
      throw new Error(`invalid fieldsType ${JSON.stringify(fieldsType)} in managed fields entry ${i}`);
    const fields: ManagerFields = {
      manager: typeof manager === "string" ? manager : "",
      operation,
      apiVersion,
      subresource: typeof subresource === "string" && subresource !== "" ? subresource : undefined,
      time: typeof time === "string" ? time : undefined,
      set: FieldSet.fromFieldsV1(fieldsV1 ?? {}),
    };
    managers.set(managerId(fields), fields);
  });
  return managers;
}

// stripmeta.go: fields the server sets are never owned.
const stripped = FieldSet.of([
  [fieldElement("apiVersion")],
  [fieldElement("kind")],
  [fieldElement("metadata")],
  ...[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
  ].map((f) => [fieldElement("metadata"), fieldElement(f)]),
]);

export function stripMeta(set: FieldSet): FieldSet {
  return set.difference(stripped);
}

const seconds = (time: string | undefined) => (time ? Math.floor(Date.parse(time) / 1000) || 0 : 0);

/**
 * The wire form: server-set fields stripped, managers that own nothing dropped, sorted as upstream
 * `sortEncodedManagedFields` (operation, time, manager, apiVersion, subresource).
 */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] {
  const entries: ManagedFieldsEntry[] = [];
  for (const m of managers.values()) {
    const set = stripMeta(m.set);
    if (set.isEmpty()) continue;
    entries.push({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time ? { time: m.time } : {}),
      fieldsType: "FieldsV1",
      fieldsV1: set.toFieldsV1(),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    });
  }
  const text = (a: string | undefined, b: string | undefined) =>
    (a ?? "") < (b ?? "") ? -1 : (a ?? "") > (b ?? "") ? 1 : 0;
  return entries.sort(
    (p, q) =>
      text(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      text(p.manager, q.manager) ||
      text(p.apiVersion, q.apiVersion) ||
      text(p.subresource, q.subresource),
  );
}

/** `DefaultMaxUpdateManagers`: more updaters than this are folded into "ancient-changes". */
export const maxUpdateManagers = 10;

/** Upstream `capUpdateManagers`: merges the oldest update entries into one bucket per apiVersion. */
export function capUpdateManagers(managers: Managers, max = maxUpdateManagers): void {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === "Update");
  if (updaters.length <= max) return;
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || (ia < ib ? -1 : ia > ib ? 1 : 0));
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (const [id, m] of updaters) {
    if (length <= max) break;
    const bucket = managerId({ manager: "ancient-changes", operation: "Update", apiVersion: m.apiVersion });
    const first = firstByVersion.get(m.apiVersion);
    if (first === undefined) {
      firstByVersion.set(m.apiVersion, id);
      continue;
    }
    if (!managers.has(bucket)) {
      const seed = managers.get(first) as ManagerFields;
      managers.delete(first);
      managers.set(bucket, { ...seed, manager: "ancient-changes", subresource: undefined });
    }
    const target = managers.get(bucket) as ManagerFields;
    target.set = m.set.union(target.set);
    target.time = m.time;
    managers.delete(id);
    length--;
  }
}
