// Route rule filters in the model's form, with the Gateway API rules on combining them (spec-notes
// 3.7). A filter that cannot be honoured must not be skipped: the rule stays, its filters are
// replaced by a 100% abort and the problem is reported, so the failure is loud while every other
// rule keeps working.
import { meshplaneGroup, type HTTPRouteFilter } from "../api/index.ts";
import { resolveBackend } from "./backends.ts";
import { failingFault, failureConsequence } from "./faults.ts";
import type {
  HeaderModifier,
  MeshFault,
  MeshIssue,
  MeshService,
  PathModifier,
  RouteFilter,
  RouteKind,
  RouteMatch,
} from "./model.ts";
import { proxylessFilterIssue } from "./proxyless.ts";

export interface FilterScope {
  readonly kind: RouteKind;
  /** `Kind namespace/name` of the route. */
  readonly ref: string;
  readonly namespace: string;
  readonly services: ReadonlyMap<string, MeshService>;
  /** FaultInjection objects by `namespace/name`. */
  readonly faults: ReadonlyMap<string, MeshFault>;
  readonly issues: MeshIssue[];
  /** Issues that concern proxyless gRPC callers only. */
  readonly proxyless: MeshIssue[];
}

/** The parts of an HTTPRoute or GRPCRoute rule filters depend on (GRPCRoute filters are a subset). */
export interface FilteredRule {
  readonly filters?: readonly HTTPRouteFilter[];
  readonly backendRefs?: readonly { readonly filters?: readonly HTTPRouteFilter[] }[];
}

type Fail = (field: string, reason: string, message: string) => void;

/** Filter types a rule may carry more than once (HTTPRouteRule.filters). */
const repeatable = new Set<string>(["RequestMirror", "ExtensionRef"]);

export function ruleFilters(
  rule: FilteredRule,
  field: string,
  matches: readonly RouteMatch[],
  scope: FilterScope,
): RouteFilter[] {
  reportBackendFilters(rule, field, scope);
  const failures: { field: string; reason: string; message: string }[] = [];
  const fail: Fail = (at, reason, message) => failures.push({ field: at, reason, message });
  const converted: { filter: RouteFilter; field: string }[] = [];
  const firstOfType = new Map<string, number>();
  rule.filters?.forEach((filter, i) => {
    const at = `${field}.filters[${i}]`;
    const first = firstOfType.get(filter.type);
    if (first !== undefined && !repeatable.has(filter.type)) {
      fail(
        at,
        "IncompatibleFilters",
        `${filter.type} is already set at filters[${first}]; merge the two (only RequestMirror and ExtensionRef may repeat in a rule)`,
      );
      return;
    }
    if (first === undefined) firstOfType.set(filter.type, i);
    const result = toRouteFilter(filter, at, matches, scope, fail);
    if (result) converted.push({ filter: result, field: at });
  });
  const redirect = firstOfType.get("RequestRedirect");
  const rewrite = firstOfType.get("URLRewrite");
  if (redirect !== undefined && (rule.backendRefs?.length ?? 0) > 0) {
    fail(
      `${field}.filters[${redirect}]`,
      "IncompatibleFilters",
      "a RequestRedirect answers the request itself, so the rule must have no backendRefs; remove the backendRefs or the redirect",
    );
  }
  if (redirect !== undefined && rewrite !== undefined) {
    fail(
      `${field}.filters[${Math.max(redirect, rewrite)}]`,
      "IncompatibleFilters",
      "RequestRedirect and URLRewrite cannot be combined in one rule; keep one of them",
    );
  }
  if (failures.length > 0) {
    for (const failure of failures) {
      scope.issues.push({
        object: scope.ref,
        ...failure,
        message: `${failure.message}; ${failureConsequence(scope.kind)}`,
      });
    }
    return [{ type: "Fault", fault: failingFault(scope.ref, scope.kind) }];
  }
  for (const { filter, field: at } of converted) {
    const issue = proxylessFilterIssue(scope.ref, at, filter);
    if (issue) scope.proxyless.push(issue);
  }
  return converted.map((c) => c.filter);
}

