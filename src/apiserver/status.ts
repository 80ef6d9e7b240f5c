// Status objects for every non-2xx reply, with the codes, reasons and messages of
// apimachinery pkg/api/errors/errors.go (spec-notes §1.6). Handlers throw ApiError; the server
// turns it into a Status body. StoreErrors and validation results are mapped here.
import { isStoreError, type StoreError } from "../store/index.ts";
import type { FieldError } from "../api/index.ts";
import { DecodeError, LimitExceededError, excerpt, limitSpecs } from "../limits/index.ts";
import { qualifiedKind, qualifiedPlural, type ResourceDef } from "./resources.ts";

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Invalid"
  | "Expired"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "RequestEntityTooLarge"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout";

/** Field error types of apimachinery util/validation/field/errors.go. */
export type CauseType =
  | "FieldValueNotFound"
  | "FieldValueRequired"
  | "FieldValueDuplicate"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid"
  | "FieldManagerConflict"
  | "InternalError";

export interface StatusCause {
  /** Serialised as `reason`, as metav1.StatusCause does. */
  readonly reason: CauseType;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface Status {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Success" | "Failure";
  readonly message?: string;
  readonly reason?: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }
}

export function successStatus(details: StatusDetails): Status {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details, code: 200 };
}

export const badRequest = (message: string): ApiError => new ApiError(400, "BadRequest", message);

/**
 * A name from the request as echoed in messages: whole when it could be valid (a DNS subdomain
 * is at most 253 characters), an excerpt otherwise.
 */
export const shownName = (name: string): string => excerpt(name, 253);

/**
 * An input refused by a limit: 413 RequestEntityTooLarge for sizes (and the JSON patch's operation
 * count, as upstream), 400 BadRequest for the shape of an object (nesting, values, string
 * lengths), as upstream's decoder refuses what it cannot decode. The message names the limit.
 */
export function refusal(error: LimitExceededError): ApiError {
  const tooLarge = limitSpecs[error.limit].unit === "bytes" || error.limit === "api.patchOperations";
  return tooLarge
    ? new ApiError(413, "RequestEntityTooLarge", error.message, {}, error)
    : new ApiError(400, "BadRequest", error.message, undefined, error);
}

export const pathNotFound = (): ApiError =>
  new ApiError(404, "NotFound", "the server could not find the requested resource", {});

export function notFound(def: ResourceDef, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedPlural(def)} "${shownName(name)}" not found`, {
    name: shownName(name),
    group: def.group,
    kind: def.plural,
  });
}

export function alreadyExists(def: ResourceDef, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualifiedPlural(def)} "${shownName(name)}" already exists`, {
    name: shownName(name),
    group: def.group,
    kind: def.plural,
  });
}

export function methodNotAllowed(method: string, what: string): ApiError {
  return new ApiError(405, "MethodNotAllowed", `${method} is not supported on ${what}`, {});
}

export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

/** Causes listed in an Invalid message, and returned in its details, at most; the rest are counted. */
const maxMessageCauses = 20;
const maxDetailCauses = 100;

/**
 * NewInvalid: `Kind.group "name" is invalid: <field>: <body>` or `[a, b]` for several. The causes
 * echo the request's values, so each is an excerpt and their number is bounded.
 */
export function invalid(def: ResourceDef, name: string, causes: readonly StatusCause[]): ApiError {
  return invalidNamed(qualifiedKind(def), def.group, def.kind, name, causes);
}

export function invalidNamed(
  qualified: string,
  group: string,
  kind: string,
  name: string,
  causes: readonly StatusCause[],
): ApiError {
  const shown = causes.slice(0, maxDetailCauses).map((c) => ({
    ...c,
    message: excerpt(c.message, 512),
    ...(c.field === undefined ? {} : { field: excerpt(c.field, 256) }),
  }));
  const lines = shown
    .slice(0, maxMessageCauses)
    .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  if (causes.length > maxMessageCauses) lines.push(`and ${causes.length - maxMessageCauses} more`);
  const summary = lines.length === 1 ? (lines[0] as string) : `[${lines.join(", ")}]`;
  return new ApiError(422, "Invalid", `${qualified} "${shownName(name)}" is invalid: ${summary}`, {
    name: shownName(name),
    group,
    kind,
    causes: shown,
  });
}

/** Malformed list/watch options: Invalid on `ListOptions.meta.k8s.io` as upstream validation says. */
export function invalidListOptions(field: string, message: string): ApiError {
  return invalidNamed("ListOptions.meta.k8s.io", "meta.k8s.io", "ListOptions", "", [
    { reason: "FieldValueForbidden", field, message: `Forbidden: ${message}` },
  ]);
}

