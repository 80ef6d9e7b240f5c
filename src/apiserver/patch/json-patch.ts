// `application/json-patch+json`: RFC 6902 operations addressed by RFC 6901 JSON pointers.
// Upstream applies these with evanphx/json-patch (apiserver handlers/patch.go `applyJSPatch`): a
// malformed patch is 400 BadRequest, a patch that does not apply (missing path, failed test) is
// 422 Invalid, more than 10,000 operations is 413. Every error names the failing operation by its
// index in the array and its path.
import { badRequest, invalid, PatchError } from "./errors.ts";
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

/** `maxJSONPatchOperations` of the upstream patch handler. */
export const maxJsonPatchOperations = 10_000;

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
export function decodeJsonPatch(body: JsonValue): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw badRequest(`json patch must be an array of operations, got ${typeName(body)}`);
  }
  if (body.length > maxJsonPatchOperations) {
    throw new PatchError(
      "RequestEntityTooLarge",
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${body.length}`,
    );
  }
  return body.map((raw, index) => {
    const fail = (what: string, path?: string) =>
      badRequest(`json patch operation ${index}: ${what}`, { operation: index, path });
    if (!isObject(raw)) throw fail(`expected an object, got ${typeName(raw)}`);
    const { op, path, from } = raw;
    if (typeof op !== "string" || !ops.includes(op as JsonPatchOp)) {
      throw fail(`unknown op ${JSON.stringify(op ?? null)} (expected one of ${ops.join(", ")})`);
    }
    const pointer = (name: string, value: JsonValue | undefined): string => {
      if (typeof value !== "string") throw fail(`"${op}" needs a string "${name}"`);
      try {
        parsePointer(value);
      } catch (error) {
        throw fail(`"${name}" ${JSON.stringify(value)} is not a JSON pointer: ${(error as Error).message}`);
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
      `${formatPointer(tokens.slice(0, -1)) || "the document"} is ${typeName(node)}, not an object or array`,
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
    if (!Object.hasOwn(node, token)) throw new ApplyFailure(`${formatPointer(at)} does not exist`);
    return node[token] as JsonValue;
  }
  throw new ApplyFailure(
    `${formatPointer(at.slice(0, -1)) || "the document"} is ${typeName(node)}, not an object or array`,
  );
}

/** RFC 6901 array index: digits without leading zeros; `-` (past the end) only when adding. */
function arrayIndex(token: string, length: number, adding: boolean): number {
  if (token === "-" && adding) return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new ApplyFailure(`${JSON.stringify(token)} is not an array index`);
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

function add(document: JsonValue, tokens: readonly string[], value: JsonValue): JsonValue {
  if (tokens.length === 0) return value;
  const { parent, key } = locate(document, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, true), 0, value);
  else setField(parent, key, value);
  return document;
}

function remove(document: JsonValue, tokens: readonly string[]): JsonValue {
  if (tokens.length === 0) throw new ApplyFailure("the whole document can not be removed");
  const { parent, key } = locate(document, tokens);
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(key, parent.length, false), 1);
  } else {
    if (!Object.hasOwn(parent, key)) throw new ApplyFailure(`${formatPointer(tokens)} does not exist`);
    delete parent[key];
  }
  return document;
}

/** Replaces in place, so an object keeps its key order. */
function replace(document: JsonValue, tokens: readonly string[], value: JsonValue): JsonValue {
  if (tokens.length === 0) return value;
  const { parent, key } = locate(document, tokens);
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length, false)] = value;
  else if (Object.hasOwn(parent, key)) setField(parent, key, value);
  else throw new ApplyFailure(`${formatPointer(tokens)} does not exist`);
  return document;
}

/**
 * Applies RFC 6902 operations in order to a copy of `document`; the input is never changed. Either
 * every operation applies or a PatchError is thrown (BadRequest for a malformed patch, Invalid for
 * one that does not apply, with `operation` and `path` set).
 */
export function applyJsonPatch(
  document: JsonValue,
  patch: JsonValue | readonly JsonPatchOperation[],
): JsonValue {
  const operations = decodeJsonPatch(patch as JsonValue);
  let result = clone(document);
  operations.forEach((operation, index) => {
    const { op, path } = operation;
    const tokens = parsePointer(path);
    try {
      switch (op) {
        case "add":
          result = add(result, tokens, clone(operation.value as JsonValue));
          break;
        case "remove":
          result = remove(result, tokens);
          break;
        case "replace":
          result = replace(result, tokens, clone(operation.value as JsonValue));
          break;
        case "move": {
          const from = operation.from as string;
          if (from === path) break;
          if (path.startsWith(from + "/")) throw new ApplyFailure(`can not move ${from} into its own child`);
          const fromTokens = parsePointer(from);
          const value = get(result, fromTokens);
          result = add(remove(result, fromTokens), tokens, value);
          break;
        }
        case "copy":
          result = add(result, tokens, clone(get(result, parsePointer(operation.from as string))));
          break;
        case "test":
          if (!deepEqual(get(result, tokens), operation.value)) {
            throw new ApplyFailure(`test failed: the value at ${path || '""'} is not the expected value`);
          }
          break;
      }
    } catch (error) {
      if (!(error instanceof ApplyFailure)) throw error;
      throw invalid(`json patch operation ${index} (${op} ${JSON.stringify(path)}): ${error.message}`, {
        operation: index,
        path,
      });
    }
  });
  return result;
}
