// Rules of the meshplane.dev security kinds that the schema cannot express: what a policy targets,
// Istio's string patterns (`prefix*`, `*suffix`, `*`), SPIFFE IDs, CIDRs, gRPC names, and where a
// JWKS may come from. Each error names its field and what to write instead.
import { isIP } from "node:net";
import { duplicateErrors, type FieldError } from "./field-error.ts";
import type { PolicyTargetReference } from "./policies.ts";
import type {
  AuthorizationOperationSpec,
  AuthorizationPolicy,
  AuthorizationSourceSpec,
  JwtRuleSpec,
  PeerAuthentication,
  RequestAuthentication,
} from "./security.ts";

/** A security policy attaches to Services of its own namespace, like a TrafficPolicy. */
export function securityTargetErrors(
  kind: string,
  targetRefs: readonly PolicyTargetReference[] | undefined,
): FieldError[] {
  const errors: FieldError[] = [];
  targetRefs?.forEach((ref, i) => {
    if ((ref.group !== "" && ref.group !== "core") || ref.kind !== "Service") {
      errors.push({
        field: `spec.targetRefs[${i}]`,
        message: `a ${kind} targets Services: set group: "" and kind: Service (or leave targetRefs out to cover the namespace)`,
      });
    }
  });
  errors.push(
    ...duplicateErrors(
      targetRefs,
      (ref) => (ref.sectionName === undefined ? ref.name : `${ref.name}/${ref.sectionName}`),
      (i) => `spec.targetRefs[${i}]`,
      "target",
    ),
  );
  return errors;
}

export function peerAuthenticationErrors(policy: PeerAuthentication): FieldError[] {
  const { spec } = policy;
  const errors = securityTargetErrors("PeerAuthentication", spec.targetRefs);
  if (spec.mtls === undefined && spec.portLevelMtls === undefined) {
    errors.push({ field: "spec", message: "set mtls.mode, portLevelMtls or both" });
  }
  if (spec.portLevelMtls !== undefined) {
    if (spec.targetRefs === undefined) {
      errors.push({
        field: "spec.portLevelMtls",
        message: "ports belong to a Service: add targetRefs naming the Services whose ports these are",
      });
    }
    spec.targetRefs?.forEach((ref, i) => {
      if (ref.sectionName !== undefined) {
        errors.push({
          field: `spec.targetRefs[${i}].sectionName`,
          message:
            "with portLevelMtls, target whole Services (the ports are listed there); or drop portLevelMtls and set mtls for the port named here",
        });
      }
    });
    errors.push(
      ...duplicateErrors(
        spec.portLevelMtls,
        (entry) => String(entry.port),
        (i) => `spec.portLevelMtls[${i}].port`,
        "port",
      ),
    );
  }
  return errors;
}

export function authorizationPolicyErrors(policy: AuthorizationPolicy): FieldError[] {
  const { spec } = policy;
  const errors = securityTargetErrors("AuthorizationPolicy", spec.targetRefs);
  spec.rules?.forEach((rule, r) => {
    rule.from?.forEach((from, f) =>
      errors.push(...sourceErrors(from.source, `spec.rules[${r}].from[${f}].source`)),
    );
    rule.to?.forEach((to, t) =>
      errors.push(...operationErrors(to.operation, `spec.rules[${r}].to[${t}].operation`)),
    );
  });
  return errors;
}

export function requestAuthenticationErrors(policy: RequestAuthentication): FieldError[] {
  const { spec } = policy;
  const errors = securityTargetErrors("RequestAuthentication", spec.targetRefs);
  spec.jwtRules.forEach((rule, i) => errors.push(...jwtRuleErrors(rule, `spec.jwtRules[${i}]`)));
  errors.push(
    ...duplicateErrors(
      spec.jwtRules,
      (rule) => rule.issuer,
      (i) => `spec.jwtRules[${i}].issuer`,
      "issuer",
      ": merge the two rules (list every audience in one)",
    ),
  );
  return errors;
}

