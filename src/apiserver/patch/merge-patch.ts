// `application/merge-patch+json`: RFC 7396. Objects merge key by key, `null` deletes a key, anything
// else (arrays included) replaces. kubectl client-side apply sends this for custom resources.
import { clone, getField, isObject, setField, type JsonObject, type JsonValue } from "./json.ts";

/** Applies an RFC 7396 merge patch to a copy of `target`; the inputs are never changed. */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  mergeInto(result, patch);
  return result;
}

function mergeInto(target: JsonObject, patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
    } else if (isObject(value)) {
      const existing = getField(target, key);
      const next: JsonObject = isObject(existing) ? existing : {};
      mergeInto(next, value);
      setField(target, key, next);
    } else {
      setField(target, key, clone(value));
    }
  }
}
