// `application/json-patch+json`: RFC 6902 operations addressed by RFC 6901 JSON pointers.
// Upstream applies these with evanphx/json-patch (apiserver handlers/patch.go `applyJSPatch`): a
// malformed patch is 400 BadRequest, a patch that does not apply (missing path, failed test) is
// 422 Invalid. Every error names the failing operation by its index in the array and its path.
// Bounds: at most `api.patchOperations` operations (upstream's 10,000), and the object may not grow
// past `object.bytes` at any step, nor `copy` duplicate more than that in all: a few `copy`
// operations that each double the object are refused before they build anything large.
import { LimitExceededError, defaultLimits, excerpt, jsonSize, type Limits } from "../../limits/index.ts";
import { badRequest, invalid } from "./errors.ts";
import { clone, deepEqual, isObject, setField, typeName, type JsonValue } from "./json.ts";

export type JsonPatchOp = "add" | "remove" | "replace" | "move" | "copy" | "test";

export interface JsonPatchOperation {
  readonly op: JsonPatchOp;
  readonly path: string;
  /** `move` and `copy`: the source pointer. */
  readonly from?: string;
  /** `add`, `replace`, `test`: the value (may be null). */
  readonly value?: JsonValue;
}

export type JsonPatchLimits = Pick<Limits, "object.bytes" | "api.patchOperations">;

/** Pointers and values from the patch, as messages echo them: excerpts. */
const quote = (value: JsonValue) =>
  JSON.stringify(excerpt(typeof value === "string" ? value : JSON.stringify(value)));
const shown = (tokens: readonly string[]) => excerpt(formatPointer(tokens));

const ops: readonly JsonPatchOp[] = ["add", "remove", "replace", "move", "copy", "test"];

/** RFC 6901: "" is the whole document, otherwise "/" then tokens with `~1` for "/" and `~0` for "~". */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new Error(`"~" must be followed by 0 or 1`);
      return token.replaceAll("~1", "/").replaceAll("~0", "~");
    });
}

export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((t) => "/" + t.replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

/**
 * Checks the shape of a decoded `application/json-patch+json` body: an array of operations with a
 * known `op`, valid pointers, `value` where required (null counts) and `from` for move/copy.
 */
export function decodeJsonPatch(
  body: JsonValue,
  maxOperations: number = defaultLimits["api.patchOperations"],
): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw badRequest(`json patch must be an array of operations, got ${typeName(body)}`);
  }
  if (body.length > maxOperations) {
    throw new LimitExceededError(
      "api.patchOperations",
      maxOperations,
      "the number of operations in the JSON patch",
      body.length,
    );
  }
  return body.map((raw, index) => {
    const fail = (what: string, path?: string) =>
      badRequest(`json patch operation ${index}: ${what}`, { operation: index, path });
    if (!isObject(raw)) throw fail(`expected an object, got ${typeName(raw)}`);
    const { op, path, from } = raw;
    if (typeof op !== "string" || !ops.includes(op as JsonPatchOp)) {
      throw fail(`unknown op ${quote(op ?? null)} (expected one of ${ops.join(", ")})`);
    }
    const pointer = (name: string, value: JsonValue | undefined): string => {
      if (typeof value !== "string") throw fail(`"${op}" needs a string "${name}"`);
      try {
        parsePointer(value);
      } catch (error) {
        throw fail(`"${name}" ${quote(value)} is not a JSON pointer: ${(error as Error).message}`);
      }
      return value;
    };
    const operation: { op: JsonPatchOp; path: string; from?: string; value?: JsonValue } = {
      op: op as JsonPatchOp,
      path: pointer("path", path),
    };
    if (op === "move" || op === "copy") operation.from = pointer("from", from);
    if (op === "add" || op === "replace" || op === "test") {
      if (!Object.hasOwn(raw, "value")) throw fail(`"${op}" needs a "value"`, operation.path);
      operation.value = raw.value as JsonValue;
    }
    return operation;
  });
}

