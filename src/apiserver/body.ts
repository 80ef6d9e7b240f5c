// Request bodies: the media types a write may carry (checked from the headers, before a byte of
// the body is read), reading within `api.bodyBytes`, and decoding within the object limits
// (strict UTF-8; depth, values, string lengths and size measured before the object exists; YAML
// aliases counted at their expanded size; duplicate keys reported for fieldValidation).
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import {
  DecodeError,
  LimitExceededError,
  checkObjectLimits,
  decodeJson,
  decodeUtf8,
  decodeYaml,
  type Decoded,
  type ObjectLimits,
} from "../limits/index.ts";
import { decodeProtobuf, protobufMediaType } from "./protobuf.ts";
import { patchMediaTypes } from "./resources.ts";
import { ApiError, badRequest } from "./status.ts";

const jsonMediaTypes: ReadonlySet<string> = new Set([
  "application/json",
  patchMediaTypes.json,
  patchMediaTypes.merge,
  patchMediaTypes.strategic,
]);
const yamlMediaTypes: ReadonlySet<string> = new Set([
  "application/yaml",
  "application/x-yaml",
  "text/yaml",
  patchMediaTypes.apply,
]);

/** The media type of Content-Type without parameters, lower-case. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Whether the request announces a body (a non-zero Content-Length, or chunked). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** 415 in upstream's words (`negotiation.NewUnsupportedMediaTypeError`). */
export function unsupportedMediaType(accepted: readonly string[]): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    {},
  );
}

/**
 * The body of a create or update must say it is JSON, YAML or protobuf, and a DeleteOptions body
 * JSON or YAML. Without this a web page could send a body a browser sends anywhere without asking
 * (`text/plain`, no Content-Type) and have it read as JSON.
 */
export function requireObjectMediaType(
  contentType: string | undefined,
  what: "object" | "DeleteOptions",
): void {
  const type = mediaType(contentType);
  const accepted =
    what === "object"
      ? ["application/json", "application/yaml", protobufMediaType]
      : ["application/json", "application/yaml"];
  const ok =
    type === "application/json" ||
    (yamlMediaTypes.has(type) && type !== patchMediaTypes.apply) ||
    (what === "object" && type === protobufMediaType);
  if (!ok) throw unsupportedMediaType(accepted);
}

/**
 * Reads the body, at most `maxBytes` of it; a larger one is refused with LimitExceededError (413).
 * A body up to twice the limit is read to its end and dropped before the refusal, so a client that
 * writes all of it before reading (most do) gets the reply and can go on using the connection. A
 * larger one is refused as soon as it is announced or seen; the reply then closes the connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  const drainBytes = 2 * maxBytes;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      // Whatever still arrives is dropped, never buffered.
      req.resume();
      reject(bodyTooLarge(maxBytes, declared > maxBytes ? declared : undefined));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0;
      if (size > drainBytes) refuse();
    };
    const onEnd = () => (size > maxBytes ? refuse() : resolve(Buffer.concat(chunks, size)));
    if (declared > drainBytes) {
      refuse();
      return;
    }
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}

function bodyTooLarge(max: number, found?: number): LimitExceededError {
  return new LimitExceededError("api.bodyBytes", max, "the request body", found);
}

/** What a body is decoded as, for messages: an object (create, update), a patch, DeleteOptions. */
export type BodyRole = "object" | "patch" | "DeleteOptions";

/**
 * Decodes a JSON, YAML or protobuf body within `limits`. Syntax errors are 400 (quoting at most
 * an excerpt of the body); limits throw LimitExceededError; other media types 415.
 */
export function decodeBody(
  bytes: Buffer,
  contentType: string | undefined,
  limits: ObjectLimits,
  role: BodyRole,
): Decoded {
  const type = mediaType(contentType);
  if (type === protobufMediaType && role === "object") {
    const value = decodeProtobuf(bytes);
    checkObjectLimits(value, limits, "the object");
    return { value, duplicateKeys: [] };
  }
  const json = jsonMediaTypes.has(type);
  if (!json && !yamlMediaTypes.has(type))
    throw unsupportedMediaType(["application/json", "application/yaml"]);
  try {
    const text = decodeUtf8(bytes, "the request body");
    if (text.trim() === "") {
      if (role === "patch") throw new DecodeError("the patch is empty");
      throw badRequest(`the request body is empty: expected a JSON ${role}`);
    }
    return json ? decodeJson(text, limits) : decodeYamlOrJson(text, limits);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    const prefix =
      role === "patch"
        ? "error decoding patch"
        : json
          ? "couldn't get version/kind; json parse error"
          : "error decoding YAML";
    throw badRequest(`${prefix}: ${error.message}`);
  }
}

/**
 * YAML, read as JSON when it is JSON (what kubectl sends, even for apply): the JSON scanner costs
 * far less per byte than the YAML parser, as upstream's yaml.ToJSON short-cut does.
 */
function decodeYamlOrJson(text: string, limits: ObjectLimits): Decoded {
  if (/^\s*[{[]/.test(text)) {
    try {
      return decodeJson(text, limits);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
    }
  }
  const { value, duplicateKeys } = decodeYaml(text, limits);
  return { value, duplicateKeys };
}
