// `application/strategic-merge-patch+json` for built-in kinds: RFC 7396 plus list merging by merge
// key and the directives `$patch` (replace | merge | delete), `$setElementOrder/<list>`,
// `$deleteFromPrimitiveList/<list>` and `$retainKeys`. Ported from apimachinery
// pkg/util/strategicpatch/patch.go (`mergeMap`, `mergeSlice`, `normalizeElementOrder`), including
// where new and server-only list items end up; deviations are listed at the top of index.ts.
import { badRequest, invalid, unsupportedMediaType } from "./errors.ts";
import {
  clone,
  deepEqual,
  getField,
  isObject,
  setField,
  type JsonArray,
  type JsonObject,
  type JsonValue,
} from "./json.ts";
import {
  fieldRules,
  isBuiltinKind,
  listRule,
  supportedPatchTypes,
  type FieldRules,
  type GroupKind,
  type ListRule,
  type MapListRule,
} from "./kinds.ts";

const directiveMarker = "$patch";
const retainKeysDirective = "$retainKeys";
const setElementOrderPrefix = "$setElementOrder/";
const deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";

/** Marks a map or list element a `$patch: delete` removed. */
const deleted = Symbol("deleted");
type Merged = JsonValue | typeof deleted;

const show = (value: JsonValue) => JSON.stringify(value);
const at = (path: string) => path || "<root>";

/**
 * Applies a strategic merge patch to a copy of `original`, the live object of a built-in kind.
 * Custom resources answer 415, as upstream. Malformed directives are 400 BadRequest; lists of lists
 * are 422 Invalid.
 */
export function applyStrategicMergePatch(
  kind: GroupKind,
  original: JsonObject,
  patch: JsonValue,
): JsonObject {
  if (!isBuiltinKind(kind)) throw unsupportedMediaType(supportedPatchTypes(kind));
  return strategicMerge(fieldRules(kind), original, patch);
}

/** The merge itself, with explicit rules (tests use upstream's test schema through this). */
export function strategicMerge(rules: FieldRules, original: JsonObject, patch: JsonValue): JsonObject {
  if (!isObject(patch)) throw badRequest("invalid JSON document");
  if (patch[directiveMarker] === "delete") {
    throw badRequest(`"$patch": "delete" can not remove the whole object`);
  }
  return mergeMap(rules, clone(original), patch, "") as JsonObject;
}

function mergeMap(rules: FieldRules, original: JsonObject, patch: JsonObject, path: string): Merged {
  if (Object.hasOwn(patch, directiveMarker)) {
    const directive = patch[directiveMarker];
    const rest = { ...patch };
    delete rest[directiveMarker];
    if (directive === "delete") return deleted;
    // Upstream returns the patch as is; merging it into nothing also resolves nested directives.
    if (directive === "replace") return mergeMap(rules, {}, rest, path);
    // Upstream rejects "merge" on a map; it is the default, so it is accepted as a no-op.
    if (directive !== "merge") {
      throw badRequest(`${at(path)}: unknown patch type: ${show(directive ?? null)} in map: ${show(patch)}`);
    }
    patch = rest;
  }
  retainKeys(original, patch, path);

  const orders = new Map<string, JsonArray>();
  const deletions = new Map<string, JsonArray>();
  const serverOrders = new Map<string, JsonArray>();
  for (const [key, value] of Object.entries(patch)) {
    if (key === retainKeysDirective) continue;
    const directive = [setElementOrderPrefix, deleteFromPrimitiveListPrefix].find((p) => key.startsWith(p));
    if (directive !== undefined) {
      const list = key.slice(directive.length);
      if (list === "" || !Array.isArray(value)) {
        const what = directive === setElementOrderPrefix ? "setElementOrder list" : "primitive list";
        throw badRequest(`${at(path)}: invalid patch format of ${what}`);
      }
      (directive === setElementOrderPrefix ? orders : deletions).set(list, value);
      continue;
    }
    if (key.startsWith("$")) throw badRequest(`${at(path)}: unknown patch directive ${show(key)}`);
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete original[key];
      continue;
    }
    const existing = getField(original, key);
    let merged: Merged;
    if (isObject(value) && isObject(existing)) {
      merged = mergeMap(rules, existing, value, childPath);
    } else if (Array.isArray(value) && Array.isArray(existing)) {
      const result = mergeList(rules, existing, value, childPath);
      merged = result.merged;
      serverOrders.set(key, result.serverOrder);
    } else {
      merged = newValue(rules, value, childPath);
    }
    if (merged === deleted) delete original[key];
    else setField(original, key, merged);
  }

  for (const [key, values] of deletions) {
    const existing = getField(original, key);
    if (Array.isArray(existing)) {
      setField(
        original,
        key,
        existing.filter((item) => !values.some((d) => deepEqual(d, item))),
      );
    }
  }
  for (const [key, order] of orders) {
    const list = getField(original, key);
    if (!Array.isArray(list)) continue;
    const childPath = path ? `${path}.${key}` : key;
    const rule = listRule(rules, childPath);
    const patchList = getField(patch, key);
    if (Array.isArray(patchList)) validateOrder(patchList, order, rule, childPath);
    const serverOrder = serverOrders.get(key) ?? (Array.isArray(patchList) ? [] : list);
    setField(original, key, normalize(list, order, serverOrder, rule, childPath));
  }
  return original;
}

