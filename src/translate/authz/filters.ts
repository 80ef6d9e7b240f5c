// The RBAC HTTP filters that enforce a port's AuthorizationPolicies, in Istio's order: a DENY
// filter (any matching DENY rule refuses the request), then an ALLOW filter (present only when
// some ALLOW policy applies; the request must match one of its rules, so an ALLOW policy without
// rules denies everything). AUDIT becomes a LOG filter on Envoy, placed first so that requests
// the others refuse are audited too. Proxyless gRPC servers get no LOG filter: gRFC A41 ignores
// LOG and grpc-js-xds 1.14 NACKs it (rbac.ts parseConfig), so it is reported instead. Filters
// are never optional: a gRPC server without RBAC support (GRPC_XDS_EXPERIMENTAL_RBAC unset) must
// refuse the listener rather than serve without authorization.
import { create } from "@bufbuild/protobuf";
import { RBAC_Action, type Policy } from "../../gen/envoy/config/rbac/v3/rbac_pb.js";
import { RBACSchema } from "../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import {
  HttpFilterSchema,
  type HttpFilter,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type {
  AuthorizationAction,
  DataPlaneFlavour,
  MeshAuthorizationPolicy,
  MeshIssue,
  PortSecurity,
} from "../../mesh/index.ts";
import { packAny } from "../proto.ts";
import { translatePolicy } from "./rbac.ts";

/** HTTP filter names (unique per connection manager, gRFC A39). */
export const rbacFilterNames = {
  AUDIT: "meshplane.authz.audit",
  DENY: "meshplane.authz.deny",
  ALLOW: "meshplane.authz.allow",
} as const satisfies Record<AuthorizationAction, string>;

const actions: Record<AuthorizationAction, RBAC_Action> = {
  AUDIT: RBAC_Action.LOG,
  DENY: RBAC_Action.DENY,
  ALLOW: RBAC_Action.ALLOW,
};

export interface AuthorizationFilters {
  /** To run before the router, in this order. */
  readonly filters: readonly HttpFilter[];
  /** What this flavour cannot enforce as written, and how it was made to fail closed. */
  readonly issues: readonly MeshIssue[];
}

export interface AuthorizationOptions {
  readonly flavour: DataPlaneFlavour;
  /** For namespace conditions: peers' SPIFFE IDs are `spiffe://<trustDomain>/ns/…`. */
  readonly trustDomain: string;
}

export function authorizationFilters(
  security: Pick<PortSecurity, "authorization">,
  options: AuthorizationOptions,
): AuthorizationFilters {
  const { flavour, trustDomain } = options;
  const issues: MeshIssue[] = [];
  const filters: HttpFilter[] = [];
  for (const action of ["AUDIT", "DENY", "ALLOW"] as const) {
    const applying = security.authorization.filter((p) => p.action === action);
    if (applying.length === 0) continue;
    if (action === "AUDIT" && flavour === "grpc") {
      issues.push(...applying.map(auditIssue));
      continue;
    }
    const policies: (readonly [string, Policy])[] = [];
    for (const policy of applying) {
      const translated = translatePolicy(policy, flavour, trustDomain);
      policies.push(...translated.policies);
      issues.push(...translated.issues);
    }
    // No DENY or AUDIT rule that can match: the filter would do nothing. ALLOW stays (deny all).
    if (policies.length === 0 && action !== "ALLOW") continue;
    filters.push(rbacFilter(action, policies));
  }
  return { filters, issues };
}

function rbacFilter(
  action: AuthorizationAction,
  policies: readonly (readonly [string, Policy])[],
): HttpFilter {
  // `rules` is always set: Envoy reads no rules as "allow everything", grpc-js-xds NACKs it.
  const config = create(RBACSchema, {
    rules: { action: actions[action], policies: Object.fromEntries(policies) },
  });
  return create(HttpFilterSchema, {
    name: rbacFilterNames[action],
    configType: { case: "typedConfig", value: packAny(RBACSchema, config) },
  });
}

function auditIssue(policy: MeshAuthorizationPolicy): MeshIssue {
  return {
    object: policy.source,
    field: "spec.action",
    reason: "UnsupportedValue",
    message:
      "proxyless gRPC servers cannot audit (gRFC A41 ignores RBAC LOG; grpc-js-xds 1.14 rejects it): the policy is not sent to them",
    flavour: "grpc",
  };
}
