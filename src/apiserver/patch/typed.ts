// Schema-aware walks over objects for server-side apply, after structured-merge-diff's typed package:
// the field set an object sets (tofieldset.go), the difference between two objects (compare.go), the
// merge of an applied configuration into a live object (merge.go) and removal of fields (remove.go
// with merge/update.go `prune`). "Schema" here is the kind's FieldRules: lists are atomic unless
// listed, objects are structs unless listed as atomic maps.
import { excerpt } from "../../limits/index.ts";
import { invalid } from "./errors.ts";
import {
  deepEqual,
  getField,
  isObject,
  setField,
  type JsonArray,
  type JsonObject,
  type JsonValue,
} from "./json.ts";
import {
  fieldElement,
  FieldSet,
  formatPath,
  keyElement,
  valueElement,
  type FieldPath,
  type PathElement,
} from "./fieldset.ts";
import { listRule, type FieldRules, type ListRule } from "./kinds.ts";

const childSchema = (schema: string, key: string) => (schema ? `${schema}.${key}` : key);

function isEmptyContainer(value: JsonValue | undefined): boolean {
  return (
    value === undefined ||
    (Array.isArray(value) ? value.length === 0 : isObject(value) && Object.keys(value).length === 0)
  );
}

/**
 * The path element of a list item: its key fields (with their defaults) for `map` lists, its value
 * for sets. `strict` (applied configurations) rejects an item without a key field; live objects get
 * null there instead, so stored data never blocks an apply.
 */
export function itemElement(item: JsonValue, rule: ListRule, path: FieldPath, strict: boolean): PathElement {
  if (rule.type !== "map") return valueElement(item);
  const fields: Record<string, JsonValue> = {};
  for (const key of rule.keys) {
    const value = isObject(item) ? getField(item, key) : undefined;
    const fallback = rule.keyDefaults?.[key];
    if (value !== undefined) fields[key] = value;
    else if (fallback !== undefined) fields[key] = fallback;
    else if (strict) {
      throw invalid(
        `${excerpt(formatPath(path)) || "."}: associative list with keys has an element that omits key field ${JSON.stringify(key)} (and doesn't have default value)`,
      );
    } else fields[key] = null;
  }
  return keyElement(fields);
}

interface Item {
  readonly pe: PathElement;
  readonly values: JsonValue[];
}

/** List items grouped by path element, in first-seen order; duplicates share one entry. */
function indexItems(
  list: JsonArray,
  rule: ListRule,
  path: FieldPath,
  strict: boolean,
): Map<PathElement, Item> {
  const items = new Map<PathElement, Item>();
  for (const value of list) {
    const pe = itemElement(value, rule, path, strict);
    const seen = items.get(pe);
    if (seen && strict)
      throw invalid(
        `${excerpt(formatPath(path)) || "."}: duplicate entries for key ${excerpt(formatPath([pe]))}`,
      );
    if (seen) seen.values.push(value);
    else items.set(pe, { pe, values: [value] });
  }
  return items;
}

/** Upstream ToFieldSet: leaves, atomic values, list items and empty or null fields. */
export function toFieldSet(object: JsonObject, rules: FieldRules, strict: boolean): FieldSet {
  const set = new FieldSet();
  const visit = (value: JsonValue, path: FieldPath, schema: string): void => {
    if (Array.isArray(value)) {
      const rule = listRule(rules, schema);
      if (rule.type === "atomic") return set.insert(path);
      for (const item of indexItems(value, rule, path, strict).values()) {
        const itemPath = [...path, item.pe];
        set.insert(itemPath);
        if (item.values.length === 1 && isObject(item.values[0]))
          visit(item.values[0], itemPath, `${schema}[]`);
      }
    } else if (isObject(value)) {
      if (path.length > 0 && rules.atomicMaps.has(schema)) return set.insert(path);
      for (const [key, child] of Object.entries(value)) {
        const childPath = [...path, fieldElement(key)];
        if (child === null || (isObject(child) && Object.keys(child).length === 0)) set.insert(childPath);
        visit(child, childPath, childSchema(schema, key));
      }
    } else if (path.length > 0) {
      set.insert(path);
    }
  };
  visit(object, [], "");
  return set;
}

export interface Comparison {
  readonly added: FieldSet;
  readonly modified: FieldSet;
  readonly removed: FieldSet;
}

type Shape = "map" | "list" | "leaf";

function shape(value: JsonValue | undefined, rules: FieldRules, schema: string): Shape {
  if (Array.isArray(value)) return listRule(rules, schema).type === "atomic" ? "leaf" : "list";
  if (isObject(value)) return rules.atomicMaps.has(schema) ? "leaf" : "map";
  return "leaf";
}

