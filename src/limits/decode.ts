// Bounded decoding of untrusted JSON and YAML into objects. Every check runs before the value is
// materialised: JSON is scanned once for depth, size, string length and duplicate keys before
// JSON.parse; YAML is measured on its syntax tree with aliases counted at their expanded size, so
// a 2 MB document whose aliases expand to gigabytes is refused before it costs a gigabyte.
import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node } from "yaml";
import { excerpt } from "./excerpt.ts";
import { LimitExceededError, type Limits } from "./limits.ts";

/** The limits that bound one decoded object, whichever path it came in by. */
export type ObjectLimits = Pick<
  Limits,
  "object.bytes" | "object.nestingDepth" | "object.nodes" | "object.stringLength"
>;

export interface Decoded {
  readonly value: unknown;
  /** Paths (`metadata.labels.app`) of keys given more than once; the last value was kept. */
  readonly duplicateKeys: readonly string[];
}

/** Input that is not well-formed UTF-8, JSON or YAML. The message never quotes more than an excerpt. */
export class DecodeError extends Error {
  /** 1-based line of the problem, when known. */
  readonly line: number | undefined;
  /** 1-based column of the problem, when known. */
  readonly column: number | undefined;

  constructor(message: string, line?: number, column?: number) {
    super(message);
    this.name = "DecodeError";
    this.line = line;
    this.column = column;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The bytes as text; refuses invalid UTF-8 (upstream decodes JSON as strict UTF-8 too). */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DecodeError(`${what} is not valid UTF-8: send text encoded as UTF-8`);
  }
}

/** Parses one JSON value within `limits`. */
export function decodeJson(text: string, limits: ObjectLimits): Decoded {
  const duplicateKeys = scanJson(text, limits);
  try {
    return { value: JSON.parse(text) as unknown, duplicateKeys };
  } catch (error) {
    throw new DecodeError(excerpt((error as Error).message));
  }
}

interface JsonFrame {
  readonly keys: Set<string> | undefined;
  /** The key being read or the element index, for paths in messages. */
  at: string | number;
  expectKey: boolean;
}

/**
 * One pass over JSON text measuring what JSON.parse would build. Structure errors are left to
 * JSON.parse; this only has to be right about well-formed input and bounded on any input.
 */
function scanJson(text: string, limits: ObjectLimits): string[] {
  const duplicates: string[] = [];
  const stack: JsonFrame[] = [];
  let nodes = 0;
  let bytes = 0;
  const value = () => {
    if (++nodes > limits["object.nodes"]) throw tooMany("object.nodes", limits["object.nodes"]);
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    bytes++;
    const top = stack[stack.length - 1];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      value();
      if (stack.length >= limits["object.nestingDepth"])
        throw new LimitExceededError(
          "object.nestingDepth",
          limits["object.nestingDepth"],
          "the object's nesting",
        );
      stack.push(
        c === 0x7b
          ? { keys: new Set(), at: "", expectKey: true }
          : { keys: undefined, at: 0, expectKey: false },
      );
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x3a /* : */) {
      if (top) top.expectKey = false;
    } else if (c === 0x2c /* , */) {
      if (top?.keys) top.expectKey = true;
      else if (top) top.at = (top.at as number) + 1;
    } else if (c === 0x22 /* " */) {
      const start = i;
      let length = 0;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x22) break;
        if (s === 0x5c /* \ */) {
          escaped = true;
          i += text.charCodeAt(i + 1) === 0x75 /* u */ ? 5 : 1;
        }
        length++;
      }
      bytes += i - start;
      if (length > limits["object.stringLength"])
        throw new LimitExceededError(
          "object.stringLength",
          limits["object.stringLength"],
          `a string at ${jsonPath(stack) || "the top level"}`,
          length,
        );
      if (top?.keys && top.expectKey) {
        const raw = text.slice(start + 1, i);
        const key = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) duplicates.push(joinPath(jsonPath(stack.slice(0, -1)), key));
        top.keys.add(key);
        top.at = key;
      } else {
        value();
      }
    } else {
      // A literal (number, true, false, null): count it once and skip to its end.
      value();
      while (i + 1 < text.length && !/[\s,\]}:]/.test(text[i + 1] as string)) {
        i++;
        bytes++;
      }
    }
    if (bytes > limits["object.bytes"])
      throw new LimitExceededError("object.bytes", limits["object.bytes"], "the object");
  }
  return duplicates;
}

