// Field validation as upstream's `fieldValidation` parameter defines it (KEP-2885): fields the kind
// does not declare and keys given twice are refused with `Strict` (kubectl's default), reported as
// `Warning` headers and dropped with `Warn` (the default without the parameter), dropped silently
// with `Ignore`. Either way no undeclared field is stored: the object is pruned against its kind's
// schema, as upstream prunes custom resources and its decoder drops unknown fields of built-ins.
import type { TSchema } from "@sinclair/typebox";
import { excerpt } from "../limits/index.ts";
import { ObjectMetaFields } from "./builtin-schemas.ts";
import { ApiError, badRequest } from "./status.ts";

export type FieldValidation = "Ignore" | "Warn" | "Strict";

export function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === "") return "Warn";
  if (value === "Ignore" || value === "Warn" || value === "Strict") return value;
  throw badRequest(
    `fieldValidation: Unsupported value ${JSON.stringify(excerpt(value))}: supported values: "Ignore", "Warn", "Strict"`,
  );
}

/** Problems listed in one error message or as warnings, at most; the rest are counted. */
const maxListed = 10;

/** What the decoder and the pruner found wrong with a request's fields. */
export interface FieldProblems {
  /** Paths of keys given twice (the last value was kept). */
  readonly duplicates: readonly string[];
  /** Paths of fields the kind does not declare (already removed). */
  readonly unknown: readonly string[];
}

/**
 * Strict: a 400 `strict decoding error` listing the problems. Warn: the problems appended to
 * `warnings`. Ignore: nothing.
 */
export function reportFieldProblems(
  problems: FieldProblems,
  mode: FieldValidation,
  warnings: string[],
): void {
  const total = problems.unknown.length + problems.duplicates.length;
  if (total === 0 || mode === "Ignore") return;
  // Only the listed paths are spelt out: each may be a long key's path, built but not yet copied.
  const listed = [
    ...problems.unknown.slice(0, maxListed).map((path) => `unknown field ${JSON.stringify(excerpt(path))}`),
    ...problems.duplicates
      .slice(0, maxListed)
      .map((path) => `duplicate field ${JSON.stringify(excerpt(path))}`),
  ].slice(0, maxListed);
  const more = total - listed.length;
  if (mode === "Strict") {
    const tail = more > 0 ? `, and ${more} more` : "";
    throw new ApiError(400, "BadRequest", `strict decoding error: ${listed.join(", ")}${tail}`);
  }
  warnings.push(...listed);
  if (more > 0) warnings.push(`${more} more unknown or duplicate fields were dropped`);
}

export interface Pruned<T> {
  readonly value: T;
  /** Paths (`spec.ports[0].nodePorts`) of the fields removed. */
  readonly unknown: readonly string[];
}

/**
 * `object` without the fields `schema` (a kind's schema) does not declare; `metadata` is checked
 * against ObjectMeta whatever the kind's schema says of it. Returns `object` itself when nothing
 * was removed, otherwise a copy; the input is never changed.
 */
export function pruneUnknownFields<T>(schema: TSchema, object: T): Pruned<T> {
  const unknown: string[] = [];
  const value = prune(schema, object, "", unknown, true) as T;
  return { value, unknown };
}

type Schema = Readonly<Record<string, unknown>>;

function prune(schema: Schema, value: unknown, path: string, unknown: string[], top = false): unknown {
  if (Array.isArray(schema.anyOf)) {
    const branch = (schema.anyOf as Schema[]).find((s) => describes(s, value));
    return branch === undefined ? value : prune(branch, value, path, unknown);
  }
  if (Array.isArray(value)) {
    const items = schema.items as Schema | undefined;
    if (items === undefined) return value;
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const pruned = prune(items, item, `${path}[${index}]`, unknown);
      if (pruned !== item) (copy ??= [...value])[index] = pruned;
    });
    return copy ?? value;
  }
  if (!isPlainObject(value)) return value;
  const properties = schema.properties as Record<string, Schema> | undefined;
  const pattern = schema.patternProperties as Record<string, Schema> | undefined;
  const rest = schema.additionalProperties;
  // No declared fields: a free-form value (Type.Unknown, a preserved map) is kept whole.
  if (properties === undefined && pattern === undefined) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, child] of Object.entries(value)) {
    const at = path === "" ? key : `${path}.${key}`;
    const declared =
      top && key === "metadata"
        ? (ObjectMetaFields as unknown as Schema)
        : properties !== undefined && Object.hasOwn(properties, key)
          ? properties[key]
          : pattern !== undefined
            ? Object.values(pattern)[0]
            : typeof rest === "object" && rest !== null
              ? (rest as Schema)
              : undefined;
    if (declared === undefined && rest !== true) {
      unknown.push(at);
      copy ??= { ...value };
      delete copy[key];
      continue;
    }
    if (declared === undefined) continue;
    const pruned = prune(declared, child, at, unknown);
    if (pruned !== child) defineField((copy ??= { ...value }), key, pruned);
  }
  return copy ?? value;
}

/** Whether a union branch is the one that describes `value` (for unions of objects and scalars). */
function describes(schema: Schema, value: unknown): boolean {
  if (schema.const !== undefined) return schema.const === value;
  switch (schema.type) {
    case "object":
      return isPlainObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    default:
      return true;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets an own property; plain assignment of `__proto__` would replace the prototype instead. */
function defineField(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}
