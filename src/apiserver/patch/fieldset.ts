// Sets of field paths, as structured-merge-diff keeps them (fieldpath/set.go), and their FieldsV1
// form in `metadata.managedFields` (fieldpath/serialize.go). A path element is kept as its FieldsV1
// key: `f:<field>`, `k:{"port":80,"protocol":"TCP"}` (list item by key), `v:"value"` (set item),
// `i:<index>`. A node that is a member and has children is written with a `".": {}` entry.
import { canonicalJson, compareStrings, isObject, type JsonObject, type JsonValue } from "./json.ts";

export type PathElement = string;
export type FieldPath = readonly PathElement[];

export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

export function isFieldElement(pe: PathElement): boolean {
  return pe.startsWith("f:");
}

/** Key fields in name order, values as canonical JSON. */
export function keyElement(fields: Readonly<Record<string, JsonValue>>): PathElement {
  return `k:${canonicalJson(fields)}`;
}

export function valueElement(value: JsonValue): PathElement {
  return `v:${canonicalJson(value)}`;
}

export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const set = new FieldSet();
    for (const path of paths) set.insert(path);
    return set;
  }

  insert(path: FieldPath): void {
    const [head, ...rest] = path;
    if (head === undefined) return;
    if (rest.length === 0) {
      this.members.add(head);
      return;
    }
    let next = this.children.get(head);
    if (!next) this.children.set(head, (next = new FieldSet()));
    next.insert(rest);
  }

  copy(): FieldSet {
    return this.union(new FieldSet());
  }

  has(path: FieldPath): boolean {
    const [head, ...rest] = path;
    if (head === undefined) return false;
    return rest.length === 0 ? this.members.has(head) : (this.children.get(head)?.has(rest) ?? false);
  }

  child(pe: PathElement): FieldSet | undefined {
    return this.children.get(pe);
  }

  isEmpty(): boolean {
    return this.members.size === 0 && [...this.children.values()].every((c) => c.isEmpty());
  }

  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of [...this.members, ...other.members]) out.members.add(m);
    for (const pe of new Set([...this.children.keys(), ...other.children.keys()])) {
      const a = this.children.get(pe);
      const b = other.children.get(pe);
      const merged = a && b ? a.union(b) : (a ?? b ?? new FieldSet()).copy();
      if (!merged.isEmpty()) out.children.set(pe, merged);
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (other.members.has(m)) out.members.add(m);
    for (const [pe, a] of this.children) {
      const b = other.children.get(pe);
      const common = b ? a.intersection(b) : undefined;
      if (common && !common.isEmpty()) out.children.set(pe, common);
    }
    return out;
  }

  /** Members of `other` removed exactly; their children stay (upstream `Set.Difference`). */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, a] of this.children) {
      const b = other.children.get(pe);
      const rest = b ? a.difference(b) : a.copy();
      if (!rest.isEmpty()) out.children.set(pe, rest);
    }
    return out;
  }

  /** Without these top-level elements and everything under them (upstream `RecursiveDifference`). */
  without(elements: Iterable<PathElement>): FieldSet {
    const out = this.copy();
    for (const pe of elements) {
      out.members.delete(pe);
      out.children.delete(pe);
    }
    return out;
  }

  /** Every member as a full path, in FieldsV1 order. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (set: FieldSet, prefix: FieldPath) => {
      for (const pe of sortElements(new Set([...set.members, ...set.children.keys()]))) {
        if (set.members.has(pe)) out.push([...prefix, pe]);
        const child = set.children.get(pe);
        if (child) walk(child, [...prefix, pe]);
      }
    };
    walk(this, []);
    return out;
  }

  toFieldsV1(): JsonObject {
    const encode = (set: FieldSet, includeSelf: boolean): JsonObject => {
      const out: JsonObject = {};
      if (includeSelf) out["."] = {};
      for (const pe of sortElements(new Set([...set.members, ...set.children.keys()]))) {
        const child = set.children.get(pe);
        out[pe] = child && !child.isEmpty() ? encode(child, set.members.has(pe)) : {};
      }
      return out;
    };
    return encode(this, false);
  }

  /** Parses FieldsV1; unknown element kinds are skipped, as upstream does. */
  static fromFieldsV1(fields: JsonValue): FieldSet {
    if (!isObject(fields)) throw new Error(`fieldsV1 must be an object, got ${JSON.stringify(fields)}`);
    const decode = (node: JsonObject): FieldSet => {
      const set = new FieldSet();
      for (const [key, value] of Object.entries(node)) {
        if (key === ".") continue;
        const pe = normalizeElement(key);
        if (pe === undefined) continue;
        if (!isObject(value)) throw new Error(`fieldsV1 entry ${JSON.stringify(key)} must be an object`);
        const hasChildren = Object.keys(value).some((k) => k !== ".");
        if (!hasChildren || Object.hasOwn(value, ".")) set.members.add(pe);
        if (hasChildren) {
          const child = decode(value);
          if (!child.isEmpty()) set.children.set(pe, child);
        }
      }
      return set;
    };
    return decode(fields);
  }
}

