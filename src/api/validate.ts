// Validation of untrusted objects into typed resources. Every problem is reported with the field
// path in Kubernetes notation (spec.rules[0].backendRefs[1].weight) and what to do about it; all
// problems of an object are collected, not just the first.
import { isIPv6 } from "node:net";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { TSchema } from "@sinclair/typebox";
import { EndpointSlice, Service, serviceNameLabel } from "./core.ts";
import { GRPCRoute, HTTPRoute } from "./routes.ts";
import { FaultInjection, TrafficPolicy, meshplaneApiVersion } from "./policies.ts";
import { gvkKey, type GroupVersionKind } from "./meta.ts";
import type { FieldError } from "./field-error.ts";
import { grpcRuleErrors, httpRuleErrors, parentRefErrors } from "./validate-routes.ts";
import { faultInjectionErrors, trafficPolicyErrors } from "./validate-policies.ts";
import { Rollout } from "./rollout.ts";
import { rolloutErrors } from "./validate-rollout.ts";
import { AuthorizationPolicy, PeerAuthentication, RequestAuthentication } from "./security.ts";
import {
  authorizationPolicyErrors,
  peerAuthenticationErrors,
  requestAuthenticationErrors,
} from "./validate-security.ts";

export type { FieldError } from "./field-error.ts";

export type Resource =
  | Service
  | EndpointSlice
  | HTTPRoute
  | GRPCRoute
  | TrafficPolicy
  | FaultInjection
  | Rollout
  | PeerAuthentication
  | AuthorizationPolicy
  | RequestAuthentication;
export type ResourceKind = Resource["kind"];

export type ValidationResult =
  | { readonly ok: true; readonly resource: Resource }
  | {
      readonly ok: false;
      readonly kind: string;
      readonly name: string;
      readonly errors: readonly FieldError[];
    };