/** `$retainKeys`: drop the keys of `original` not listed; every key the patch sets must be listed. */
function retainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  if (!Object.hasOwn(patch, retainKeysDirective)) return;
  const keep = patch[retainKeysDirective];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === "string")) {
    throw badRequest(`${at(path)}: invalid patch format of retainKeys`);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith("$")) continue;
    if (!keep.includes(key)) {
      throw badRequest(`${at(path)}: invalid patch format of retainKeys: ${show(key)} is not in $retainKeys`);
    }
  }
  for (const key of Object.keys(original)) if (!keep.includes(key)) delete original[key];
}

/** A patch value with nothing to merge into: directives resolved, nulls dropped. */
function newValue(rules: FieldRules, value: JsonValue, path: string): Merged {
  if (isObject(value)) return mergeMap(rules, {}, value, path);
  if (Array.isArray(value)) return mergeList(rules, [], value, path).merged;
  return value;
}

interface ListResult {
  readonly merged: JsonArray;
  /** The live order that `$setElementOrder` interleaves server-only items by. */
  readonly serverOrder: JsonArray;
}

function mergeList(rules: FieldRules, original: JsonArray, patch: JsonArray, path: string): ListResult {
  const rule = listRule(rules, path);
  if (rule.type === "atomic") {
    const merged: JsonArray = [];
    for (const item of patch) {
      const value = isObject(item) ? newValue(rules, item, `${path}[]`) : item;
      if (value !== deleted) merged.push(value);
    }
    return { merged, serverOrder: original };
  }
  if ([...original, ...patch].some(Array.isArray)) {
    throw invalid(`${path}: lists of lists are not supported`);
  }
  if (rule.type === "set") {
    if (patch.some(isObject)) throw badRequest(`${path}: expected a list of scalars, got ${show(patch)}`);
    const merged: JsonArray = [];
    for (const item of [...original, ...patch])
      if (!merged.some((m) => deepEqual(m, item))) merged.push(item);
    return { merged: normalize(merged, patch, original, rule, path), serverOrder: original };
  }
  return mergeMapList(rules, original, patch, rule, path);
}

function mergeMapList(
  rules: FieldRules,
  original: JsonArray,
  patch: JsonArray,
  rule: MapListRule,
  path: string,
): ListResult {
  const items: JsonObject[] = [];
  for (const item of patch) {
    if (!isObject(item)) throw badRequest(`${path}: expected a map, but received ${show(item)}`);
    items.push(item);
  }
  let survivors = original;
  let deletedCount = 0;
  let replacement = false;
  const regular: JsonObject[] = [];
  for (const item of items) {
    const directive = item[directiveMarker];
    if (directive === undefined) regular.push(item);
    else if (directive === "delete") {
      requireKey(item, rule, path);
      const kept = survivors.filter((live) => !sameItem(live, item, rule));
      deletedCount += survivors.length - kept.length;
      survivors = kept;
    } else if (directive === "replace") replacement = true;
    else if (directive === "merge") {
      // Upstream: "merging lists cannot yet be specified in the patch". Merging is the default.
      const rest = { ...item };
      delete rest[directiveMarker];
      if (Object.keys(rest).length > 0) regular.push(rest);
    } else {
      throw badRequest(`${path}: unknown patch type: ${show(directive)} in map: ${show(item)}`);
    }
  }
  if (replacement) {
    const merged = regular.map((item) => newValue(rules, item, `${path}[]`)).filter((v) => v !== deleted);
    return { merged, serverOrder: merged };
  }
  const merged = [...survivors];
  const appended: JsonValue[] = [];
  for (const item of regular) {
    requireKey(item, rule, path);
    const index = merged.findIndex((live) => sameItem(live, item, rule));
    const live = merged[index];
    if (index >= 0 && isObject(live)) {
      const result = mergeMap(rules, live, item, `${path}[]`);
      if (result === deleted) merged.splice(index, 1);
      else merged[index] = result;
    } else {
      const value = newValue(rules, item, `${path}[]`);
      if (value !== deleted) {
        merged.push(value);
        appended.push(value);
      }
    }
  }
  // Upstream deletes in place and then appends into the freed slots of the same Go array, so the
  // live order `$setElementOrder` sees has the first new items where deleted ones were.
  const serverOrder = [
    ...merged.slice(0, merged.length - appended.length),
    ...appended.slice(0, deletedCount),
  ];
  // A bare `{"$patch": "merge"}` element names no item, so it takes no part in ordering.
  const patchOrder = items.filter(
    (i) => i[directiveMarker] !== "merge" || Object.hasOwn(i, rule.smpMergeKey),
  );
  return { merged: normalize(merged, patchOrder, survivors, rule, path), serverOrder };
}