/** Why `value` is not an Istio string pattern (exact, `prefix*`, `*suffix`, `*`), if it is not. */
export function stringPatternProblem(value: string): string | undefined {
  const stars = value.split("*").length - 1;
  if (stars === 0 || value === "*") return undefined;
  if (stars > 1 || !(value.startsWith("*") || value.endsWith("*"))) {
    return `"${value}": a * may stand only once, at the start or the end (prefix*, *suffix, or * alone)`;
  }
  return undefined;
}

/** SPIFFE ID: `spiffe://<trust domain>/<path>`; trust domains are lower-case (SPIFFE-ID §2.1). */
const spiffeIdPattern = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~!$&'()+,;=:@%-]+)+$/;
const namespacePattern = /^[a-z0-9-]*$/;

function sourceErrors(source: AuthorizationSourceSpec, at: string): FieldError[] {
  const errors: FieldError[] = [];
  if (Object.keys(source).length === 0) {
    errors.push({
      field: at,
      message:
        "set at least one of principals, namespaces, ipBlocks, requestPrincipals (or their not… forms); leave `from` out to match every caller",
    });
  }
  for (const key of ["principals", "notPrincipals"] as const) {
    source[key]?.forEach((value, i) => {
      const field = `${at}.${key}[${i}]`;
      const problem = stringPatternProblem(value);
      if (problem) return errors.push({ field, message: problem });
      const literal = value.replace(/^\*|\*$/g, "");
      const ok =
        value === "*" ||
        value.startsWith("*") ||
        (value.endsWith("*") ? value.startsWith("spiffe://") : spiffeIdPattern.test(literal));
      if (!ok) {
        errors.push({
          field,
          message: `"${value}" is not a SPIFFE ID: write spiffe://<trust-domain>/ns/<namespace>/sa/<service-account> (a * may stand at the start or the end)`,
        });
      }
    });
  }
  for (const key of ["namespaces", "notNamespaces"] as const) {
    source[key]?.forEach((value, i) => {
      const field = `${at}.${key}[${i}]`;
      const problem = stringPatternProblem(value);
      if (problem) return errors.push({ field, message: problem });
      if (!namespacePattern.test(value.replace(/^\*|\*$/g, ""))) {
        errors.push({ field, message: `"${value}" is not a namespace name (lower-case letters, digits, -)` });
      }
    });
  }
  for (const key of ["ipBlocks", "notIpBlocks"] as const) {
    source[key]?.forEach((value, i) => {
      if (!isCidr(value)) {
        errors.push({
          field: `${at}.${key}[${i}]`,
          message: `"${value}" is not an IP address or CIDR block such as 10.0.0.0/8 or fd00::/8`,
        });
      }
    });
  }
  for (const key of ["requestPrincipals", "notRequestPrincipals"] as const) {
    source[key]?.forEach((value, i) => {
      const field = `${at}.${key}[${i}]`;
      const problem = stringPatternProblem(value);
      if (problem) return errors.push({ field, message: problem });
      if (!value.includes("*") && !value.includes("/")) {
        errors.push({
          field,
          message: `"${value}" is not <issuer>/<subject> (the JWT's iss and sub claims)`,
        });
      }
    });
  }
  return errors;
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address. */
export function isCidr(value: string): boolean {
  const slash = value.indexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return false;
  if (slash < 0) return true;
  const length = value.slice(slash + 1);
  return /^\d{1,3}$/.test(length) && Number(length) <= (version === 4 ? 32 : 128);
}

/** protobuf full names: `helloworld.Greeter`, `grpc.health.v1.Health`. */
const grpcServicePattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const grpcMethodPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const httpMethodPattern = /^[A-Z][A-Z-]*$/;

function operationErrors(operation: AuthorizationOperationSpec, at: string): FieldError[] {
  const errors: FieldError[] = [];
  if (Object.keys(operation).length === 0) {
    errors.push({
      field: at,
      message:
        "set at least one of grpc, paths, methods, ports, headers (or their not… forms); leave `to` out to match every request",
    });
  }
  const { grpc } = operation;
  if (grpc) {
    if (!grpcServicePattern.test(grpc.service)) {
      errors.push({
        field: `${at}.grpc.service`,
        message: `"${grpc.service}" is not a fully qualified gRPC service name such as helloworld.Greeter`,
      });
    }
    if (grpc.method !== undefined && !grpcMethodPattern.test(grpc.method)) {
      errors.push({
        field: `${at}.grpc.method`,
        message: `"${grpc.method}" is not a gRPC method name such as SayHello; leave it out for every method`,
      });
    }
    for (const key of ["paths", "notPaths"] as const) {
      if (operation[key] !== undefined) {
        errors.push({
          field: `${at}.${key}`,
          message: "set grpc or paths, not both: grpc is written as the path /service/method",
        });
      }
    }
  }
  for (const key of ["paths", "notPaths"] as const) {
    operation[key]?.forEach((value, i) => {
      const field = `${at}.${key}[${i}]`;
      const problem = stringPatternProblem(value);
      if (problem) return errors.push({ field, message: problem });
      if (!value.startsWith("/") && !value.startsWith("*")) {
        errors.push({
          field,
          message: `"${value}" must start with / (gRPC calls are /package.Service/Method)`,
        });
      }
    });
  }
  for (const key of ["methods", "notMethods"] as const) {
    operation[key]?.forEach((value, i) => {
      if (!httpMethodPattern.test(value)) {
        errors.push({
          field: `${at}.${key}[${i}]`,
          message: `"${value}" is not an upper-case HTTP method such as GET or POST (gRPC calls are POST)`,
        });
      }
    });
  }
  operation.headers?.forEach((header, h) => {
    header.values.forEach((value, v) => {
      const problem = stringPatternProblem(value);
      if (problem) errors.push({ field: `${at}.headers[${h}].values[${v}]`, message: problem });
    });
  });
  errors.push(
    ...duplicateErrors(
      operation.headers,
      (header) => header.name.toLowerCase(),
      (i) => `${at}.headers[${i}].name`,
      "header",
      ": list every accepted value in one entry",
    ),
  );
  return errors;
}

function jwtRuleErrors(rule: JwtRuleSpec, at: string): FieldError[] {
  const errors: FieldError[] = [];
  if ((rule.jwksUri === undefined) === (rule.jwks === undefined)) {
    errors.push({
      field: at,
      message:
        "set exactly one of jwksUri (where the data plane fetches the keys) and jwks (the key set inline)",
    });
  }
  if (rule.jwksUri !== undefined) {
    const problem = jwksUriProblem(rule.jwksUri);
    if (problem) errors.push({ field: `${at}.jwksUri`, message: problem });
  }
  if (rule.jwks !== undefined) {
    const problem = jwksProblem(rule.jwks);
    if (problem) errors.push({ field: `${at}.jwks`, message: problem });
  }
  errors.push(
    ...duplicateErrors(
      rule.fromHeaders,
      (header) => header.name.toLowerCase(),
      (i) => `${at}.fromHeaders[${i}].name`,
      "header",
    ),
    ...duplicateErrors(
      rule.fromParams,
      (param) => param,
      (i) => `${at}.fromParams[${i}]`,
      "query parameter",
    ),
  );
  return errors;
}

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"]);

function jwksUriProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URL such as https://issuer.example/.well-known/jwks.json`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && loopbackHosts.has(url.hostname)) return undefined;
  return "use an https URL: keys fetched in the clear could be replaced on the way (http only for 127.0.0.1 or localhost)";
}

function jwksProblem(value: string): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch (error) {
    return `not a JSON document: ${(error as Error).message}`;
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    return 'a JWKS (RFC 7517) is a JSON object with a non-empty "keys" list';
  }
  const bad = keys.findIndex((key) => typeof (key as { kty?: unknown } | null)?.kty !== "string");
  return bad < 0 ? undefined : `keys[${bad}] has no "kty" (every JWK names its key type, RFC 7517 §4.1)`;
}
