// TypeBox (JSON Schema) to OpenAPI 3.0 schema objects as the Kubernetes API publishes them:
// literal unions become enums, int-or-string unions the CRD form, string maps use
// additionalProperties, free-form values preserve unknown fields, `metadata` refers to ObjectMeta.
import type { TSchema } from "@sinclair/typebox";
import type { Overlay } from "./descriptions.ts";

export type OpenApiSchema = { [key: string]: unknown };

const kept = [
  "type",
  "format",
  "description",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minItems",
  "maxItems",
  "uniqueItems",
  "default",
  "required",
] as const;

export const metaRef = (name: string): OpenApiSchema => ({
  $ref: `#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.${name}`,
});

/** Converts one schema; `top` marks a kind's root, whose `metadata` becomes an ObjectMeta reference. */
export function toOpenApi(schema: TSchema | OpenApiSchema, top = false): OpenApiSchema {
  const s = schema as OpenApiSchema;
  if (Array.isArray(s.anyOf)) return fromUnion(s.anyOf as OpenApiSchema[], s);
  if (Array.isArray(s.allOf)) return { allOf: (s.allOf as OpenApiSchema[]).map((m) => toOpenApi(m)) };
  if (s.const !== undefined) return { type: typeof s.const, enum: [s.const], ...pick(s, ["description"]) };
  const out: OpenApiSchema = pick(s, kept);
  if (s.type === "object" || s.properties !== undefined || s.patternProperties !== undefined) {
    out.type = "object";
    if (s.properties !== undefined) {
      const properties: Record<string, OpenApiSchema> = {};
      for (const [name, child] of Object.entries(s.properties as Record<string, OpenApiSchema>)) {
        properties[name] =
          top && name === "metadata"
            ? {
                allOf: [metaRef("ObjectMeta")],
                default: {},
                description:
                  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
              }
            : toOpenApi(child);
      }
      out.properties = properties;
    }
    const pattern = s.patternProperties as Record<string, OpenApiSchema> | undefined;
    if (pattern !== undefined) {
      const [value] = Object.values(pattern);
      if (value !== undefined) out.additionalProperties = toOpenApi(value);
    } else if (typeof s.additionalProperties === "object" && s.additionalProperties !== null) {
      out.additionalProperties = toOpenApi(s.additionalProperties as OpenApiSchema);
    }
    if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
    return out;
  }
  if (s.type === "array" && s.items !== undefined) {
    out.items = toOpenApi(s.items as OpenApiSchema);
    return out;
  }
  if (s.type === undefined) {
    // Type.Unknown(): any JSON, kept as given.
    return { ...out, type: "object", "x-kubernetes-preserve-unknown-fields": true };
  }
  return out;
}

function fromUnion(members: OpenApiSchema[], parent: OpenApiSchema): OpenApiSchema {
  const base = pick(parent, ["description", "default"]);
  if (members.every((m) => m.const !== undefined)) {
    const values = members.map((m) => m.const);
    const types = [...new Set(values.map((v) => typeof v))];
    return types.length === 1 ? { ...base, type: types[0], enum: values } : { ...base, enum: values };
  }
  const types = new Set(members.map((m) => m.type));
  if (members.length === 2 && types.has("integer") && types.has("string")) {
    return {
      ...base,
      anyOf: [{ type: "integer" }, { type: "string" }],
      "x-kubernetes-int-or-string": true,
    };
  }
  return { ...base, anyOf: members.map((m) => toOpenApi(m)) };
}

function pick(s: OpenApiSchema, keys: readonly string[]): OpenApiSchema {
  const out: OpenApiSchema = {};
  for (const key of keys) if (s[key] !== undefined) out[key] = structuredClone(s[key]);
  return out;
}

/**
 * Lays descriptions and extensions over a converted kind schema, in place. A path steps through
 * `properties`; after a list field it continues into `items`.
 */
export function applyOverlay(root: OpenApiSchema, overlay: Overlay | undefined): void {
  for (const [path, extra] of Object.entries(overlay ?? {})) {
    const node = path === "" ? root : locate(root, path.split("."));
    if (node !== undefined) Object.assign(node, extra);
  }
}

function locate(root: OpenApiSchema, parts: string[]): OpenApiSchema | undefined {
  let node: OpenApiSchema | undefined = root;
  for (const [i, part] of parts.entries()) {
    if (node === undefined) return undefined;
    const properties = node.properties as Record<string, OpenApiSchema> | undefined;
    node = properties?.[part];
    if (node !== undefined && i < parts.length - 1 && node.type === "array") {
      node = node.items as OpenApiSchema | undefined;
    }
  }
  return node;
}
