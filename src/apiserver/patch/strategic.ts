// `application/strategic-merge-patch+json` for built-in kinds: RFC 7396 plus list merging by merge
// key and the directives `$patch` (replace | merge | delete), `$setElementOrder/<list>`,
// `$deleteFromPrimitiveList/<list>` and `$retainKeys`. Ported from apimachinery
// pkg/util/strategicpatch/patch.go (`mergeMap`, `mergeSlice`, `normalizeElementOrder`), including
// where new and server-only list items end up; deviations are listed at the top of index.ts.
// List items are found through an index by value or merge key (upstream scans the list for each
// item), so a patch of two long lists costs what the lists hold, not its square.
import { excerpt } from "../../limits/index.ts";
import { badRequest, invalid, unsupportedMediaType } from "./errors.ts";
import {
  canonicalJson,
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

/** A value from the request in a message: at most an excerpt of its JSON. */
const show = (value: JsonValue) => excerpt(JSON.stringify(value));
const at = (path: string) => excerpt(path || "<root>");

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
      const drop = new Set(values.map(canonicalJson));
      setField(
        original,
        key,
        existing.filter((item) => !drop.has(canonicalJson(item))),
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
  const kept = new Set(keep);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith("$")) continue;
    if (!kept.has(key)) {
      throw badRequest(`${at(path)}: invalid patch format of retainKeys: ${show(key)} is not in $retainKeys`);
    }
  }
  for (const key of Object.keys(original)) if (!kept.has(key)) delete original[key];
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
    throw invalid(`${at(path)}: lists of lists are not supported`);
  }
  if (rule.type === "set") {
    if (patch.some(isObject)) throw badRequest(`${at(path)}: expected a list of scalars, got ${show(patch)}`);
    const merged: JsonArray = [];
    const seen = new Set<string>();
    for (const item of [...original, ...patch]) {
      const identity = canonicalJson(item);
      if (seen.has(identity)) continue;
      seen.add(identity);
      merged.push(item);
    }
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
    if (!isObject(item)) throw badRequest(`${at(path)}: expected a map, but received ${show(item)}`);
    items.push(item);
  }
  let replacement = false;
  const regular: JsonObject[] = [];
  const deletions: JsonObject[] = [];
  for (const item of items) {
    const directive = item[directiveMarker];
    if (directive === undefined) regular.push(item);
    else if (directive === "delete") {
      requireKey(item, rule, path);
      deletions.push(item);
    } else if (directive === "replace") replacement = true;
    else if (directive === "merge") {
      // Upstream: "merging lists cannot yet be specified in the patch". Merging is the default.
      const rest = { ...item };
      delete rest[directiveMarker];
      if (Object.keys(rest).length > 0) regular.push(rest);
    } else {
      throw badRequest(`${at(path)}: unknown patch type: ${show(directive)} in map: ${show(item)}`);
    }
  }
  const deleting = new Positions(deletions, rule);
  const survivors = original.filter((live) => deleting.indexOf(live) < 0);
  const deletedCount = original.length - survivors.length;
  if (replacement) {
    const merged = regular.map((item) => newValue(rules, item, `${path}[]`)).filter((v) => v !== deleted);
    return { merged, serverOrder: merged };
  }
  // Items a merge removes become holes, so the positions of the others stay valid.
  const slots: Merged[] = [...survivors];
  const live = new Positions(slots, rule);
  const appended: JsonValue[] = [];
  for (const item of regular) {
    requireKey(item, rule, path);
    const index = live.indexOf(item);
    const current = slots[index];
    if (index >= 0 && isObject(current)) {
      const result = mergeMap(rules, current, item, `${path}[]`);
      slots[index] = result;
      if (result === deleted) live.remove(index);
    } else {
      const value = newValue(rules, item, `${path}[]`);
      if (value !== deleted) {
        live.add(slots.length, value);
        slots.push(value);
        appended.push(value);
      }
    }
  }
  const present = (value: Merged): value is JsonValue => value !== deleted;
  const merged = slots.filter(present);
  // Upstream deletes in place and then appends into the freed slots of the same Go array, so the
  // live order `$setElementOrder` sees has the first new items where deleted ones were.
  const serverOrder = [
    ...slots.slice(0, survivors.length).filter(present),
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
    throw badRequest(
      `${at(path)}: map: ${show(item)} does not contain declared merge key: ${rule.smpMergeKey}`,
    );
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

/**
 * Where the items of a list are, by identity: a set's value, a map list's merge key. `indexOf`
 * scans only the items with the same identity for the first that is `sameItem`.
 */
class Positions {
  private readonly list: readonly Merged[];
  private readonly rule: ListRule;
  private readonly buckets = new Map<string, number[]>();

  constructor(list: readonly Merged[], rule: ListRule) {
    this.list = list;
    this.rule = rule;
    list.forEach((item, index) => {
      if (item !== deleted) this.add(index, item);
    });
  }

  /** Records that `item` is at `index`, after every index recorded so far. */
  add(index: number, item: JsonValue): void {
    const key = this.identity(item);
    const bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, [index]);
    else bucket.push(index);
  }

  remove(index: number): void {
    const item = this.list[index];
    const bucket = item === undefined || item === deleted ? undefined : this.buckets.get(this.identity(item));
    const at = bucket?.indexOf(index) ?? -1;
    if (at >= 0) bucket?.splice(at, 1);
  }

  /** The first index whose item is the same as `item`, or -1 (Array.findIndex with sameItem). */
  indexOf(item: JsonValue): number {
    for (const index of this.buckets.get(this.identity(item)) ?? []) {
      const candidate = this.list[index];
      if (candidate !== undefined && candidate !== deleted && sameItem(candidate, item, this.rule))
        return index;
    }
    return -1;
  }

  private identity(item: JsonValue): string {
    if (this.rule.type !== "map") return canonicalJson(item);
    if (!isObject(item)) return "";
    const key = getField(item, this.rule.smpMergeKey);
    return key === undefined ? "-" : `=${canonicalJson(key)}`;
  }
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
      if (!isObject(item)) throw badRequest(`${at(path)}: expected a map, but received ${show(item)}`);
      requireKey(item, rule, path);
    }
  }
  const inPatchOrder = new Positions(patchOrder, rule);
  const inServerOrder = new Positions(serverOrder, rule);
  const placed = merged.map((item) => ({
    item,
    patchIndex: inPatchOrder.indexOf(item),
    serverIndex: inServerOrder.indexOf(item),
  }));
  type Placed = (typeof placed)[number];
  const by = (index: (p: Placed) => number) => (a: Placed, b: Placed) =>
    index(a) >= 0 && index(b) >= 0 ? index(a) - index(b) : 0;
  const right = placed.filter((p) => p.patchIndex >= 0).sort(by((p) => p.patchIndex));
  const left = placed.filter((p) => p.patchIndex < 0).sort(by((p) => p.serverIndex));
  // mergeSortedSlice: take the server-only item first only if both are live and it came first.
  const out: JsonArray = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) out.push((left[i++] as Placed).item);
    else if (i >= left.length) out.push((right[j++] as Placed).item);
    else {
      const li = (left[i] as Placed).serverIndex;
      const ri = (right[j] as Placed).serverIndex;
      if (li >= 0 && ri >= 0 && li < ri) out.push((left[i++] as Placed).item);
      else out.push((right[j++] as Placed).item);
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
        throw badRequest(`${at(path)}: expected a map in $setElementOrder`);
      requireKey(item, rule, path);
      requireKey(other, rule, path);
    }
    if (sameItem(item, order[o] as JsonValue, rule)) p++;
    o++;
  }
  if (p < items.length) {
    throw badRequest(
      `${at(path)}: the order in patch list:\n${show(patchList)}\n doesn't match $setElementOrder list:\n${show(order)}`,
    );
  }
}