type Container = { [key: string]: JsonValue } | JsonValue[];

class ApplyFailure extends Error {}

/** Where a pointer lands: its parent container and the final token. */
function locate(document: JsonValue, tokens: readonly string[]): { parent: Container; key: string } {
  let node: JsonValue = document;
  for (let i = 0; i < tokens.length - 1; i++) {
    node = child(node, tokens[i] as string, tokens.slice(0, i + 1));
  }
  if (!Array.isArray(node) && !isObject(node)) {
    throw new ApplyFailure(
      `${shown(tokens.slice(0, -1)) || "the document"} is ${typeName(node)}, not an object or array`,
    );
  }
  return { parent: node, key: tokens[tokens.length - 1] as string };
}

function child(node: JsonValue, token: string, at: readonly string[]): JsonValue {
  if (Array.isArray(node)) {
    const index = arrayIndex(token, node.length, false);
    return node[index] as JsonValue;
  }
  if (isObject(node)) {
    if (!Object.hasOwn(node, token)) throw new ApplyFailure(`${shown(at)} does not exist`);
    return node[token] as JsonValue;
  }
  throw new ApplyFailure(
    `${shown(at.slice(0, -1)) || "the document"} is ${typeName(node)}, not an object or array`,
  );
}

/** RFC 6901 array index: digits without leading zeros; `-` (past the end) only when adding. */
function arrayIndex(token: string, length: number, adding: boolean): number {
  if (token === "-" && adding) return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new ApplyFailure(`${quote(token)} is not an array index`);
  const index = Number(token);
  const limit = adding ? length : length - 1;
  if (index > limit) throw new ApplyFailure(`index ${index} is out of range (array length ${length})`);
  return index;
}

function get(document: JsonValue, tokens: readonly string[]): JsonValue {
  if (tokens.length === 0) return document;
  const { parent, key } = locate(document, tokens);
  return child(parent, key, tokens);
}

/**
 * The patched document and its running size, in jsonSize's accounting: a member adds its key,
 * quotes, colon and separator; an element its separator. Sizes of values already in the document
 * are measured when they leave it, so each byte is measured at most once in and once out.
 */
class Patching {
  document: JsonValue;
  private size: number;
  private copied = 0;
  private readonly limits: JsonPatchLimits;
  /** The operation being applied, for messages. */
  index = 0;

  constructor(document: JsonValue, limits: JsonPatchLimits) {
    this.document = clone(document);
    this.size = jsonSize(document, Infinity);
    this.limits = limits;
  }

  /** Refuses growth past object.bytes; a patch may still shrink an object that is over it. */
  private grow(delta: number): void {
    this.size += delta;
    const max = this.limits["object.bytes"];
    if (delta > 0 && this.size > max)
      throw new LimitExceededError("object.bytes", max, `the object as patched by operation ${this.index}`);
  }

  add(tokens: readonly string[], value: JsonValue, size: number): void {
    if (tokens.length === 0) {
      this.replaceWhole(value, size);
      return;
    }
    const { parent, key } = locate(this.document, tokens);
    if (Array.isArray(parent)) {
      const at = arrayIndex(key, parent.length, true);
      this.grow(size + 1);
      parent.splice(at, 0, value);
    } else {
      const old = Object.hasOwn(parent, key) ? jsonSize(parent[key], Infinity) : -(key.length + 4);
      this.grow(size - old);
      setField(parent, key, value);
    }
  }

  /** Removes and returns the value; `keepSize` when it is moved elsewhere (its bytes stay). */
  remove(tokens: readonly string[], keepSize = false): JsonValue {
    if (tokens.length === 0) throw new ApplyFailure("the whole document can not be removed");
    const { parent, key } = locate(this.document, tokens);
    let removed: JsonValue;
    if (Array.isArray(parent)) {
      removed = parent.splice(arrayIndex(key, parent.length, false), 1)[0] as JsonValue;
      this.size -= 1;
    } else {
      if (!Object.hasOwn(parent, key)) throw new ApplyFailure(`${shown(tokens)} does not exist`);
      removed = parent[key] as JsonValue;
      delete parent[key];
      this.size -= key.length + 4;
    }
    if (!keepSize) this.size -= jsonSize(removed, Infinity);
    return removed;
  }