const schemas: ReadonlyArray<readonly [GroupVersionKind, TSchema]> = [
  [{ apiVersion: "v1", kind: "Service" }, Service],
  [{ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice" }, EndpointSlice],
  [{ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute" }, HTTPRoute],
  [{ apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "HTTPRoute" }, HTTPRoute],
  [{ apiVersion: "gateway.networking.k8s.io/v1", kind: "GRPCRoute" }, GRPCRoute],
  [{ apiVersion: meshplaneApiVersion, kind: "TrafficPolicy" }, TrafficPolicy],
  [{ apiVersion: meshplaneApiVersion, kind: "FaultInjection" }, FaultInjection],
  [{ apiVersion: meshplaneApiVersion, kind: "Rollout" }, Rollout],
  [{ apiVersion: meshplaneApiVersion, kind: "PeerAuthentication" }, PeerAuthentication],
  [{ apiVersion: meshplaneApiVersion, kind: "AuthorizationPolicy" }, AuthorizationPolicy],
  [{ apiVersion: meshplaneApiVersion, kind: "RequestAuthentication" }, RequestAuthentication],
];

export const supportedKinds: readonly GroupVersionKind[] = schemas.map(([gvk]) => gvk);

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>(
  schemas.map(([gvk, schema]) => [gvkKey(gvk), ajv.compile(schema)]),
);

export function validateResource(input: unknown): ValidationResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return failure("?", "?", [
      { field: "", message: "expected a mapping with apiVersion, kind and metadata" },
    ]);
  }
  const object = input as Record<string, unknown>;
  const kind = typeof object.kind === "string" ? object.kind : "?";
  const metadata = object.metadata as { name?: unknown } | undefined;
  const name = typeof metadata?.name === "string" ? metadata.name : "?";
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
    return failure(kind, name, [{ field: "", message: "apiVersion and kind are required strings" }]);
  }
  const validator = validators.get(gvkKey({ apiVersion: object.apiVersion, kind: object.kind }));
  if (!validator) {
    const known = supportedKinds.map((k) => `${k.apiVersion} ${k.kind}`).join(", ");
    return failure(kind, name, [
      { field: "kind", message: `unsupported kind ${object.apiVersion}/${object.kind}; supported: ${known}` },
    ]);
  }
  const reference = object.apiVersion === meshplaneApiVersion ? meshplaneReference : gatewayReference;
  if (!validator(object)) {
    return failure(kind, name, collapse((validator.errors ?? []).map((e) => toFieldError(e, reference))));
  }
  const resource = withDefaults(object as unknown as Resource);
  const semantic = semanticErrors(resource);
  return semantic.length > 0 ? failure(kind, name, semantic) : { ok: true, resource };
}

function failure(kind: string, name: string, errors: FieldError[]): ValidationResult {
  return { ok: false, kind, name, errors };
}

/** `/spec/rules/0/backendRefs/1` → `spec.rules[0].backendRefs[1]` */
export function toFieldPath(instancePath: string): string {
  return instancePath
    .split("/")
    .filter(Boolean)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

const gatewayReference = "the Gateway API v1 reference";
const meshplaneReference = "kubectl explain";

function toFieldError(error: ErrorObject, reference: string): FieldError {
  const field = toFieldPath(error.instancePath);
  const at = (child: string) => (field ? `${field}.${child}` : child);
  switch (error.keyword) {
    case "required":
      return { field: at(String(error.params.missingProperty)), message: "required field is missing" };
    case "additionalProperties":
      return {
        field: at(String(error.params.additionalProperty)),
        message: `unknown field; check its spelling against ${reference}`,
      };
    case "const":
      return { field, message: `must be ${JSON.stringify(error.params.allowedValue)}` };
    case "pattern":
      return { field, message: `must match ${String(error.params.pattern)}` };
    default:
      return { field, message: error.message ?? error.keyword };
  }
}

/**
 * A union of literals fails with one `const` error per alternative plus an `anyOf` error; report
 * one line per field that lists the allowed values instead.
 */
function collapse(errors: FieldError[]): FieldError[] {
  const byField = new Map<string, FieldError[]>();
  for (const error of errors) byField.set(error.field, [...(byField.get(error.field) ?? []), error]);
  const result: FieldError[] = [];
  for (const [field, list] of byField) {
    const allowed = list.filter((e) => e.message.startsWith("must be ")).map((e) => e.message.slice(8));
    if (allowed.length > 1) {
      result.push({ field, message: `must be one of ${allowed.join(", ")}` });
    } else {
      result.push(...list.filter((e) => !e.message.startsWith("must match a schema in anyOf")));
    }
  }
  return result;
}

function withDefaults<R extends Resource>(resource: R): R {
  const copy = structuredClone(resource);
  copy.metadata.namespace ??= "default";
  return copy;
}

function semanticErrors(resource: Resource): FieldError[] {
  switch (resource.kind) {
    case "Service":
      return [];
    case "EndpointSlice":
      return [
        ...(resource.metadata.labels?.[serviceNameLabel]
          ? []
          : [
              {
                field: `metadata.labels[${serviceNameLabel}]`,
                message: "required: name the Service this slice belongs to",
              },
            ]),
        ...endpointAddressErrors(resource),
      ];
    case "HTTPRoute":
      return [...parentRefErrors(resource), ...httpRuleErrors(resource)];
    case "GRPCRoute":
      return [...parentRefErrors(resource), ...grpcRuleErrors(resource)];
    case "TrafficPolicy":
      return trafficPolicyErrors(resource);
    case "FaultInjection":
      return faultInjectionErrors(resource);
    case "Rollout":
      return rolloutErrors(resource);
    case "PeerAuthentication":
      return peerAuthenticationErrors(resource);
    case "AuthorizationPolicy":
      return authorizationPolicyErrors(resource);
    case "RequestAuthentication":
      return requestAuthenticationErrors(resource);
  }
}

/**
 * Addresses must match the slice's addressType. IPv4 follows Kubernetes' legacy parser, which
 * accepts leading zeros ("010.0.0.1") for compatibility; some gRPC clients reject such addresses,
 * which then shows as a NACK rather than being silently rewritten here.
 */
function endpointAddressErrors(slice: EndpointSlice): FieldError[] {
  if (slice.addressType === "FQDN") return [];
  const valid = slice.addressType === "IPv4" ? isLegacyIPv4 : isIPv6;
  return slice.endpoints.flatMap((endpoint, e) =>
    endpoint.addresses.flatMap((address, a) =>
      valid(address)
        ? []
        : [
            {
              field: `endpoints[${e}].addresses[${a}]`,
              message: `"${address}" is not a valid ${slice.addressType} address`,
            },
          ],
    ),
  );
}

function isLegacyIPv4(address: string): boolean {
  const parts = address.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
