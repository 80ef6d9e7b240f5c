// Route rules the schema cannot express (Gateway API CEL rules on the CRDs): parentRefs that name a
// Service, well-formed paths and method matches, and filters whose configuration matches their type.
// Rules about combining filters in one rule are reported by the mesh build instead, as status.
import { duplicateErrors, regexProblem, type FieldError } from "./field-error.ts";
import type { GRPCRoute, HTTPRoute, HTTPRouteFilter } from "./routes.ts";

export function parentRefErrors(route: HTTPRoute | GRPCRoute): FieldError[] {
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

export function httpRuleErrors(route: HTTPRoute): FieldError[] {
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
  return [...errors, ...routeFilterErrors(route)];
}

// Gateway API GRPCRoute validation (grpcroute_types.go): an Exact service is a dotted identifier,
// an Exact method a plain identifier.
const exactService = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const exactMethod = /^[A-Za-z_][A-Za-z_0-9]*$/;

export function grpcRuleErrors(route: GRPCRoute): FieldError[] {
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
  return [...errors, ...routeFilterErrors(route)];
}

/** The configuration field each filter type reads (HTTPRouteFilter CEL rules). */
const filterFields = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  ExtensionRef: "extensionRef",
} as const;

/** Rule filters and backend filters; GRPCRoute filters are a subset of HTTPRoute's. */
function routeFilterErrors(route: HTTPRoute | GRPCRoute): FieldError[] {
  const errors: FieldError[] = [];
  route.spec.rules?.forEach((rule, r) => {
    const at = `spec.rules[${r}]`;
    rule.filters?.forEach((filter, f) => errors.push(...filterErrors(filter, `${at}.filters[${f}]`)));
    rule.backendRefs?.forEach((backend, b) =>
      backend.filters?.forEach((filter, f) =>
        errors.push(...filterErrors(filter, `${at}.backendRefs[${b}].filters[${f}]`)),
      ),
    );
  });
  return errors;
}

function filterErrors(filter: HTTPRouteFilter, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const own = filterFields[filter.type];
  for (const [type, key] of Object.entries(filterFields)) {
    const present = filter[key] !== undefined;
    if (key === own && !present) {
      errors.push({ field: `${field}.${key}`, message: `required when type is ${type}` });
    } else if (key !== own && present) {
      errors.push({
        field: `${field}.${key}`,
        message: `must be unset when type is ${filter.type}; put it in a filter of its own with type: ${type}`,
      });
    }
  }
  for (const key of ["requestHeaderModifier", "responseHeaderModifier"] as const) {
    const modifier = filter[key];
    if (!modifier) continue;
    for (const list of ["set", "add"] as const) {
      errors.push(
        ...duplicateErrors(
          modifier[list],
          (h) => h.name.toLowerCase(),
          (i) => `${field}.${key}.${list}[${i}].name`,
          "header name",
          " (header names are case-insensitive)",
        ),
      );
    }
    errors.push(
      ...duplicateErrors(
        modifier.remove,
        (name) => name.toLowerCase(),
        (i) => `${field}.${key}.remove[${i}]`,
        "header name",
        " (header names are case-insensitive)",
      ),
    );
  }
  const mirror = filter.requestMirror;
  if (mirror?.percent !== undefined && mirror.fraction !== undefined) {
    errors.push({ field: `${field}.requestMirror`, message: "set percent or fraction, not both" });
  }
  if (mirror?.fraction && mirror.fraction.numerator > (mirror.fraction.denominator ?? 100)) {
    errors.push({
      field: `${field}.requestMirror.fraction.numerator`,
      message: "must not exceed the denominator (default 100)",
    });
  }
  if (filter.requestRedirect?.path) {
    errors.push(...pathModifierErrors(filter.requestRedirect.path, `${field}.requestRedirect.path`));
  }
  if (filter.urlRewrite?.path) {
    errors.push(...pathModifierErrors(filter.urlRewrite.path, `${field}.urlRewrite.path`));
  }
  return errors;
}

function pathModifierErrors(
  path: {
    type: "ReplaceFullPath" | "ReplacePrefixMatch";
    replaceFullPath?: string;
    replacePrefixMatch?: string;
  },
  field: string,
): FieldError[] {
  const own = path.type === "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
  const other = own === "replaceFullPath" ? "replacePrefixMatch" : "replaceFullPath";
  const errors: FieldError[] = [];
  if (path[own] === undefined) {
    errors.push({ field: `${field}.${own}`, message: `required when type is ${path.type}` });
  }
  if (path[other] !== undefined) {
    errors.push({ field: `${field}.${other}`, message: `must be unset when type is ${path.type}` });
  }
  return errors;
}
