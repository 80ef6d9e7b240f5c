// Authorization on the server side of a request: the RBAC HTTP filters of the server's inbound
// connection manager, evaluated in order the way the data plane does (Envoy's RBAC filter; for
// proxyless servers gRFC A41 as grpc-js-xds 1.14 implements it), saying which policy decided and
// which condition held or failed. It reads the filters meshplane generates, not the mesh model,
// so what is simulated is what is sent.
import { BlockList, isIP } from "node:net";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { CidrRange } from "../../gen/envoy/config/core/v3/address_pb.js";
import {
  RBAC_Action,
  type Permission,
  type Policy,
  type Principal,
} from "../../gen/envoy/config/rbac/v3/rbac_pb.js";
import { RBACSchema } from "../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import type { HttpFilter } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { MetadataMatcher } from "../../gen/envoy/type/matcher/v3/metadata_pb.js";
import { jwtPayloadMetadata } from "../envoy/jwt.ts";
import { typeUrlOf } from "../proto.ts";
import { headerCheck, stringMatcherTest, type Check } from "./matchers.ts";
import type { ObservedRequest, SimulationFlavour } from "./types.ts";

const rbacTypeUrl = typeUrlOf(RBACSchema);
const PERMISSION_DENIED = 7;

/** What the server sees of one request. */
export interface AuthorizationRequest {
  /** The caller's SPIFFE ID (its certificate's URI SAN); undefined: plaintext, no certificate. */
  readonly peer: string | undefined;
  /** The direct peer's address; undefined: unknown, so address conditions cannot hold. */
  readonly sourceIp: string | undefined;
  /** The server's port the request arrived on. */
  readonly destinationPort: number;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** Headers or metadata, names lower-case. */
  readonly headers: readonly (readonly [string, string])[];
  /** Envoy: the validated JWT's claims (`iss`, `sub`) that jwt_authn put in metadata. */
  readonly jwtClaims?: Readonly<Record<string, string>> | undefined;
}

export interface PolicyEvaluation {
  /** The RBAC policy name: `AuthorizationPolicy ns/name rules[i]` for meshplane's. */
  readonly name: string;
  readonly matched: boolean;
  /** What held (matched) or the first thing that failed. */
  readonly reason: string;
}

export interface RbacFilterEvaluation {
  readonly filter: string;
  readonly action: "ALLOW" | "DENY" | "LOG";
  /** allowed: passed on; denied: refused here; logged: marked for the access log; skipped: no effect. */
  readonly result: "allowed" | "denied" | "logged" | "skipped";
  /** The policy that decided (DENY/LOG: the matching one; ALLOW: the one that allowed). */
  readonly decidedBy: string | undefined;
  readonly policies: readonly PolicyEvaluation[];
  readonly note: string | undefined;
}

export interface AuthorizationReport {
  readonly decision: "allowed" | "denied";
  /** Every RBAC filter up to the one that denied. */
  readonly filters: readonly RbacFilterEvaluation[];
  /** What the caller sees when denied. */
  readonly grpcStatus: number | undefined;
  readonly httpStatus: number | undefined;
  /** Filters the data plane rejects (NACK): the server then keeps its previous listener. */
  readonly rejected: readonly string[];
  readonly notes: readonly string[];
}

export function simulateAuthorization(
  httpFilters: readonly HttpFilter[],
  request: AuthorizationRequest,
  flavour: SimulationFlavour,
): AuthorizationReport {
  const filters: RbacFilterEvaluation[] = [];
  const rejected: string[] = [];
  const notes = new Set<string>();
  const observed: ObservedRequest = {
    target: request.authority,
    authority: request.authority,
    method: request.method,
    path: request.path,
    query: undefined,
    headers: [
      [":method", request.method],
      [":authority", request.authority],
      [":path", request.path],
      ...request.headers,
    ],
  };
  const context: Context = { request, observed, flavour, notes };
  for (const filter of httpFilters) {
    const any = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
    if (any?.typeUrl !== rbacTypeUrl) continue;
    const rules = anyUnpack(any, RBACSchema)?.rules;
    if (!rules) {
      if (flavour === "grpc") rejected.push(`${filter.name}: RBAC without rules (grpc-js-xds 1.14 NACKs it)`);
      filters.push(skipped(filter.name, "ALLOW", "no rules: the filter enforces nothing"));
      continue;
    }
    const action =
      rules.action === RBAC_Action.DENY ? "DENY" : rules.action === RBAC_Action.LOG ? "LOG" : "ALLOW";
    if (action === "LOG" && flavour === "grpc") {
      rejected.push(`${filter.name}: action LOG (gRFC A41 ignores it; grpc-js-xds 1.14 NACKs it)`);
      filters.push(skipped(filter.name, action, "LOG is not applied by proxyless gRPC servers"));
      continue;
    }
    const policies = Object.entries(rules.policies).map(([name, policy]) =>
      evaluatePolicy(name, policy, context),
    );
    const matched = policies.find((p) => p.matched);
    const result =
      action === "LOG"
        ? matched
          ? "logged"
          : "allowed"
        : (action === "DENY") === (matched !== undefined)
          ? "denied"
          : "allowed";
    filters.push({
      filter: filter.name,
      action,
      result,
      decidedBy: matched?.name,
      policies,
      note: action === "ALLOW" && !matched ? "no policy of this ALLOW filter matches" : undefined,
    });
    if (result === "denied") {
      return {
        decision: "denied",
        filters,
        grpcStatus: PERMISSION_DENIED,
        httpStatus: flavour === "envoy" ? 403 : undefined,
        rejected,
        notes: [...notes],
      };
    }
  }
  return {
    decision: "allowed",
    filters,
    grpcStatus: undefined,
    httpStatus: undefined,
    rejected,
    notes: [...notes],
  };
}

