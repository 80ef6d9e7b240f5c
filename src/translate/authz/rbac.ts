// One AuthorizationPolicy as Envoy RBAC policies: one `Policy` per rule, named after the object
// and the rule's index so a denial names what denied it. Within a rule, sources are OR'ed into
// `principals` and operations into `permissions`; a source or operation ANDs its fields, each
// field ORs its values, and a `not…` field is `not_id` / `not_rule` over the OR (Istio's
// pilot/pkg/security/authz/model). What a data plane cannot evaluate fails closed, as Istio
// does: an ALLOW rule that needs it is dropped (it allows less), a DENY rule loses the condition
// (it denies more); either way an issue says so.
import { create } from "@bufbuild/protobuf";
import {
  PermissionSchema,
  PolicySchema,
  PrincipalSchema,
  type Permission,
  type Policy,
  type Principal,
} from "../../gen/envoy/config/rbac/v3/rbac_pb.js";
import { MetadataMatcherSchema } from "../../gen/envoy/type/matcher/v3/metadata_pb.js";
import type {
  AuthorizationOperation,
  AuthorizationSource,
  DataPlaneFlavour,
  MeshAuthorizationPolicy,
  MeshIssue,
  StringPattern,
} from "../../mesh/index.ts";
import {
  cidrRange,
  exactHeader,
  headerMatcher,
  namespacePrincipal,
  patternKind,
  stringMatcher,
} from "./matchers.ts";
// Where Envoy's jwt_authn filter leaves a validated token's claims: request principals
// (`<iss>/<sub>`) are matched against `iss` and `sub` there.
import { jwtPayloadMetadata } from "../envoy/jwt.ts";

export interface PolicyTranslation {
  /** Envoy policy name → policy, in rule order. */
  readonly policies: readonly (readonly [string, Policy])[];
  readonly issues: readonly MeshIssue[];
}

/** The RBAC policy name of rule `index` of `source` (`AuthorizationPolicy ns/name`). */
function rbacPolicyName(source: string, index: number): string {
  return `${source} rules[${index}]`;
}

/** A condition this data plane cannot evaluate: the field's path and why. */
class Unsupported {
  readonly field: string;
  readonly why: string;
  constructor(field: string, why: string) {
    this.field = field;
    this.why = why;
  }
}

interface Context {
  readonly flavour: DataPlaneFlavour;
  readonly trustDomain: string;
  readonly deny: boolean;
  readonly unsupported: Unsupported[];
}

export function translatePolicy(
  policy: MeshAuthorizationPolicy,
  flavour: DataPlaneFlavour,
  trustDomain: string,
): PolicyTranslation {
  const policies: [string, Policy][] = [];
  const issues: MeshIssue[] = [];
  const deny = policy.action === "DENY";
  policy.rules.forEach((rule, r) => {
    const context: Context = { flavour, trustDomain, deny, unsupported: [] };
    const principals = rule.from.map((source, s) =>
      sourcePrincipal(source, `spec.rules[${r}].from[${s}].source`, context),
    );
    const permissions = rule.to.map((operation, o) =>
      operationPermission(operation, `spec.rules[${r}].to[${o}].operation`, context),
    );
    for (const u of context.unsupported) {
      issues.push({
        object: policy.source,
        field: u.field,
        reason: "UnsupportedValue",
        message: `${u.why}; ${deny ? "the DENY rule is applied without this condition (it denies more)" : "the ALLOW rule is left out (it allows nothing)"}`,
        ...(flavour === "grpc" && { flavour }),
      });
    }
    if (!deny && context.unsupported.length > 0) return;
    policies.push([
      rbacPolicyName(policy.source, r),
      create(PolicySchema, {
        principals: principals.length > 0 ? principals : [anyPrincipal()],
        permissions: permissions.length > 0 ? permissions : [anyPermission()],
      }),
    ]);
  });
  return { policies, issues };
}

function sourcePrincipal(source: AuthorizationSource, at: string, context: Context): Principal {
  const { trustDomain } = context;
  const authenticated = (name: ReturnType<typeof stringMatcher>) =>
    create(PrincipalSchema, { identifier: { case: "authenticated", value: { principalName: name } } });
  const conditions: (Principal | undefined)[] = [
    field(source.principals, (p) => authenticated(stringMatcher(p))),
    not(field(source.notPrincipals, (p) => authenticated(stringMatcher(p)))),
    field(source.namespaces, (ns) => authenticated(namespacePrincipal(trustDomain, ns))),
    not(field(source.notNamespaces, (ns) => authenticated(namespacePrincipal(trustDomain, ns)))),
    guarded(context, `${at}.ipBlocks`, () => field(source.ipBlocks, remoteIp)),
    not(guarded(context, `${at}.notIpBlocks`, () => field(source.notIpBlocks, remoteIp))),
    requestPrincipals(source.requestPrincipals, `${at}.requestPrincipals`, context),
    not(requestPrincipals(source.notRequestPrincipals, `${at}.notRequestPrincipals`, context)),
  ];
  return andIds(conditions.filter((c) => c !== undefined));

  function field(values: readonly string[], one: (value: string) => Principal): Principal | undefined {
    return values.length === 0 ? undefined : orIds(values.map(one));
  }
}