function toRouteFilter(
  filter: HTTPRouteFilter,
  at: string,
  matches: readonly RouteMatch[],
  scope: FilterScope,
  fail: Fail,
): RouteFilter | undefined {
  // Validation guarantees each type's configuration field; an object that skipped it fails loudly.
  const missing = (key: string) => {
    fail(`${at}.${key}`, "UnsupportedValue", `required when type is ${filter.type}`);
    return undefined;
  };
  switch (filter.type) {
    case "RequestHeaderModifier":
      return filter.requestHeaderModifier
        ? { type: filter.type, modifier: headerModifier(filter.requestHeaderModifier) }
        : missing("requestHeaderModifier");
    case "ResponseHeaderModifier":
      return filter.responseHeaderModifier
        ? { type: filter.type, modifier: headerModifier(filter.responseHeaderModifier) }
        : missing("responseHeaderModifier");
    case "RequestMirror":
      return filter.requestMirror
        ? mirrorFilter(filter.requestMirror, `${at}.requestMirror`, scope)
        : missing("requestMirror");
    case "URLRewrite": {
      const rewrite = filter.urlRewrite;
      if (!rewrite) return missing("urlRewrite");
      const path = rewrite.path && pathModifier(rewrite.path, `${at}.urlRewrite.path`, matches, fail);
      if (rewrite.path && !path) return undefined;
      return { type: "URLRewrite", hostname: rewrite.hostname, path };
    }
    case "RequestRedirect": {
      const redirect = filter.requestRedirect;
      if (!redirect) return missing("requestRedirect");
      const path = redirect.path && pathModifier(redirect.path, `${at}.requestRedirect.path`, matches, fail);
      if (redirect.path && !path) return undefined;
      return {
        type: "RequestRedirect",
        scheme: redirect.scheme,
        hostname: redirect.hostname,
        path,
        port: redirect.port,
        // HTTPRequestRedirectFilter.statusCode defaults to 302.
        statusCode: redirect.statusCode ?? 302,
      };
    }
    case "ExtensionRef": {
      const ref = filter.extensionRef;
      if (!ref) return missing("extensionRef");
      if (ref.group !== meshplaneGroup || ref.kind !== "FaultInjection") {
        fail(
          `${at}.extensionRef`,
          "InvalidKind",
          `kind ${ref.kind} of group "${ref.group}" is not a filter meshplane knows; use group: ${meshplaneGroup}, kind: FaultInjection`,
        );
        return undefined;
      }
      const fault = scope.faults.get(`${scope.namespace}/${ref.name}`);
      if (!fault) {
        fail(
          `${at}.extensionRef`,
          "BackendNotFound",
          `FaultInjection ${scope.namespace}/${ref.name} does not exist; create it in the route's namespace or remove this filter`,
        );
        return undefined;
      }
      return { type: "Fault", fault };
    }
  }
}

/** Header names are case-insensitive; the model carries them lower-case. */
function headerModifier(modifier: NonNullable<HTTPRouteFilter["requestHeaderModifier"]>): HeaderModifier {
  const lower = (h: { name: string; value: string }) => ({ name: h.name.toLowerCase(), value: h.value });
  return {
    set: (modifier.set ?? []).map(lower),
    add: (modifier.add ?? []).map(lower),
    remove: (modifier.remove ?? []).map((name) => name.toLowerCase()),
  };
}

/** A mirror to an invalid backend is skipped: mirrored traffic never affects the caller's request. */
function mirrorFilter(
  mirror: NonNullable<HTTPRouteFilter["requestMirror"]>,
  at: string,
  scope: FilterScope,
): RouteFilter | undefined {
  const { backend, reason } = resolveBackend(
    mirror.backendRef,
    `${at}.backendRef`,
    scope.namespace,
    scope.services,
  );
  if (reason) {
    scope.issues.push({
      object: scope.ref,
      field: `${at}.backendRef`,
      reason,
      message: `${backend.invalid}; the mirror is skipped until this is fixed`,
    });
    return undefined;
  }
  const fraction = mirror.fraction;
  const percent =
    mirror.percent ?? (fraction ? (fraction.numerator / (fraction.denominator ?? 100)) * 100 : 100);
  return { type: "RequestMirror", backend, percent };
}

/** ReplacePrefixMatch replaces the matched prefix, so the rule must have exactly one PathPrefix match. */
function pathModifier(
  path: NonNullable<NonNullable<HTTPRouteFilter["urlRewrite"]>["path"]>,
  at: string,
  matches: readonly RouteMatch[],
  fail: Fail,
): PathModifier | undefined {
  if (path.type === "ReplaceFullPath") return { type: path.type, value: path.replaceFullPath ?? "" };
  if (matches.length !== 1 || matches[0]?.path.type !== "Prefix") {
    fail(
      at,
      "UnsupportedValue",
      "ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix; use ReplaceFullPath or split the rule",
    );
    return undefined;
  }
  return { type: path.type, value: path.replacePrefixMatch ?? "" };
}

function reportBackendFilters(rule: FilteredRule, field: string, scope: FilterScope): void {
  rule.backendRefs?.forEach((backend, b) => {
    if (!backend.filters?.length) return;
    scope.issues.push({
      object: scope.ref,
      field: `${field}.backendRefs[${b}].filters`,
      reason: "UnsupportedValue",
      message:
        "filters on a single backend are not supported and are ignored; move them to the rule's filters, where they apply to every backend",
    });
  });
}