/** Canonical form of a FieldsV1 key; undefined for an unknown element kind. */
function normalizeElement(key: string): PathElement | undefined {
  const kind = key.slice(0, 2);
  const body = key.slice(2);
  switch (kind) {
    case "f:":
      return key;
    case "k:": {
      const fields = JSON.parse(body) as JsonValue;
      if (!isObject(fields)) throw new Error(`invalid key element ${key}`);
      return keyElement(fields);
    }
    case "v:":
      return valueElement(JSON.parse(body) as JsonValue);
    case "i:":
      if (!/^-?[0-9]+$/.test(body)) throw new Error(`invalid index element ${key}`);
      return key;
    default:
      if (key.length < 2 || key[1] !== ":") throw new Error(`invalid path element ${JSON.stringify(key)}`);
      return undefined;
  }
}

const kindRank: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function typeRank(value: JsonValue): number {
  if (value === null) return 0;
  if (typeof value === "boolean") return 1;
  if (typeof value === "number") return 2;
  if (typeof value === "string") return 3;
  return Array.isArray(value) ? 4 : 5;
}

function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return compareStrings(canonicalJson(a), canonicalJson(b));
}

/** Upstream `PathElement.Compare`: fields, then keys, then values, then indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  const ka = kindRank[a[0] as string] ?? 9;
  const kb = kindRank[b[0] as string] ?? 9;
  if (ka !== kb) return ka - kb;
  const ba = a.slice(2);
  const bb = b.slice(2);
  switch (a[0]) {
    case "k": {
      const fa = Object.entries(JSON.parse(ba) as JsonObject);
      const fb = Object.entries(JSON.parse(bb) as JsonObject);
      for (let i = 0; i < Math.min(fa.length, fb.length); i++) {
        const [na, va] = fa[i] as [string, JsonValue];
        const [nb, vb] = fb[i] as [string, JsonValue];
        const c = compareStrings(na, nb) || compareValues(va, vb);
        if (c !== 0) return c;
      }
      return fa.length - fb.length;
    }
    case "v":
      return compareValues(JSON.parse(ba) as JsonValue, JSON.parse(bb) as JsonValue);
    case "i":
      return Number(ba) - Number(bb);
    default:
      return compareStrings(ba, bb);
  }
}

function sortElements(elements: Iterable<PathElement>): PathElement[] {
  return [...elements].sort(compareElements);
}

function formatValue(value: JsonValue): string {
  return typeof value === "string" ? JSON.stringify(value) : canonicalJson(value);
}

/** A path as the Kubernetes API prints it: `.spec.ports[port=80,protocol="TCP"].targetPort`. */
export function formatPath(path: FieldPath): string {
  return path
    .map((pe) => {
      const body = pe.slice(2);
      switch (pe[0]) {
        case "f":
          return `.${body}`;
        case "k": {
          const fields = Object.entries(JSON.parse(body) as JsonObject);
          return `[${fields.map(([k, v]) => `${k}=${formatValue(v)}`).join(",")}]`;
        }
        case "v":
          return `[=${formatValue(JSON.parse(body) as JsonValue)}]`;
        default:
          return `[${body}]`;
      }
    })
    .join("");
}