interface Context {
  readonly request: AuthorizationRequest;
  readonly observed: ObservedRequest;
  readonly flavour: SimulationFlavour;
  readonly notes: Set<string>;
}

function skipped(filter: string, action: RbacFilterEvaluation["action"], note: string): RbacFilterEvaluation {
  return { filter, action, result: "skipped", decidedBy: undefined, policies: [], note };
}

/** A policy matches when some principal and some permission match. */
function evaluatePolicy(name: string, policy: Policy, context: Context): PolicyEvaluation {
  if (policy.condition || policy.checkedCondition) {
    return { name, matched: false, reason: "CEL conditions are not simulated (proxyless gRPC rejects them)" };
  }
  const principal = any(
    policy.principals.map((p) => principalCheck(p, context)),
    "principals",
  );
  if (!principal.ok) return { name, matched: false, reason: principal.text };
  const permission = any(
    policy.permissions.map((p) => permissionCheck(p, context)),
    "permissions",
  );
  if (!permission.ok) return { name, matched: false, reason: permission.text };
  return { name, matched: true, reason: `${principal.text}; ${permission.text}` };
}

function any(checks: readonly Check[], what: string): Check {
  const held = checks.find((c) => c.ok);
  if (held) return held;
  if (checks.length === 1) return checks[0] as Check;
  return {
    ok: false,
    text: checks.length === 0 ? `no ${what}` : `none of: ${checks.map((c) => c.text).join(" | ")}`,
  };
}

function all(checks: readonly Check[]): Check {
  const failed = checks.find((c) => !c.ok);
  return failed ?? { ok: true, text: checks.map((c) => c.text).join(" and ") };
}

function not(check: Check): Check {
  return { ok: !check.ok, text: `not (${check.text})` };
}

function principalCheck(principal: Principal, context: Context): Check {
  const id = principal.identifier;
  switch (id.case) {
    case "andIds":
      return all(id.value.ids.map((p) => principalCheck(p, context)));
    case "orIds":
      return any(
        id.value.ids.map((p) => principalCheck(p, context)),
        "ids",
      );
    case "notId":
      return not(principalCheck(id.value, context));
    case "any":
      return { ok: true, text: "any caller" };
    case "authenticated":
      return authenticatedCheck(id.value.principalName, context.request.peer);
    case "directRemoteIp":
    case "remoteIp":
    case "sourceIp":
      return addressCheck("source", id.value, context.request.sourceIp, context);
    case "header":
      return headerOf(id.value, context);
    case "urlPath":
      return pathOf(id.value.rule.case === "path" ? id.value.rule.value : undefined, context);
    case "metadata":
      return metadataCheck(id.value, context);
    default:
      context.notes.add(`principal ${id.case ?? "(empty)"} is not simulated: it is taken as not matching`);
      return { ok: false, text: `${id.case ?? "empty principal"} (not simulated)` };
  }
}

function permissionCheck(permission: Permission, context: Context): Check {
  const rule = permission.rule;
  switch (rule.case) {
    case "andRules":
      return all(rule.value.rules.map((p) => permissionCheck(p, context)));
    case "orRules":
      return any(
        rule.value.rules.map((p) => permissionCheck(p, context)),
        "rules",
      );
    case "notRule":
      return not(permissionCheck(rule.value, context));
    case "any":
      return { ok: true, text: "any request" };
    case "header":
      return headerOf(rule.value, context);
    case "urlPath":
      return pathOf(rule.value.rule.case === "path" ? rule.value.rule.value : undefined, context);
    case "destinationPort": {
      const ok = context.request.destinationPort === rule.value;
      return { ok, text: `port ${context.request.destinationPort} ${ok ? "is" : "is not"} ${rule.value}` };
    }
    case "metadata":
      return metadataCheck(rule.value, context);
    default:
      context.notes.add(`permission ${rule.case ?? "(empty)"} is not simulated: it is taken as not matching`);
      return { ok: false, text: `${rule.case ?? "empty permission"} (not simulated)` };
  }
}

