// One config file's text into object definitions. Each YAML document is decoded on its own within
// the object limits (aliases counted at their expanded size), so the parser never holds the event
// loop for more than one document, and errors name the file and line. Messages quote the file
// only through short escaped excerpts: the directory may hold anything, and its errors are
// served by an unauthenticated debug endpoint.
import { objectRef, validateResource, type Resource } from "../api/index.ts";
import {
  LimitExceededError,
  type DecodeError,
  decodeYamlDocuments,
  excerpt,
  type LimitName,
  type ObjectLimits,
} from "../limits/index.ts";
import type { ConfigError } from "./config-source.ts";

/** One definition of an object in a file; `resource` is absent when it failed validation. */
export interface Definition {
  readonly ref: string;
  readonly place: string;
  readonly resource?: Resource;
  readonly errors: readonly ConfigError[];
}

export interface FileResult {
  readonly file: string;
  readonly definitions: readonly Definition[];
  readonly errors: readonly ConfigError[];
  /** The file was not fully understood: objects it last contributed and no longer defines are kept. */
  readonly keepMissing: boolean;
}

/** Gives the event loop a turn when the current one has run long; awaited between documents. */
export type Pause = () => Promise<void>;

/** A file with more bad documents than this reports the first ones and how many more. */
const maxDocumentErrors = 20;

/**
 * Parses one file. A document that does not decode (syntax, a limit) rejects the whole file, as
 * a bad document may have swallowed its neighbours: the file's last good objects stay in force.
 * An object that decodes but does not validate is rejected alone.
 */
export async function parseConfigFile(
  file: string,
  text: string,
  limits: ObjectLimits,
  pause: Pause,
): Promise<FileResult> {
  const objects: Array<{ value: unknown; line: number; item?: number }> = [];
  const decodeErrors: ConfigError[] = [];
  const errors: ConfigError[] = [];
  let keepMissing = false;
  let bad = 0;
  const refuse = (message: string, limit?: LimitName) => {
    if (++bad <= maxDocumentErrors) decodeErrors.push(fileError(file, message, limit));
  };
  for (const chunk of documentsOf(text)) {
    await pause();
    // The parser takes about a microsecond a byte and cannot be interrupted: a document far
    // larger than any object it could hold is refused unparsed.
    if (chunk.text.length > 2 * limits["object.bytes"]) {
      const error = new LimitExceededError(
        "object.bytes",
        limits["object.bytes"],
        `the document at line ${chunk.contentLine}, whose YAML text may be at most twice the object's size,`,
        chunk.text.length,
      );
      refuse(error.message, error.limit);
      continue;
    }
    let documents;
    try {
      documents = decodeYamlDocuments(chunk.text, limits);
    } catch (error) {
      if (!(error instanceof LimitExceededError)) throw error;
      refuse(`the document at line ${chunk.contentLine}: ${error.message}`, error.limit);
      continue;
    }
    documents.forEach((document, i) => {
      const line = i === 0 ? chunk.contentLine : chunk.line + document.line - 1;
      const { error, duplicateKeys } = document;
      if (error instanceof LimitExceededError) {
        refuse(`the document at line ${line}: ${error.message}`, error.limit);
      } else if (error) {
        refuse(syntaxMessage(error, chunk.line, line));
      } else if (duplicateKeys.length > 0) {
        const keys = duplicateKeys.slice(0, 5).join(", ");
        refuse(`YAML syntax error in the document at line ${line}: keys given more than once: ${keys}`);
      } else if (bad === 0) {
        const value = document.value;
        if (value === null || value === undefined) return; // empty document
        if (!isRecord(value) || value.kind !== "List") {
          objects.push({ value, line });
        } else if (Array.isArray(value.items)) {
          value.items.forEach((item: unknown, index) => objects.push({ value: item, line, item: index }));
        } else {
          const message = `document at line ${line}: kind List needs an items array`;
          errors.push({ file, object: "", field: "items", message });
          keepMissing = true;
        }
      }
    });
  }
  if (bad > maxDocumentErrors) {
    decodeErrors.push(fileError(file, `${bad - maxDocumentErrors} more documents with errors`));
  }
  if (bad > 0) return { file, definitions: [], errors: decodeErrors, keepMissing: true };

  const definitions: Definition[] = [];
  for (const [index, { value, line, item }] of objects.entries()) {
    if (index % 256 === 255) await pause();
    const at = item === undefined ? `line ${line}` : `line ${line}, items[${item}]`;
    const place = item === undefined ? `${file}:${line}` : `${file}:${line} items[${item}]`;
    const result = validateResource(value);
    if (result.ok) {
      const ref = objectRef(result.resource.kind, result.resource.metadata);
      definitions.push({ ref, place, resource: result.resource, errors: [] });
      continue;
    }
    const meta = isRecord(value) && isRecord(value.metadata) ? value.metadata : {};
    const namespace = typeof meta.namespace === "string" ? meta.namespace : "default";
    const ref = objectRef(result.kind, { name: result.name, namespace });
    const identified = result.kind !== "?" && result.name !== "?";
    const fieldErrors = result.errors.map((e) => ({
      file,
      object: excerpt(ref, 200),
      field: excerpt(e.field, 200),
      message: excerpt(identified ? e.message : `document at ${at}: ${e.message}`, 400),
    }));
    if (identified) {
      definitions.push({ ref, place, errors: fieldErrors });
    } else {
      // Without a name we cannot tell which object this was meant to be; removing none is safest.
      errors.push(...fieldErrors);
      keepMissing = true;
    }
  }
  return { file, definitions, errors, keepMissing };
}

