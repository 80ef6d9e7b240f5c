// `application/apply-patch+yaml`: server-side apply with per-manager field ownership kept in
// `metadata.managedFields`, after structured-merge-diff merge/update.go (`Apply`, `Update`, `prune`)
// and the apimachinery fieldmanager chain (skipnonapplied.go "before-first-apply",
// managedfieldsupdater.go times, lastappliedupdater.go, capmanagers.go). Pure: the caller passes
// the time of the operation.
import { excerpt } from "../../limits/index.ts";
import type { KubeObject } from "../../store/index.ts";
import { badRequest, invalid, type ApplyConflict } from "./errors.ts";
import { fieldElement, formatPath, type FieldSet } from "./fieldset.ts";
import { canonicalJson, clone, deepEqual, isObject, type JsonObject, type JsonValue } from "./json.ts";
import { emptyObject, fieldRules, groupOf, type FieldRules } from "./kinds.ts";
import {
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  managerId,
  stripMeta,
  type Managers,
} from "./managed-fields.ts";
import { compare, dropNulls, merge, prune, toFieldSet, type Comparison } from "./typed.ts";

export interface ApplyOptions {
  /** The live object; absent when the apply creates it. */
  readonly current?: KubeObject | undefined;
  /** The applied configuration (the decoded request body). */
  readonly applied: JsonValue | KubeObject;
  /** `fieldManager`: required for apply. */
  readonly manager: string;
  /** `force=true`: take ownership of conflicting fields instead of failing. */
  readonly force: boolean;
  /** When the apply happens (recorded as the manager's `time`). */
  readonly operationTime: Date | string;
  /** `status` when applying to the status subresource. */
  readonly subresource?: "status" | undefined;
}

export interface ApplyResult {
  /** The object to store, with managedFields. With conflicts: the current object, unchanged. */
  readonly object: KubeObject;
  /** Fields other managers own that this apply would change; empty when `force` or none. */
  readonly conflicts: readonly ApplyConflict[];
  /** Whether `object` differs from `current`, managedFields included (false: nothing to store). */
  readonly changed: boolean;
}

export interface UpdateOptions {
  readonly operationTime: Date | string;
  readonly subresource?: "status" | undefined;
}

/** The client-side apply annotation kubectl writes (apply `LastAppliedConfigAnnotation`). */
export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

/** RFC 3339 with seconds, as metav1.Time serialises. */
export function formatTime(time: Date | string): string {
  return typeof time === "string" ? time : time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Fields a request may not change ("reset fields", the strategies' `GetResetFields`): `status`
 * through the main resource; everything but status through the status subresource (status
 * strategies keep spec and `ResetObjectMetaForStatus` keeps metadata). Neither applied nor owned.
 */
function isResetField(key: string, subresource: string | undefined): boolean {
  return subresource === "status" ? !["apiVersion", "kind", "status"].includes(key) : key === "status";
}

function resetFields(object: JsonObject, subresource: string | undefined): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !isResetField(key, subresource)));
}

function compareTracked(
  lhs: JsonObject,
  rhs: JsonObject,
  rules: FieldRules,
  subresource: string | undefined,
): Comparison {
  const cmp = compare(lhs, rhs, rules);
  const reset = Object.keys({ ...lhs, ...rhs })
    .filter((key) => isResetField(key, subresource))
    .map(fieldElement);
  return {
    added: cmp.added.without(reset),
    modified: cmp.modified.without(reset),
    removed: cmp.removed.without(reset),
  };
}

/** The object without managedFields (they are never part of what is merged or compared). */
function bare(object: KubeObject | undefined): JsonObject {
  if (!object) return {};
  const copy = clone(object as unknown as JsonObject);
  const metadata = copy.metadata;
  if (isObject(metadata)) delete metadata.managedFields;
  return copy;
}

function withManagedFields(object: JsonObject, managers: Managers): KubeObject {
  const entries = encodeManagedFields(managers);
  const metadata: JsonObject = isObject(object.metadata) ? { ...object.metadata } : {};
  delete metadata.managedFields;
  if (entries.length > 0) metadata.managedFields = entries as unknown as JsonValue;
  return { ...object, metadata } as unknown as KubeObject;
}