/**
 * The peer's URI SAN against the principal name; no name: any TLS peer. Without a certificate
 * the name compared is "" (gRFC A41; Envoy has no principal either, and a plaintext request
 * matches only a matcher that accepts the empty string).
 */
function authenticatedCheck(
  name: Parameters<typeof stringMatcherTest>[0] | undefined,
  peer: string | undefined,
): Check {
  if (!name)
    return { ok: peer !== undefined, text: peer === undefined ? "no mTLS peer" : `mTLS peer ${peer}` };
  const test = stringMatcherTest(name);
  const ok = test.test(peer ?? "");
  const who = peer === undefined ? "a caller without certificate" : `peer ${peer}`;
  return {
    ok,
    text: `${who} ${ok ? "matches" : "does not match"} principal ${test.describe}`,
    problem: test.problem,
  };
}

function addressCheck(which: string, range: CidrRange, address: string | undefined, context: Context): Check {
  const cidr = `${range.addressPrefix}/${range.prefixLen ?? 0}`;
  if (address === undefined) {
    context.notes.add("the source address is not known (give --source-ip): address conditions do not hold");
    return { ok: false, text: `${which} address unknown (wants ${cidr})` };
  }
  const family = isIP(range.addressPrefix);
  let ok = family !== 0 && family === isIP(address);
  if (ok) {
    const list = new BlockList();
    const type = family === 4 ? "ipv4" : "ipv6";
    list.addSubnet(range.addressPrefix, range.prefixLen ?? 0, type);
    ok = list.check(address, type);
  }
  return { ok, text: `${which} ${address} ${ok ? "is in" : "is not in"} ${cidr}` };
}

/** A proxyless server adds :method, :authority and :path to the metadata it matches (rbac-filter.ts). */
function headerOf(matcher: Parameters<typeof headerCheck>[0], context: Context): Check {
  const pseudo = matcher.name.startsWith(":");
  return headerCheck(matcher, context.observed, pseudo ? "envoy" : context.flavour);
}

function pathOf(matcher: Parameters<typeof stringMatcherTest>[0] | undefined, context: Context): Check {
  if (!matcher) return { ok: false, text: "a path matcher without a string match (not simulated)" };
  const test = stringMatcherTest(matcher);
  const ok = test.test(context.request.path);
  return {
    ok,
    text: `path ${context.request.path} ${ok ? "matches" : "does not match"} ${test.describe}`,
    problem: test.problem,
  };
}

/**
 * Proxyless: never matches (gRFC A41). Envoy: the claims jwt_authn stored under its filter's
 * metadata (`payload_in_metadata`), given as the request's JWT claims.
 */
function metadataCheck(matcher: MetadataMatcher, context: Context): Check {
  const path = matcher.path.map((s) => (s.segment.case === "key" ? s.segment.value : "?")).join(".");
  if (context.flavour === "grpc")
    return { ok: false, text: `metadata ${path} (never matches on proxyless gRPC, gRFC A41)` };
  const [key, claim] = matcher.path;
  const stored =
    matcher.filter === jwtPayloadMetadata.filter &&
    matcher.path.length === 2 &&
    key?.segment.case === "key" &&
    key.segment.value === jwtPayloadMetadata.key;
  if (!stored) {
    context.notes.add(`metadata of ${matcher.filter} is not simulated: it is taken as not matching`);
    return { ok: false, text: `metadata ${matcher.filter} ${path} (not simulated)` };
  }
  const claims = context.request.jwtClaims;
  const value = claim?.segment.case === "key" && claims ? claims[claim.segment.value] : undefined;
  const wanted = matcher.value?.matchPattern;
  if (value === undefined)
    return { ok: matcher.invert, text: `metadata ${path}: absent (no validated JWT claim)` };
  if (wanted?.case !== "stringMatch") {
    return { ok: false, text: `metadata ${path}: matcher ${wanted?.case ?? "none"} not simulated` };
  }
  const test = stringMatcherTest(wanted.value);
  const ok = test.test(value) !== matcher.invert;
  return {
    ok,
    text: `JWT claim ${path} ${JSON.stringify(value)} ${ok ? "matches" : "does not match"} ${test.describe}`,
  };
}