function operationPermission(operation: AuthorizationOperation, at: string, context: Context): Permission {
  const rules = (values: readonly (string | number)[], one: (value: never) => Permission) =>
    values.length === 0 ? undefined : orRules(values.map((v) => one(v as never)));
  const urlPath = (p: string) =>
    create(PermissionSchema, {
      rule: { case: "urlPath", value: { rule: { case: "path", value: stringMatcher(p) } } },
    });
  const method = (m: string) =>
    create(PermissionSchema, { rule: { case: "header", value: exactHeader(":method", m) } });
  const port = (p: number) => create(PermissionSchema, { rule: { case: "destinationPort", value: p } });
  const conditions: (Permission | undefined)[] = [
    rules(operation.paths, urlPath),
    notRule(rules(operation.notPaths, urlPath)),
    rules(operation.methods, method),
    notRule(rules(operation.notMethods, method)),
    rules(operation.ports, port),
    notRule(rules(operation.notPorts, port)),
    ...operation.headers.map((header, h) =>
      guarded(context, `${at}.headers[${h}]`, () => {
        const refused = refusedHeader(header.name, context.flavour);
        if (refused) throw new Unsupported(`${at}.headers[${h}]`, refused);
        return orRules(
          header.values.map((v) =>
            create(PermissionSchema, { rule: { case: "header", value: headerMatcher(header.name, v) } }),
          ),
        );
      }),
    ),
  ];
  const set = conditions.filter((c) => c !== undefined);
  if (set.length === 0) return anyPermission();
  return set.length === 1
    ? (set[0] as Permission)
    : create(PermissionSchema, { rule: { case: "andRules", value: { rules: set } } });
}

/** gRFC A41: a header matcher on `grpc-…` or `:scheme` fails validation (the listener is NACKed). */
function refusedHeader(name: string, flavour: DataPlaneFlavour): string | undefined {
  if (flavour !== "grpc") return undefined;
  if (name.startsWith("grpc-") || name === ":scheme") {
    return `proxyless gRPC servers reject RBAC header matchers on ${name} (gRFC A41)`;
  }
  return undefined;
}

/**
 * `<iss>/<sub>` patterns against the claims jwt_authn stored. The principal is split at its last
 * `/` (issuers are URLs, subjects rarely contain one). Proxyless gRPC has no JWT authentication
 * and its RBAC metadata matcher never matches (gRFC A41).
 */
function requestPrincipals(
  values: readonly StringPattern[],
  at: string,
  context: Context,
): Principal | undefined {
  if (values.length === 0) return undefined;
  if (context.flavour === "grpc") {
    context.unsupported.push(
      new Unsupported(
        at,
        "proxyless gRPC servers cannot authenticate end users (no JWT filter; gRFC A41 metadata never matches)",
      ),
    );
    return undefined;
  }
  return orIds(values.map(requestPrincipal));
}

function requestPrincipal(pattern: StringPattern): Principal {
  const claim = (name: "iss" | "sub", value: StringPattern) =>
    create(PrincipalSchema, {
      identifier: {
        case: "metadata",
        value: create(MetadataMatcherSchema, {
          filter: jwtPayloadMetadata.filter,
          path: [
            { segment: { case: "key", value: jwtPayloadMetadata.key } },
            { segment: { case: "key", value: name } },
          ],
          value: { matchPattern: { case: "stringMatch", value: stringMatcher(value) } },
        }),
      },
    });
  const p = patternKind(pattern);
  if (p.kind === "any") return claim("iss", "*");
  const slash = p.value.lastIndexOf("/");
  if (p.kind === "exact") {
    return andIds([claim("iss", p.value.slice(0, slash)), claim("sub", p.value.slice(slash + 1))]);
  }
  if (slash < 0) return p.kind === "prefix" ? claim("iss", `${p.value}*`) : claim("sub", `*${p.value}`);
  const [iss, sub] = [p.value.slice(0, slash), p.value.slice(slash + 1)];
  return p.kind === "prefix"
    ? andIds([claim("iss", iss), ...(sub === "" ? [] : [claim("sub", `${sub}*`)])])
    : andIds([claim("iss", `*${iss}`), claim("sub", sub)]);
}

/** Runs `build`; a value it cannot express becomes an unsupported condition (left out). */
function guarded<T>(context: Context, at: string, build: () => T): T | undefined {
  try {
    return build();
  } catch (error) {
    if (error instanceof Unsupported) context.unsupported.push(error);
    else if (error instanceof RangeError) context.unsupported.push(new Unsupported(at, error.message));
    else throw error;
    return undefined;
  }
}

function remoteIp(block: string): Principal {
  return create(PrincipalSchema, { identifier: { case: "directRemoteIp", value: cidrRange(block) } });
}

function anyPrincipal(): Principal {
  return create(PrincipalSchema, { identifier: { case: "any", value: true } });
}

function anyPermission(): Permission {
  return create(PermissionSchema, { rule: { case: "any", value: true } });
}

function orIds(ids: Principal[]): Principal {
  return ids.length === 1
    ? (ids[0] as Principal)
    : create(PrincipalSchema, { identifier: { case: "orIds", value: { ids } } });
}

function andIds(ids: Principal[]): Principal {
  if (ids.length === 0) return anyPrincipal();
  return ids.length === 1
    ? (ids[0] as Principal)
    : create(PrincipalSchema, { identifier: { case: "andIds", value: { ids } } });
}

function not(id: Principal | undefined): Principal | undefined {
  return id && create(PrincipalSchema, { identifier: { case: "notId", value: id } });
}

function orRules(rules: Permission[]): Permission {
  return rules.length === 1
    ? (rules[0] as Permission)
    : create(PermissionSchema, { rule: { case: "orRules", value: { rules } } });
}

function notRule(rule: Permission | undefined): Permission | undefined {
  return rule && create(PermissionSchema, { rule: { case: "notRule", value: rule } });
}