export function expired(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

/** How Go's field.Error prints a value: strings quoted, numbers and booleans bare. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(excerpt(value));
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  return Array.isArray(value) ? '"array"' : '"object"';
}

/** Looks up `spec.rules[0].matches` / `metadata.labels[a.b/c]` in an object; undefined if absent. */
export function valueAt(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const match of path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    const key = match[1] ?? match[2] ?? "";
    if (typeof current !== "object" || current === null) return undefined;
    current =
      Array.isArray(current) && /^\d+$/.test(key)
        ? current[Number(key)]
        : (current as Record<string, unknown>)[key];
  }
  return current;
}

const unknownFieldMessage = /^unknown field/;

export function isUnknownField(error: FieldError): boolean {
  return unknownFieldMessage.test(error.message);
}

/**
 * One validateResource error as a StatusCause with upstream ErrorBody wording:
 * `Required value`, `Unsupported value: "x": supported values: ...`, `Invalid value: 3: ...`.
 */
export function causeFromFieldError(error: FieldError, object: unknown): StatusCause {
  const field = error.field;
  const value = field === "" ? undefined : valueAt(object, field);
  const shown = value === undefined ? "" : `${formatValue(value)}: `;
  if (error.message === "required field is missing") {
    return { reason: "FieldValueRequired", field, message: "Required value" };
  }
  if (isUnknownField(error)) {
    return { reason: "FieldValueForbidden", field, message: `Forbidden: ${error.message}` };
  }
  const oneOf = /^must be one of (.*)$/.exec(error.message);
  if (oneOf) {
    return {
      reason: "FieldValueNotSupported",
      field,
      message: `Unsupported value: ${shown}supported values: ${oneOf[1] ?? ""}`,
    };
  }
  return { reason: "FieldValueInvalid", field, message: `Invalid value: ${shown}${error.message}` };
}

const maxStoreMessage = 1024;

/** A cause from a store message that starts with the upstream ErrorBody prefix. */
function causeFromStore(field: string, message: string): StatusCause {
  const reason: CauseType = message.startsWith("Required value")
    ? "FieldValueRequired"
    : message.startsWith("Forbidden")
      ? "FieldValueForbidden"
      : message.startsWith("Unsupported value")
        ? "FieldValueNotSupported"
        : "FieldValueInvalid";
  return { reason, field, message };
}

/**
 * The Status a store failure becomes. Store messages quote names and selectors from the request,
 * so they are echoed as excerpts.
 */
export function fromStoreError(error: StoreError, def: ResourceDef): ApiError {
  const details = {
    name: shownName(error.details.name ?? ""),
    group: def.group,
    kind: def.plural,
  };
  const message = excerpt(error.message, maxStoreMessage);
  switch (error.code) {
    case "NotFound":
      return new ApiError(404, "NotFound", message, details);
    case "AlreadyExists":
      return new ApiError(409, "AlreadyExists", message, details);
    case "Conflict":
      return new ApiError(409, "Conflict", message, details);
    case "Expired":
      return expired(message);
    case "Invalid": {
      // The store reports malformed requests (selectors, options) as Invalid without causes.
      const causes = error.details.causes;
      if (causes === undefined) return badRequest(message);
      return invalid(
        def,
        error.details.name ?? "",
        causes.map((c) => causeFromStore(c.field, c.message)),
      );
    }
    case "Unavailable":
      return serviceUnavailable(error);
  }
}

/**
 * 503 with the store's own words (e.g. "etcd has no quorum: ...; writes are refused; reads serve
 * the last known state"), as kubectl prints them. No Retry-After header: client-go would retry
 * silently up to ten times, while the caller should learn at once that writes are refused.
 */
function serviceUnavailable(error: StoreError): ApiError {
  return new ApiError(503, "ServiceUnavailable", error.message, { retryAfterSeconds: 1 });
}

/** Any failure as an ApiError: typed errors keep their meaning, the rest become 500 InternalError. */
export function toApiError(error: unknown, def?: ResourceDef): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof LimitExceededError) return refusal(error);
  if (error instanceof DecodeError) return badRequest(error.message);
  if (isStoreError(error) && def !== undefined) return fromStoreError(error, def);
  if (isStoreError(error) && error.code === "Invalid") return badRequest(error.message);
  if (isStoreError(error) && error.code === "Expired") return expired(error.message);
  if (isStoreError(error) && error.code === "Unavailable") return serviceUnavailable(error);
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ reason: "InternalError", message }],
  });
}