/** Upstream Compare: which fields `rhs` added, changed and removed relative to `lhs`. */
export function compare(lhs: JsonObject, rhs: JsonObject, rules: FieldRules): Comparison {
  const result = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const visit = (
    l: JsonValue | undefined,
    r: JsonValue | undefined,
    path: FieldPath,
    schema: string,
  ): void => {
    const sl = l === undefined ? undefined : shape(l, rules, schema);
    const sr = r === undefined ? undefined : shape(r, rules, schema);
    const kind = sl ?? sr;
    const leaf =
      kind === "leaf" ||
      (sl !== undefined && sr !== undefined && sl !== sr) ||
      (isEmptyContainer(l) && isEmptyContainer(r));
    if (leaf) {
      if (l === undefined) result.added.insert(path);
      else if (r === undefined) result.removed.insert(path);
      else if (!deepEqual(l, r)) result.modified.insert(path);
      return;
    }
    if (kind === "map") {
      const lo = (l ?? {}) as JsonObject;
      const ro = (r ?? {}) as JsonObject;
      for (const key of new Set([...Object.keys(lo), ...Object.keys(ro)])) {
        visit(getField(lo, key), getField(ro, key), [...path, fieldElement(key)], childSchema(schema, key));
      }
    } else {
      const rule = listRule(rules, schema);
      const left = indexItems((l ?? []) as JsonArray, rule, path, false);
      const right = indexItems((r ?? []) as JsonArray, rule, path, false);
      for (const pe of new Set([...left.keys(), ...right.keys()])) {
        const lv = left.get(pe)?.values ?? [];
        const rv = right.get(pe)?.values ?? [];
        const itemPath = [...path, pe];
        if (lv.length <= 1 && rv.length <= 1) visit(lv[0], rv[0], itemPath, `${schema}[]`);
        else if (lv.length >= 2 && rv.length >= 2) {
          if (!deepEqual(lv, rv)) result.modified.insert(itemPath);
        } else if (lv.length >= 2) {
          if (rv.length > 0) visit(undefined, rv[0], itemPath, `${schema}[]`);
          result.removed.insert(itemPath);
        } else {
          if (lv.length > 0) visit(lv[0], undefined, itemPath, `${schema}[]`);
          result.added.insert(itemPath);
        }
      }
    }
    if (l === undefined) result.added.insert(path);
    else if (r === undefined) result.removed.insert(path);
  };
  visit(lhs, rhs, [], "");
  return result;
}

/**
 * Upstream Merge with "keep the right-hand side": the applied configuration wins for leaves and
 * atomic values, objects merge key by key, keyed lists and sets merge item by item in the order
 * structured-merge-diff produces (live order, with applied items placed by the applied order).
 */
export function merge(live: JsonObject, config: JsonObject, rules: FieldRules): JsonObject {
  return mergeValue(live, config, [], "", rules) as JsonObject;
}

function mergeValue(
  l: JsonValue | undefined,
  r: JsonValue | undefined,
  path: FieldPath,
  schema: string,
  rules: FieldRules,
): JsonValue | undefined {
  if (r === undefined) return l;
  if (l === undefined) return r;
  const sl = shape(l, rules, schema);
  if (sl !== shape(r, rules, schema) || sl === "leaf" || (isEmptyContainer(l) && isEmptyContainer(r)))
    return r;
  if (sl === "map") {
    const out: JsonObject = { ...(l as JsonObject) };
    for (const [key, value] of Object.entries(r as JsonObject)) {
      const child = [...path, fieldElement(key)];
      setField(
        out,
        key,
        mergeValue(getField(out, key), value, child, childSchema(schema, key), rules) as JsonValue,
      );
    }
    return out;
  }
  return mergeList(l as JsonArray, r as JsonArray, path, schema, rules);
}

