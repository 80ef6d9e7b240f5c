// PATCH by content type: decoding the request body and applying JSON patch, merge patch or
// strategic merge patch to the live object. Server-side apply (apply.ts) needs a manager and
// ownership, so it has its own entry point.
import { parse } from "yaml";
import type { KubeObject } from "../../store/index.ts";
import { badRequest, invalid, unsupportedMediaType } from "./errors.ts";
import { applyJsonPatch } from "./json-patch.ts";
import { isObject, typeName, type JsonObject, type JsonValue } from "./json.ts";
import { groupOf, patchTypeOf, patchTypes, supportedPatchTypes, type PatchType } from "./kinds.ts";
import { applyMergePatch } from "./merge-patch.ts";
import { applyStrategicMergePatch } from "./strategic.ts";

/**
 * Decodes a PATCH body: JSON for the JSON, merge and strategic types, YAML (of which JSON is a
 * subset; kubectl sends JSON) for apply. Bodies that do not parse are 400 BadRequest, as upstream.
 */
export function decodePatchBody(type: PatchType, body: string | Uint8Array): JsonValue {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  let value: unknown;
  try {
    // logLevel "error": an unknown tag is read as its plain value without a process warning.
    value = type === patchTypes.apply ? parse(text, { logLevel: "error" }) : JSON.parse(text);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
  if (value === undefined) value = null;
  checkJson(value, "");
  if (type === patchTypes.apply && !isObject(value)) {
    throw badRequest(`error decoding patch: expected an object, got ${typeName(value as JsonValue)}`);
  }
  return value as JsonValue;
}

/** YAML can say `.inf` or `!!binary`; only JSON values go further. */
function checkJson(value: unknown, path: string): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw badRequest(`error decoding patch: ${path || "the body"} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((item, i) => checkJson(item, `${path}[${i}]`));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) checkJson(item, path ? `${path}.${key}` : key);
    return;
  }
  throw badRequest(`error decoding patch: ${path || "the body"} is not a JSON value`);
}

/**
 * Applies a JSON, merge or strategic merge patch to `current`, returning the patched copy. The
 * content type may carry parameters (`; charset=utf-8`). A type the kind does not accept (strategic
 * merge patch on a custom resource, or anything unknown) is 415 with the accepted types listed; a
 * patch that turns the object into something other than an object is 422 Invalid.
 */
export function applyPatch(contentType: string, current: KubeObject, patch: JsonValue): KubeObject {
  const kind = { group: groupOf(current.apiVersion), kind: current.kind };
  const type = patchTypeOf(contentType);
  if (type === patchTypes.apply) throw new TypeError("apply patches go through serverSideApply");
  if (type === undefined || !supportedPatchTypes(kind).includes(type)) {
    throw unsupportedMediaType(supportedPatchTypes(kind));
  }
  const document = current as unknown as JsonObject;
  let result: JsonValue;
  switch (type) {
    case patchTypes.json:
      result = applyJsonPatch(document, patch);
      break;
    case patchTypes.merge:
      result = applyMergePatch(document, patch);
      break;
    case patchTypes.strategic:
      result = applyStrategicMergePatch(kind, document, patch);
      break;
  }
  if (!isObject(result)) throw invalid(`the patched object must be an object, got ${typeName(result)}`);
  if (!isObject(result.metadata)) throw invalid(`the patched object has no metadata`);
  return result as unknown as KubeObject;
}