/** A file none of whose objects are taken, with why; `keepMissing` keeps its last good objects. */
export function broken(
  file: string,
  messages: readonly string[],
  keepMissing: boolean,
  limit?: LimitName,
): FileResult {
  return { file, definitions: [], errors: messages.map((m) => fileError(file, m, limit)), keepMissing };
}

function fileError(file: string, message: string, limit?: LimitName): ConfigError {
  return { file, object: "", field: "", message, ...(limit ? { limit } : {}) };
}

/** The parser's reason and position; decode.ts already left out its code frame (the input). */
function syntaxMessage(error: DecodeError, chunkLine: number, documentLine: number): string {
  if (error.line === undefined)
    return `invalid YAML in the document at line ${documentLine}: ${error.message}`;
  const column = error.column === undefined ? "" : `, column ${error.column}`;
  return `YAML syntax error at line ${chunkLine + error.line - 1}${column}: ${error.message}`;
}

interface Chunk {
  readonly text: string;
  /** 1-based line of the file where the chunk starts. */
  readonly line: number;
  /** 1-based line of the file where its first document's content starts. */
  readonly contentLine: number;
}

// A line starting with `---` and then a blank or its end is a document marker wherever it
// stands, inside block scalars and quoted text too (YAML 1.2, c-forbidden), so cutting the
// text before each one splits it into its documents exactly.
const documentMarker = /^---(?=[ \t\r\n]|$)/gm;

/** The file's text cut into one chunk per document marker, with line numbers. */
export function* documentsOf(text: string): Generator<Chunk> {
  let start = 0;
  let line = 1;
  const chunk = (end: number): Chunk => {
    const piece = text.slice(start, end);
    return { text: piece, line, contentLine: line + contentOffset(piece) };
  };
  for (const match of text.matchAll(documentMarker)) {
    if (match.index === 0) continue;
    yield chunk(match.index);
    line += countLines(text, start, match.index);
    start = match.index;
  }
  if (start < text.length) yield chunk(text.length);
}

/** Lines before the first one with content: blanks, comments, directives, the marker itself. */
function contentOffset(chunk: string): number {
  let offset = 0;
  for (let at = 0; at < chunk.length; offset++) {
    const end = chunk.indexOf("\n", at);
    let body = chunk.slice(at, end < 0 ? chunk.length : end).trim();
    if (offset === 0 && body.startsWith("---")) body = body.slice(3).trim();
    if (body !== "" && !body.startsWith("#") && !body.startsWith("%")) return offset;
    if (end < 0) break;
    at = end + 1;
  }
  return 0;
}

function countLines(text: string, from: number, to: number): number {
  let lines = 0;
  for (let i = text.indexOf("\n", from); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) lines++;
  return lines;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