function validateApplied(options: ApplyOptions): JsonObject {
  const { current, manager } = options;
  const applied = options.applied as JsonValue;
  if (!manager)
    throw invalid(
      `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply requests`,
    );
  if (manager.length > 128)
    throw invalid(
      `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes`,
    );
  if (!isObject(applied))
    throw badRequest(`error decoding patch: the applied configuration must be an object`);
  if (typeof applied.apiVersion !== "string" || typeof applied.kind !== "string") {
    throw badRequest("error decoding patch: apiVersion and kind must be set in the applied configuration");
  }
  const metadata = applied.metadata;
  if (isObject(metadata) && metadata.managedFields !== undefined && metadata.managedFields !== null) {
    throw badRequest("metadata.managedFields must be nil");
  }
  if (current) {
    if (applied.apiVersion !== current.apiVersion) {
      throw badRequest(
        `Incorrect version specified in apply patch. Specified patch version: ${excerpt(applied.apiVersion)}, expected: ${current.apiVersion}`,
      );
    }
    if (applied.kind !== current.kind) {
      throw badRequest(
        `the kind of the applied configuration (${excerpt(applied.kind)}) does not match ${current.kind}`,
      );
    }
    const name = isObject(metadata) ? metadata.name : undefined;
    if (typeof name === "string" && name !== current.metadata.name) {
      throw badRequest(
        `the name of the object (${excerpt(name, 253)}) does not match the name on the URL (${current.metadata.name})`,
      );
    }
  }
  return applied;
}

function decodeLive(object: KubeObject | undefined): Managers {
  try {
    return decodeManagedFields(object?.metadata.managedFields as JsonValue | undefined);
  } catch (error) {
    throw invalid(`failed to decode managed fields: ${(error as Error).message}`);
  }
}

/**
 * Server-side apply. Merges `applied` into `current` (keyed lists by the kind's merge keys, other
 * lists and atomic maps replaced), removes fields this manager applied before and no longer does
 * unless another manager owns them, and records ownership in `metadata.managedFields`. Fields other
 * managers own whose value would change are returned as conflicts and nothing is applied, unless
 * `force`, which moves their ownership to this manager. Throws PatchError for an invalid request.
 */
export function serverSideApply(options: ApplyOptions): ApplyResult {
  const applied = validateApplied(options);
  const { current, manager, force, subresource } = options;
  const time = formatTime(options.operationTime);
  const rules = fieldRules({ group: groupOf(applied.apiVersion as string), kind: applied.kind as string });
  const live = bare(current);
  const managers = decodeLive(current);

  const config = resetFields(clone(applied), subresource);
  const appliedSet = toFieldSet(config, rules, true);

  // skipnonapplied.go: an object nobody tracked yet is owned by "before-first-apply" first, so an
  // apply that changes existing values conflicts with that owner.
  if (current && managers.size === 0) {
    const cmp = compareTracked(emptyObject(rules), live, rules, subresource);
    const set = stripMeta(cmp.added.union(cmp.modified));
    const entry = {
      manager: "before-first-apply",
      operation: "Update" as const,
      apiVersion: current.apiVersion,
    };
    if (!set.isEmpty()) managers.set(managerId(entry), { ...entry, time, set });
  }

  const id = managerId({
    manager,
    operation: "Apply",
    apiVersion: applied.apiVersion as string,
    subresource,
  });
  const previous = managers.get(id);
  managers.set(id, {
    manager,
    operation: "Apply",
    apiVersion: applied.apiVersion as string,
    subresource,
    time: previous?.time,
    set: appliedSet,
  });

  let object = merge(live, config, rules);
  if (previous && !previous.set.isEmpty()) {
    let owned = appliedSet;
    for (const m of managers.values()) owned = owned.union(m.set);
    object = prune(object, previous.set, owned, rules);
  }

  const cmp = compareTracked(live, object, rules, subresource);
  const changes = cmp.modified.union(cmp.added);
  const conflicts: ApplyConflict[] = [];
  const taken = new Map<string, FieldSet>();
  for (const [otherId, other] of managers) {
    if (otherId === id) continue;
    const clash = other.set.intersection(changes);
    if (clash.isEmpty()) continue;
    taken.set(otherId, clash);
    for (const path of clash.paths()) {
      conflicts.push({
        field: formatPath(path),
        manager: other.manager,
        operation: other.operation,
        apiVersion: other.apiVersion,
        ...(other.subresource ? { subresource: other.subresource } : {}),
        ...(other.time ? { time: other.time } : {}),
      });
    }
  }
  if (conflicts.length > 0 && !force) {
    conflicts.sort((a, b) => (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0));
    return { object: current as KubeObject, conflicts, changed: false };
  }
  // Forced: the conflicting fields move to this manager. Removed fields are owned by no one.
  for (const [otherId, other] of managers) {
    if (otherId === id) continue;
    const clash = taken.get(otherId);
    other.set = (clash ? other.set.difference(clash) : other.set).difference(cmp.removed);
    if (other.set.isEmpty()) managers.delete(otherId);
  }

  object = syncLastApplied(dropNulls(object, config, rules), applied, manager);
  // managedfieldsupdater.go: the applier's time moves when the object changes (and here also when
  // its entry is new, so every entry says when it was made).
  const self = managers.get(id);
  if (self && (!deepEqual(live, object) || !self.time)) self.time = time;
  const result = withManagedFields(object, managers);
  const changed = !current || !deepEqual(current as unknown as JsonObject, result as unknown as JsonObject);
  return { object: result, conflicts: [], changed };
}