/** Where the scan is: each open object's current key or array's index. */
function jsonPath(stack: readonly JsonFrame[]): string {
  return stack.reduce((path, frame) => joinPath(path, frame.at), "");
}

/** Parses YAML text holding exactly one document (an API body) within `limits`. */
export function decodeYaml(text: string, limits: ObjectLimits): Decoded {
  const documents = decodeYamlDocuments(text, limits);
  if (documents.length !== 1) throw new DecodeError(`expected one YAML document, found ${documents.length}`);
  const [document] = documents as [DecodedDocument];
  if (document.error) throw document.error;
  return document;
}

export interface DecodedDocument extends Decoded {
  /** 1-based line where the document starts. */
  readonly line: number;
  /** Why this document was not decoded; `value` is then undefined. Other documents are unaffected. */
  readonly error: DecodeError | LimitExceededError | undefined;
}

/**
 * Parses every document of a YAML stream, each within `limits`; empty documents are left out. A
 * document over a limit carries its error and the others are decoded; text too large to parse at
 * all throws LimitExceededError.
 */
export function decodeYamlDocuments(text: string, limits: ObjectLimits): DecodedDocument[] {
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  refuseEarly(text, limits);
  const documents: DecodedDocument[] = [];
  for (const document of parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false })) {
    const line = lineOf(document.range[0]);
    if (document.contents === null && document.errors.length === 0) continue;
    const syntax = document.errors[0];
    if (syntax) {
      // The parser's message without its code frame: the frame would echo the input.
      const at = syntax.pos[0];
      const message = excerpt(syntax.message.split("\n")[0] ?? "");
      const errorLine = lineOf(at);
      documents.push({
        value: undefined,
        duplicateKeys: [],
        line,
        error: new DecodeError(message, errorLine, at - (lineStarts[errorLine - 1] as number) + 1),
      });
      continue;
    }
    try {
      const duplicateKeys = measureYaml(document, limits);
      // Bounded above, so expanding every alias is safe.
      documents.push({
        value: document.toJS({ maxAliasCount: -1 }) as unknown,
        duplicateKeys,
        line,
        error: undefined,
      });
    } catch (error) {
      if (!(error instanceof LimitExceededError || error instanceof DecodeError)) throw error;
      documents.push({ value: undefined, duplicateKeys: [], line, error });
    }
  }
  return documents;
}

/**
 * The YAML parser costs about a microsecond per byte and recurses on flow nesting, so a 3 MB
 * body would hold the event loop for seconds before the exact checks below could refuse it.
 * Structural characters bound from above what the parser will build: every value after the
 * first needs a separator (`,` or a line break), and every level of flow nesting an opening
 * bracket. Counted everywhere, quoted text included, so no quoting hides them; only text far
 * at the limits (100 unclosed brackets, more lines and commas than values allowed) is refused
 * here, and refused as a whole: no document of it is decoded.
 */
function refuseEarly(text: string, limits: ObjectLimits): void {
  let separators = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x0a) separators++;
    else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) depth = Math.max(0, depth - 1);
    if (depth > limits["object.nestingDepth"])
      throw new LimitExceededError(
        "object.nestingDepth",
        limits["object.nestingDepth"],
        "the YAML's flow nesting",
      );
  }
  if (separators > limits["object.nodes"])
    throw new LimitExceededError(
      "object.nodes",
      limits["object.nodes"],
      `the YAML text, with ${separators} commas and line breaks,`,
    );
}

interface Measure {
  readonly nodes: number;
  readonly bytes: number;
  readonly depth: number;
}

/**
 * Sizes the document as its JSON would be, counting an alias at the size of what it names
 * (memoised per anchored node, so the cost is linear in the syntax tree however far aliases
 * expand). Throws at the first limit crossed.
 */