  /** Replaces in place, so an object keeps its key order. */
  replace(tokens: readonly string[], value: JsonValue, size: number): void {
    if (tokens.length === 0) {
      this.replaceWhole(value, size);
      return;
    }
    const { parent, key } = locate(this.document, tokens);
    if (Array.isArray(parent)) {
      const at = arrayIndex(key, parent.length, false);
      this.grow(size - jsonSize(parent[at], Infinity));
      parent[at] = value;
    } else if (Object.hasOwn(parent, key)) {
      this.grow(size - jsonSize(parent[key], Infinity));
      setField(parent, key, value);
    } else {
      throw new ApplyFailure(`${shown(tokens)} does not exist`);
    }
  }

  /** A copy of the value at `from`, measured (and refused) before it is made. */
  copyOf(from: readonly string[]): { value: JsonValue; size: number } {
    const source = get(this.document, from);
    const max = this.limits["object.bytes"];
    const size = jsonSize(source, max - this.copied);
    this.copied += size;
    if (size === Infinity)
      throw new LimitExceededError(
        "object.bytes",
        max,
        `the values copied by the JSON patch up to operation ${this.index}`,
      );
    return { value: clone(source), size };
  }

  private replaceWhole(value: JsonValue, size: number): void {
    this.grow(size - this.size);
    this.document = value;
  }
}

/**
 * Applies RFC 6902 operations in order to a copy of `document`; the input is never changed. Either
 * every operation applies or an error is thrown: a PatchError (BadRequest for a malformed patch,
 * Invalid for one that does not apply, with `operation` and `path` set), or LimitExceededError
 * when the patch has too many operations or would make the object too large.
 */
export function applyJsonPatch(
  document: JsonValue,
  patch: JsonValue | readonly JsonPatchOperation[],
  limits: JsonPatchLimits = defaultLimits,
): JsonValue {
  const operations = decodeJsonPatch(patch as JsonValue, limits["api.patchOperations"]);
  const patching = new Patching(document, limits);
  operations.forEach((operation, index) => {
    const { op, path } = operation;
    const tokens = parsePointer(path);
    patching.index = index;
    try {
      switch (op) {
        case "add":
        case "replace": {
          const value = operation.value as JsonValue;
          const size = jsonSize(value, Infinity);
          if (op === "add") patching.add(tokens, clone(value), size);
          else patching.replace(tokens, clone(value), size);
          break;
        }
        case "remove":
          patching.remove(tokens);
          break;
        case "move": {
          const from = operation.from as string;
          if (from === path) break;
          if (path.startsWith(from + "/"))
            throw new ApplyFailure(`can not move ${excerpt(from)} into its own child`);
          const fromTokens = parsePointer(from);
          // A moved value keeps its size (only its key changes), so it is measured only when it
          // becomes the whole document.
          const value = get(patching.document, fromTokens);
          patching.remove(fromTokens, true);
          patching.add(tokens, value, tokens.length === 0 ? jsonSize(value, Infinity) : 0);
          break;
        }
        case "copy": {
          const { value, size } = patching.copyOf(parsePointer(operation.from as string));
          patching.add(tokens, value, size);
          break;
        }
        case "test":
          if (!deepEqual(get(patching.document, tokens), operation.value)) {
            throw new ApplyFailure(`test failed: the value at ${path || '""'} is not the expected value`);
          }
          break;
      }
    } catch (error) {
      if (!(error instanceof ApplyFailure)) throw error;
      throw invalid(`json patch operation ${index} (${op} ${quote(path)}): ${error.message}`, {
        operation: index,
        path,
      });
    }
  });
  return patching.document;
}