/** A port of merge.go `visitListItems`: the result order for live (lhs) and applied (rhs) items. */
function mergeList(
  lhs: JsonArray,
  rhs: JsonArray,
  path: FieldPath,
  schema: string,
  rules: FieldRules,
): JsonArray {
  const rule = listRule(rules, schema);
  const lpes = lhs.map((v) => itemElement(v, rule, path, false));
  const rpes = rhs.map((v) => itemElement(v, rule, path, true));
  const lhsCount = new Map<PathElement, number>();
  // Where each live item first is; both lookups cost a map access, not a scan of the list.
  const lhsFirst = new Map<PathElement, number>();
  lpes.forEach((pe, i) => {
    lhsCount.set(pe, (lhsCount.get(pe) ?? 0) + 1);
    if (!lhsFirst.has(pe)) lhsFirst.set(pe, i);
  });
  const rhsByPe = new Map(rpes.map((pe, i) => [pe, rhs[i] as JsonValue]));
  // A duplicated live item is not merged into: the applied item replaces all its copies.
  const liveValue = (pe: PathElement, i: number) => (lhsCount.get(pe) === 1 ? lhs[i] : undefined);
  const mergeItem = (pe: PathElement, l: JsonValue | undefined, r: JsonValue | undefined) =>
    mergeValue(l, r, [...path, pe], `${schema}[]`, rules) as JsonValue;

  const shared = rpes.filter((pe) => lhsCount.has(pe));
  let sharedAt = 0;
  let nextShared = shared[sharedAt++];
  const done = new Set<PathElement>();
  const out: JsonArray = [];
  let li = 0;
  let ri = 0;
  while (li < lpes.length || ri < rpes.length) {
    if (li < lpes.length && ri < rpes.length) {
      const pe = lpes[li] as PathElement;
      if (pe === rpes[ri]) {
        done.add(pe);
        out.push(mergeItem(pe, liveValue(pe, li), rhsByPe.get(pe)));
        li++;
        ri++;
        nextShared = shared[sharedAt++];
        continue;
      }
      if (rhsByPe.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < lpes.length) {
      const pe = lpes[li] as PathElement;
      if (!rhsByPe.has(pe)) {
        out.push(lhs[li] as JsonValue);
        li++;
        continue;
      }
      if (done.has(pe)) li++;
    }
    if (ri < rpes.length) {
      const pe = rpes[ri] as PathElement;
      done.add(pe);
      const index = lhsFirst.get(pe);
      out.push(mergeItem(pe, index === undefined ? undefined : liveValue(pe, index), rhsByPe.get(pe)));
      ri++;
      if (nextShared === pe) nextShared = shared[sharedAt++];
    }
  }
  return out;
}

/** Named fields count as owned when anything under them is (upstream `EnsureNamedFieldsAreMembers`). */
function includes(set: FieldSet | undefined, pe: PathElement): boolean {
  if (!set) return false;
  return set.members.has(pe) || (pe.startsWith("f:") && set.child(pe)?.isEmpty() === false);
}

/**
 * Upstream `prune`: removes what `last` (the applier's previous set) has and no manager now owns
 * (`owned`, the new applied set included). A container emptied this way goes too.
 */
export function prune(object: JsonObject, last: FieldSet, owned: FieldSet, rules: FieldRules): JsonObject {
  const visit = (
    value: JsonValue,
    last: FieldSet,
    owned: FieldSet | undefined,
    path: FieldPath,
    schema: string,
  ): JsonValue | undefined => {
    let changed = false;
    if (isObject(value)) {
      const out: JsonObject = { ...value };
      for (const [key, child] of Object.entries(value)) {
        const pe = fieldElement(key);
        if (includes(last, pe) && !includes(owned, pe)) {
          delete out[key];
          changed = true;
        } else if (last.child(pe)) {
          const next = visit(
            child,
            last.child(pe) as FieldSet,
            owned?.child(pe),
            [...path, pe],
            childSchema(schema, key),
          );
          if (next !== child) changed = true;
          if (next === undefined) delete out[key];
          else setField(out, key, next);
        }
      }
      if (!changed) return value;
      return Object.keys(out).length === 0 ? undefined : out;
    }
    if (Array.isArray(value) && listRule(rules, schema).type !== "atomic") {
      const rule = listRule(rules, schema);
      const out: JsonArray = [];
      for (const item of value) {
        const pe = itemElement(item, rule, path, false);
        if (includes(last, pe) && !includes(owned, pe)) {
          changed = true;
          continue;
        }
        const next = last.child(pe)
          ? visit(item, last.child(pe) as FieldSet, owned?.child(pe), [...path, pe], `${schema}[]`)
          : item;
        if (next !== item) changed = true;
        if (next !== undefined) out.push(next);
      }
      if (!changed) return value;
      return out.length === 0 ? undefined : out;
    }
    return value;
  };
  return (visit(object, last, owned, [], "") ?? {}) as JsonObject;
}

/**
 * Applying `field: null` sets and owns the field; the stored object leaves it out, as decoding into a
 * Go type does upstream. Removes the keys `config` sets to null from `object`.
 */
export function dropNulls(object: JsonObject, config: JsonObject, rules: FieldRules): JsonObject {
  const visit = (value: JsonValue, config: JsonValue, path: FieldPath, schema: string): JsonValue => {
    if (isObject(value) && isObject(config)) {
      const out: JsonObject = { ...value };
      for (const [key, c] of Object.entries(config)) {
        const v = getField(out, key);
        if (c === null && v === null) delete out[key];
        else if (v !== undefined)
          setField(out, key, visit(v, c, [...path, fieldElement(key)], childSchema(schema, key)));
      }
      return out;
    }
    const rule = listRule(rules, schema);
    if (Array.isArray(value) && Array.isArray(config) && rule.type === "map") {
      const configByPe = new Map(config.map((c) => [itemElement(c, rule, path, false), c]));
      return value.map((item) => {
        const pe = itemElement(item, rule, path, false);
        const c = configByPe.get(pe);
        return c === undefined ? item : visit(item, c, [...path, pe], `${schema}[]`);
      });
    }
    return value;
  };
  return visit(object, config, [], "") as JsonObject;
}
