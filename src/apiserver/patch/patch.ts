// PATCH by content type: checking the decoded request body and applying JSON patch, merge patch or
// strategic merge patch to the live object. Server-side apply (apply.ts) needs a manager and
// ownership, so it has its own entry point.
import { defaultLimits, excerpt } from "../../limits/index.ts";
import type { KubeObject } from "../../store/index.ts";
import { badRequest, invalid, unsupportedMediaType } from "./errors.ts";
import { applyJsonPatch, type JsonPatchLimits } from "./json-patch.ts";
import { isObject, typeName, type JsonObject, type JsonValue } from "./json.ts";
import { groupOf, patchTypeOf, patchTypes, supportedPatchTypes, type PatchType } from "./kinds.ts";
import { applyMergePatch } from "./merge-patch.ts";
import { applyStrategicMergePatch } from "./strategic.ts";

/**
 * Checks a decoded PATCH body (JSON for the JSON, merge and strategic types, YAML for apply; the
 * caller decodes it within the object limits): only JSON values, and an object for apply. Anything
 * else is 400 BadRequest, as upstream.
 */
export function checkPatchBody(type: PatchType, body: unknown): JsonValue {
  const value = body === undefined ? null : body;
  checkJson(value, []);
  if (type === patchTypes.apply && !isObject(value)) {
    throw badRequest(`error decoding patch: expected an object, got ${typeName(value as JsonValue)}`);
  }
  return value as JsonValue;
}

/**
 * YAML can say `.inf` or `!!binary`; only JSON values go further. The path is kept as a trail of
 * keys and spelt out only for a message.
 */
function checkJson(value: unknown, trail: string[]): void {
  const fail = (what: string) => {
    const path = trail.reduce(
      (p, part) => (part.startsWith("[") || p === "" ? p + part : `${p}.${part}`),
      "",
    );
    const at = path === "" ? "the body" : excerpt(path);
    return badRequest(`error decoding patch: ${at} is ${what}`);
  };
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw fail("not a finite number");
    return;
  }
  const plain = typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
  if (!Array.isArray(value) && !plain) throw fail("not a JSON value");
  for (const [key, item] of Object.entries(value as object)) {
    trail.push(Array.isArray(value) ? `[${key}]` : key);
    checkJson(item, trail);
    trail.pop();
  }
}

/**
 * Applies a JSON, merge or strategic merge patch to `current`, returning the patched copy. The
 * content type may carry parameters (`; charset=utf-8`). A type the kind does not accept (strategic
 * merge patch on a custom resource, or anything unknown) is 415 with the accepted types listed; a
 * patch that turns the object into something other than an object is 422 Invalid. A JSON patch
 * works within `limits` (LimitExceededError).
 */
export function applyPatch(
  contentType: string,
  current: KubeObject,
  patch: JsonValue,
  limits: JsonPatchLimits = defaultLimits,
): KubeObject {
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
      result = applyJsonPatch(document, patch, limits);
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