function requireKey(item: JsonObject, rule: MapListRule, path: string): void {
  if (!Object.hasOwn(item, rule.smpMergeKey)) {
    throw badRequest(`${path}: map: ${show(item)} does not contain declared merge key: ${rule.smpMergeKey}`);
  }
}

/** Same element: equal merge key, and equal `smpAlsoMatch` fields where both sides set them. */
function sameItem(a: JsonValue, b: JsonValue, rule: ListRule): boolean {
  if (rule.type !== "map") return deepEqual(a, b);
  if (!isObject(a) || !isObject(b)) return false;
  if (!deepEqual(getField(a, rule.smpMergeKey), getField(b, rule.smpMergeKey))) return false;
  return (rule.smpAlsoMatch ?? []).every(
    (f) => !Object.hasOwn(a, f) || !Object.hasOwn(b, f) || deepEqual(a[f], b[f]),
  );
}

function indexIn(list: JsonArray, item: JsonValue, rule: ListRule): number {
  return list.findIndex((candidate) => sameItem(candidate, item, rule));
}

/**
 * Upstream `normalizeElementOrder`: items named by `patchOrder` in that order, the others in
 * `serverOrder`, interleaved so a server-only item stays before a patch item it preceded live.
 */
function normalize(
  merged: JsonArray,
  patchOrder: JsonArray,
  serverOrder: JsonArray,
  rule: ListRule,
  path: string,
): JsonArray {
  if (rule.type === "map") {
    for (const item of patchOrder) {
      if (!isObject(item)) throw badRequest(`${path}: expected a map, but received ${show(item)}`);
      requireKey(item, rule, path);
    }
  }
  const inPatch = merged.filter((item) => indexIn(patchOrder, item, rule) >= 0);
  const serverOnly = merged.filter((item) => indexIn(patchOrder, item, rule) < 0);
  const byIndex = (order: JsonArray) => (a: JsonValue, b: JsonValue) => {
    const ia = indexIn(order, a, rule);
    const ib = indexIn(order, b, rule);
    return ia >= 0 && ib >= 0 ? ia - ib : 0;
  };
  const right = inPatch.sort(byIndex(patchOrder));
  const left = serverOnly.sort(byIndex(serverOrder));
  // mergeSortedSlice: take the server-only item first only if both are live and it came first.
  const out: JsonArray = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) out.push(left[i++] as JsonValue);
    else if (i >= left.length) out.push(right[j++] as JsonValue);
    else {
      const li = indexIn(serverOrder, left[i] as JsonValue, rule);
      const ri = indexIn(serverOrder, right[j] as JsonValue, rule);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++] as JsonValue);
      else out.push(right[j++] as JsonValue);
    }
  }
  return out;
}

/**
 * Upstream `validatePatchWithSetOrderList`: the patch list's items (deletions aside) must appear in
 * `$setElementOrder` in the same relative order.
 */
function validateOrder(patchList: JsonArray, order: JsonArray, rule: ListRule, path: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = patchList.filter((item) => !(isObject(item) && item[directiveMarker] === "delete"));
  let p = 0;
  let o = 0;
  while (p < items.length && o < order.length) {
    const item = items[p] as JsonValue;
    if (isObject(item) && Object.hasOwn(item, directiveMarker)) {
      p++;
      continue;
    }
    if (rule.type === "map") {
      const other = order[o] as JsonValue;
      if (!isObject(item) || !isObject(other))
        throw badRequest(`${path}: expected a map in $setElementOrder`);
      requireKey(item, rule, path);
      requireKey(other, rule, path);
    }
    if (sameItem(item, order[o] as JsonValue, rule)) p++;
    o++;
  }
  if (p < items.length) {
    throw badRequest(
      `${path}: the order in patch list:\n${show(patchList)}\n doesn't match $setElementOrder list:\n${show(order)}`,
    );
  }
}
