// Measuring values that already exist (decoded from protobuf, built by a patch) against the object
// limits, with the same accounting as decode.ts uses for text: a string is its length plus quotes,
// a map entry its key plus `"":` and a separator. Both walks are iterative and stop at the first
// limit crossed, so measuring costs at most the budget, never the size of what is measured.
import type { ObjectLimits } from "./decode.ts";
import { excerpt } from "./excerpt.ts";
import { LimitExceededError } from "./limits.ts";

/**
 * The size of `value` as compact JSON (strings counted in characters, escapes not), or
 * `Infinity` as soon as it exceeds `max`.
 */
export function jsonSize(value: unknown, max: number): number {
  let size = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    size += ownSize(next);
    if (size > max) return Infinity;
    if (next !== null && typeof next === "object") for (const item of Object.values(next)) pending.push(item);
  }
  return size;
}

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  /** The containing frame and the key or index in it; the path is only spelt out for a message. */
  readonly parent: Frame | undefined;
  readonly key: string;
}

/**
 * Throws LimitExceededError when `value` (described as `what` in the message: "the patched
 * object") exceeds any of the object limits; otherwise returns its size as jsonSize does.
 */
export function checkObjectLimits(value: unknown, limits: ObjectLimits, what: string): number {
  let size = 0;
  let nodes = 0;
  const pending: Frame[] = [{ value, depth: 0, parent: undefined, key: "" }];
  while (pending.length > 0) {
    const frame = pending.pop() as Frame;
    const { value: next, depth } = frame;
    if (++nodes > limits["object.nodes"])
      throw new LimitExceededError("object.nodes", limits["object.nodes"], `the number of values in ${what}`);
    if (depth > limits["object.nestingDepth"])
      throw new LimitExceededError(
        "object.nestingDepth",
        limits["object.nestingDepth"],
        `the nesting of ${what} at ${pathOf(frame)}`,
      );
    if (typeof next === "string" && next.length > limits["object.stringLength"])
      throw new LimitExceededError(
        "object.stringLength",
        limits["object.stringLength"],
        `a string at ${pathOf(frame) || "the top level"} of ${what}`,
        next.length,
      );
    // Counted before the children are visited, so a huge list is refused before it is walked.
    size += ownSize(next);
    if (size > limits["object.bytes"])
      throw new LimitExceededError("object.bytes", limits["object.bytes"], what);
    if (next === null || typeof next !== "object") continue;
    if (Array.isArray(next)) {
      next.forEach((item, index) =>
        pending.push({ value: item, depth: depth + 1, parent: frame, key: `${index}` }),
      );
      continue;
    }
    for (const [key, item] of Object.entries(next)) {
      if (key.length > limits["object.stringLength"])
        throw new LimitExceededError(
          "object.stringLength",
          limits["object.stringLength"],
          `a key at ${pathOf(frame) || "the top level"} of ${what}`,
          key.length,
        );
      pending.push({ value: item, depth: depth + 1, parent: frame, key });
    }
  }
  return size;
}

/** The bytes of a value without its children: a scalar whole; brackets, keys and separators. */
function ownSize(value: unknown): number {
  if (typeof value === "string") return value.length + 2;
  if (value === null || typeof value !== "object") return String(value).length;
  if (Array.isArray(value)) return 2 + Math.max(0, value.length - 1);
  let size = 2;
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    size += key.length + 3;
    count++;
  }
  return size + Math.max(0, count - 1);
}

/** `spec.ports.0.name`, each key shortened as decode.ts does. */
function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let at: Frame | undefined = frame; at?.parent !== undefined; at = at.parent)
    keys.push(excerpt(at.key, 60));
  return keys.reverse().join(".");
}