/**
 * lastappliedupdater.go: when kubectl applies server-side to an object that still carries the
 * client-side apply annotation, the annotation follows the applied configuration, so a later
 * client-side apply computes its three-way patch from what was really applied.
 */
function syncLastApplied(object: JsonObject, applied: JsonObject, manager: string): JsonObject {
  const metadata = object.metadata;
  const annotations = isObject(metadata) ? metadata.annotations : undefined;
  if (
    manager !== "kubectl" ||
    !isObject(metadata) ||
    !isObject(annotations) ||
    !annotations[lastAppliedAnnotation]
  ) {
    return object;
  }
  const configuration = clone(applied);
  const configAnnotations = isObject(configuration.metadata) ? configuration.metadata.annotations : undefined;
  if (isObject(configAnnotations)) delete configAnnotations[lastAppliedAnnotation];
  // Go's encoding/json: sorted keys, and json.Encoder's trailing newline.
  const lastApplied = canonicalJson(configuration) + "\n";
  return {
    ...object,
    metadata: { ...metadata, annotations: { ...annotations, [lastAppliedAnnotation]: lastApplied } },
  };
}

/** Upstream `isResetManagedFields`: `[]` or `[{}]` in a request clears managedFields. */
function isManagedFieldsReset(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  return (
    value.length === 0 || (value.length === 1 && isObject(value[0]) && Object.keys(value[0]).length === 0)
  );
}

function decodeOrEmpty(value: JsonValue | undefined): Managers {
  try {
    return decodeManagedFields(value);
  } catch {
    return new Map();
  }
}

/**
 * Records an ordinary write (create, update, non-apply patch) by `manager`: it takes "Update"
 * ownership of every field it added or changed, from whoever owned them, and fields it removed are
 * owned by no one. Returns `after` with managedFields set. As upstream, managedFields a client sends
 * are kept if valid (`[]` clears them), and an existing object nobody tracks stays untracked.
 */
export function recordUpdate(
  manager: string,
  before: KubeObject | undefined,
  after: KubeObject,
  options: UpdateOptions,
): KubeObject {
  if (!manager) throw invalid("fieldManager: Required value: a manager is required to record an update");
  const { subresource } = options;
  const sent = after.metadata.managedFields as JsonValue | undefined;
  let managers: Managers;
  if (subresource) managers = decodeOrEmpty(before?.metadata.managedFields as JsonValue | undefined);
  else if (isManagedFieldsReset(sent)) managers = new Map();
  else {
    managers = decodeOrEmpty(sent);
    if (managers.size === 0)
      managers = decodeOrEmpty(before?.metadata.managedFields as JsonValue | undefined);
  }
  const object = bare(after);
  // skipnonapplied.go: updates of an object without managedFields are not tracked (creates are).
  if (managers.size === 0 && before?.metadata.uid) return object as unknown as KubeObject;

  const rules = fieldRules({ group: groupOf(after.apiVersion), kind: after.kind });
  const cmp = compareTracked(before ? bare(before) : emptyObject(rules), object, rules, subresource);
  const changed = cmp.modified.union(cmp.added);
  for (const [otherId, other] of managers) {
    other.set = other.set.difference(changed).difference(cmp.removed);
    if (other.set.isEmpty()) managers.delete(otherId);
  }
  const set = stripMeta(changed);
  if (!set.isEmpty()) {
    const entry = { manager, operation: "Update" as const, apiVersion: after.apiVersion, subresource };
    const id = managerId(entry);
    const previous = managers.get(id);
    managers.set(id, {
      ...entry,
      time: formatTime(options.operationTime),
      set: previous ? previous.set.union(set) : set,
    });
  }
  capUpdateManagers(managers);
  return withManagedFields(object, managers);
}
