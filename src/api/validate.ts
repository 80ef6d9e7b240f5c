// Validation of untrusted objects into typed resources. Every problem is reported with the field
// path in Kubernetes notation (spec.rules[0].backendRefs[1].weight) and what to do about it; all
// problems of an object are collected, not just the first.
import { isIPv6 } from "node:net";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { TSchema } from "@sinclair/typebox";
import { EndpointSlice, Service, serviceNameLabel } from "./core.ts";
import { GRPCRoute, HTTPRoute } from "./routes.ts";
import { gvkKey, type GroupVersionKind } from "./meta.ts";

export type Resource = Service | EndpointSlice | HTTPRoute | GRPCRoute;
export type ResourceKind = Resource["kind"];

export interface FieldError {
  /** Path in Kubernetes notation; "" for the object as a whole. */
  readonly field: string;
  readonly message: string;
}

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
  if (!validator(object)) return failure(kind, name, collapse((validator.errors ?? []).map(toFieldError)));
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

function toFieldError(error: ErrorObject): FieldError {
  const field = toFieldPath(error.instancePath);
  const at = (child: string) => (field ? `${field}.${child}` : child);
  switch (error.keyword) {
    case "required":
      return { field: at(String(error.params.missingProperty)), message: "required field is missing" };
    case "additionalProperties":
      return {
        field: at(String(error.params.additionalProperty)),
        message: "unknown field; check its spelling against the Gateway API v1 reference",
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

function parentRefErrors(route: HTTPRoute | GRPCRoute): FieldError[] {
  return route.spec.parentRefs.flatMap((ref, i) => {
    const isService = (ref.group === "" || ref.group === "core") && ref.kind === "Service";
    return isService
      ? []
      : [
          {
            field: `spec.parentRefs[${i}]`,
            message:
              'meshplane routes attach to Services (GAMMA): set group: "" and kind: Service ' +
              "(an omitted group defaults to gateway.networking.k8s.io and kind to Gateway)",
          },
        ];
  });
}

function httpRuleErrors(route: HTTPRoute): FieldError[] {
  const errors: FieldError[] = [];
  route.spec.rules?.forEach((rule, r) =>
    rule.matches?.forEach((match, m) => {
      const path = match.path;
      if (
        path?.value !== undefined &&
        (path.type ?? "PathPrefix") !== "RegularExpression" &&
        !path.value.startsWith("/")
      ) {
        errors.push({ field: `spec.rules[${r}].matches[${m}].path.value`, message: 'must start with "/"' });
      }
      if (path?.type === "RegularExpression") {
        const problem = regexProblem(path.value ?? "");
        if (problem) errors.push({ field: `spec.rules[${r}].matches[${m}].path.value`, message: problem });
      }
    }),
  );
  return errors;
}

// Gateway API GRPCRoute validation (grpcroute_types.go): an Exact service is a dotted identifier,
// an Exact method a plain identifier.
const exactService = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const exactMethod = /^[A-Za-z_][A-Za-z_0-9]*$/;

function grpcRuleErrors(route: GRPCRoute): FieldError[] {
  const errors: FieldError[] = [];
  route.spec.rules?.forEach((rule, r) =>
    rule.matches?.forEach((match, m) => {
      const method = match.method;
      if (!method) return;
      const field = `spec.rules[${r}].matches[${m}].method`;
      if (method.service === undefined && method.method === undefined) {
        errors.push({ field, message: "set service, method or both" });
      }
      if ((method.type ?? "Exact") === "Exact") {
        if (method.service !== undefined && !exactService.test(method.service)) {
          errors.push({
            field: `${field}.service`,
            message: "must be a dotted proto name such as helloworld.Greeter",
          });
        }
        if (method.method !== undefined && !exactMethod.test(method.method)) {
          errors.push({ field: `${field}.method`, message: "must be a proto method name such as SayHello" });
        }
      } else {
        for (const key of ["service", "method"] as const) {
          const problem = method[key] === undefined ? undefined : regexProblem(method[key]);
          if (problem) errors.push({ field: `${field}.${key}`, message: problem });
        }
      }
    }),
  );
  return errors;
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `not a valid regular expression: ${(error as Error).message}`;
  }
}