function measureYaml(document: Document, limits: ObjectLimits): string[] {
  const duplicates: string[] = [];
  const measured = new Map<Node, Measure>();
  const inProgress = new Set<Node>();
  const check = (m: Measure, path: string): Measure => {
    if (m.nodes > limits["object.nodes"]) throw tooMany("object.nodes", limits["object.nodes"], m.nodes);
    if (m.bytes > limits["object.bytes"])
      throw new LimitExceededError(
        "object.bytes",
        limits["object.bytes"],
        "the object, aliases expanded",
        m.bytes,
      );
    if (m.depth > limits["object.nestingDepth"])
      throw new LimitExceededError(
        "object.nestingDepth",
        limits["object.nestingDepth"],
        `the object's nesting at ${path || "the top level"}`,
      );
    return m;
  };
  /** Checks `m`, a subtree measured from its own root, as placed at `depth`; returns it as is. */
  const checkAt = (m: Measure, depth: number, path: string): Measure => {
    check({ ...m, depth: m.depth + depth }, path);
    return m;
  };
  /** The subtree's measure relative to its root (depth 0 for a scalar). */
  const measure = (node: unknown, path: string, depth: number): Measure => {
    if (depth > limits["object.nestingDepth"]) return check({ nodes: 0, bytes: 0, depth }, path);
    if (isAlias(node)) {
      const target = node.resolve(document);
      if (!target)
        throw new DecodeError(
          `alias *${excerpt(node.source, 40)} at ${path || "the top level"} names no anchor`,
        );
      return measure(target, path, depth);
    }
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) return { nodes: 1, bytes: 4, depth: 0 };
    const known = measured.get(node);
    if (known) return checkAt(known, depth, path);
    if (inProgress.has(node))
      throw new DecodeError(`the alias at ${path || "the top level"} refers to itself`);
    inProgress.add(node);
    let result: Measure;
    if (isScalar(node)) {
      const text = typeof node.value === "string" ? node.value : String(node.value);
      if (text.length > limits["object.stringLength"])
        throw new LimitExceededError(
          "object.stringLength",
          limits["object.stringLength"],
          `a string at ${path || "the top level"}`,
          text.length,
        );
      result = { nodes: 1, bytes: text.length + 2, depth: 0 };
    } else {
      let nodes = 1;
      let bytes = 2;
      let deepest = 0;
      const keys = isMap(node) ? new Set<string>() : undefined;
      node.items.forEach((item: unknown, index: number) => {
        let child: Measure;
        if (isPair(item)) {
          const keyNode = isAlias(item.key) ? item.key.resolve(document) : item.key;
          const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
          if (key === undefined)
            throw new DecodeError(`a map key at ${path || "the top level"} is not a string`);
          if (key.length > limits["object.stringLength"])
            throw new LimitExceededError(
              "object.stringLength",
              limits["object.stringLength"],
              `a key at ${path}`,
              key.length,
            );
          if (keys?.has(key)) duplicates.push(joinPath(path, key));
          keys?.add(key);
          child = measure(item.value, joinPath(path, key), depth + 1);
          bytes += key.length + 3;
        } else {
          child = measure(item, joinPath(path, index), depth + 1);
        }
        nodes += child.nodes;
        bytes += child.bytes + 1;
        deepest = Math.max(deepest, child.depth + 1);
        check({ nodes, bytes, depth: deepest + depth }, path);
      });
      result = { nodes, bytes, depth: deepest };
    }
    inProgress.delete(node);
    measured.set(node, result);
    return checkAt(result, depth, path);
  };
  measure(document.contents, "", 0);
  return duplicates;
}

function tooMany(limit: "object.nodes", max: number, found?: number): LimitExceededError {
  return new LimitExceededError(limit, max, "the number of values in the object", found);
}

/** A field path as upstream writes it: `spec.ports[0].name`. */
function joinPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const part = excerpt(key, 60);
  return path === "" ? part : `${path}.${part}`;
}
