// Typed store errors with stable codes; messages use the wording of the Kubernetes API server
// (apimachinery/pkg/api/errors/errors.go) so the API layer can pass them through in a Status.
import type { ResourceType } from "./types.ts";

export type StoreErrorCode =
  "NotFound" | "AlreadyExists" | "Conflict" | "Expired" | "Invalid" | "Unavailable";

export interface FieldCause {
  /** Path in Kubernetes notation, e.g. `metadata.labels`. */
  readonly field: string;
  readonly message: string;
}

export interface StoreErrorDetails {
  readonly group?: string;
  readonly resource?: string;
  readonly name?: string;
  readonly causes?: readonly FieldCause[];
}

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly details: StoreErrorDetails;

  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "StoreError";
    this.code = code;
    this.details = details;
  }
}

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

/** `services` for the core group, `httproutes.gateway.networking.k8s.io` otherwise. */
export function qualifiedResource(type: ResourceType): string {
  return type.group === "" ? type.resource : `${type.resource}.${type.group}`;
}

function ident(type: ResourceType, name: string): StoreErrorDetails {
  return { group: type.group, resource: type.resource, name };
}

export function notFound(type: ResourceType, name: string): StoreError {
  return new StoreError("NotFound", `${qualifiedResource(type)} "${name}" not found`, ident(type, name));
}

export function alreadyExists(type: ResourceType, name: string): StoreError {
  return new StoreError(
    "AlreadyExists",
    `${qualifiedResource(type)} "${name}" already exists`,
    ident(type, name),
  );
}

/** `OptimisticLockErrorMsg` of the generic registry. */
export const optimisticLockMessage =
  "the object has been modified; please apply your changes to the latest version and try again";

export function conflict(type: ResourceType, name: string, reason = optimisticLockMessage): StoreError {
  return new StoreError(
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ${reason}`,
    ident(type, name),
  );
}

/** A watch (or continue token) older than the retained history: the client must relist. */
export function expired(requested: string, oldest?: number): StoreError {
  const suffix = oldest === undefined ? "" : ` (${oldest})`;
  return new StoreError("Expired", `too old resource version: ${requested}${suffix}`);
}

export function continueExpired(): StoreError {
  return new StoreError(
    "Expired",
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
  );
}

export function invalid(type: ResourceType, name: string, causes: readonly FieldCause[]): StoreError {
  const what = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(", ");
  return new StoreError("Invalid", `${qualifiedResource(type)} "${name}" is invalid: ${what}`, {
    ...ident(type, name),
    causes,
  });
}

/** A malformed request that is not about one object: selectors, options, tokens. */
export function badRequest(message: string): StoreError {
  return new StoreError("Invalid", message);
}

/**
 * Why a store cannot serve a request, when the backend can tell: etcd without a leader (NoQuorum),
 * no answer within the request bound (Timeout), or no member reachable at all (Unreachable).
 */
export type UnavailableReason = "NoQuorum" | "Timeout" | "Unreachable";

/** The store cannot serve now; retrying later may succeed. Code `Unavailable`. */
export class StoreUnavailableError extends StoreError {
  readonly reason: UnavailableReason | undefined;

  constructor(message: string, reason?: UnavailableReason, cause?: unknown) {
    super("Unavailable", message, {}, cause);
    this.name = "StoreUnavailableError";
    this.reason = reason;
  }
}

export function unavailable(
  message: string,
  cause?: unknown,
  reason?: UnavailableReason,
): StoreUnavailableError {
  return new StoreUnavailableError(message, reason, cause);
}
