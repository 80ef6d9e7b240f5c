// Resolves the security kinds into each Service port's PortSecurity (security-model.ts). Scopes
// follow Istio with Gateway API attachment: no targetRefs covers the policy's namespace, and in
// meshplane-system the whole mesh; a target covers a Service, a sectionName one port.
// PeerAuthentication: the most specific mode wins (port > Service > namespace > mesh > PERMISSIVE),
// the oldest policy at one level. AuthorizationPolicy and RequestAuthentication: every one that
// covers a port applies, ordered by name. Pure.
import {
  objectRef,
  type AuthorizationOperationSpec,
  type AuthorizationPolicy,
  type AuthorizationSourceSpec,
  type JwtRuleSpec,
  type PeerAuthentication,
  type PolicyTargetReference,
  type RequestAuthentication,
  type Resource,
} from "../api/index.ts";
import { serviceKey, type MeshIssue, type MeshService, type MeshServicePort } from "./model.ts";
import {
  defaultMtlsMode,
  meshRootNamespace,
  type AuthorizationOperation,
  type AuthorizationSource,
  type JwtLocation,
  type JwtRule,
  type MeshAuthorizationPolicy,
  type MtlsMode,
  type PortSecurity,
} from "./security-model.ts";

/** Where a JWT is looked for when a rule names no location (Istio's defaults). */
export const defaultJwtLocations: readonly JwtLocation[] = [
  { header: "Authorization", prefix: "Bearer " },
  { queryParameter: "access_token" },
];

export interface ResolvedSecurity {
  /** The Services with every port's `security` resolved. */
  readonly services: Map<string, MeshService>;
  /** Mesh-wide policies only: what a server that backs no Service port runs. */
  readonly meshSecurity: PortSecurity;
}

type Scope =
  | { readonly type: "mesh" }
  | { readonly type: "namespace"; readonly namespace: string }
  /** Service keys (`ns/name`), or port keys (`ns/name:port`) for a sectionName. */
  | { readonly type: "targets"; readonly keys: ReadonlySet<string> };

interface Scoped<T> {
  readonly scope: Scope;
  readonly value: T;
}

export function resolveSecurity(
  resources: readonly Resource[],
  services: ReadonlyMap<string, MeshService>,
  issues: MeshIssue[],
  proxyless: MeshIssue[],
): ResolvedSecurity {
  const peer = resources.filter((r): r is PeerAuthentication => r.kind === "PeerAuthentication");
  const authz = resources.filter((r): r is AuthorizationPolicy => r.kind === "AuthorizationPolicy");
  const authn = resources.filter((r): r is RequestAuthentication => r.kind === "RequestAuthentication");
  const modes = mtlsWinners(peer, services, issues);
  const policies = [...authz].sort(byName).map((policy): Scoped<MeshAuthorizationPolicy> => ({
    scope: scopeOf(policy, services, issues),
    value: toAuthorizationPolicy(policy),
  }));
  const jwt = [...authn].sort(byName).map((policy): Scoped<readonly JwtRule[]> => ({
    scope: scopeOf(policy, services, issues),
    value: policy.spec.jwtRules.map((rule) => toJwtRule(objectRef(policy.kind, policy.metadata), rule)),
  }));
  proxyless.push(
    ...peer.flatMap(peerProxylessIssues),
    ...authz.flatMap(authorizationProxylessIssues),
    ...authn.map((policy): MeshIssue => ({
      object: objectRef(policy.kind, policy.metadata),
      field: "spec.jwtRules",
      reason: "UnsupportedValue",
      message:
        "proxyless gRPC servers have no JWT filter: they do not check these tokens, so a request with an invalid token reaches them; serve the Service through Envoy to validate JWTs",
      flavour: "grpc",
    })),
  );
  const result = new Map<string, MeshService>();
  for (const [key, service] of services) {
    const ports = service.ports.map((port): MeshServicePort => ({
      ...port,
      security: {
        ...(modes.get(portKey(key, port.port)) ??
          modes.get(key) ??
          modes.get(namespaceKey(service.namespace)) ??
          modes.get(meshKey) ?? { mtls: defaultMtlsMode, mtlsSource: undefined }),
        authorization: policies.filter((p) => covers(p.scope, service, port)).map((p) => p.value),
        jwtRules: jwt.filter((p) => covers(p.scope, service, port)).flatMap((p) => p.value),
      },
    }));
    result.set(key, { ...service, ports });
  }
  const meshWide = <T>(list: readonly Scoped<T>[]) => list.filter((p) => p.scope.type === "mesh");
  return {
    services: result,
    meshSecurity: {
      ...(modes.get(meshKey) ?? { mtls: defaultMtlsMode, mtlsSource: undefined }),
      authorization: meshWide(policies).map((p) => p.value),
      jwtRules: meshWide(jwt).flatMap((p) => p.value),
    },
  };
}

const meshKey = "mesh";
const namespaceKey = (namespace: string) => `namespace ${namespace}`;
const portKey = (service: string, port: number) => `${service}:${port}`;

type Mode = Pick<PortSecurity, "mtls" | "mtlsSource">;

/**
 * The PeerAuthentication holding each level's key (mesh, `namespace ns`, `ns/name`,
 * `ns/name:port`). Policies claim keys oldest first; a later claim on a held key is Conflicted.
 */
function mtlsWinners(
  policies: readonly PeerAuthentication[],
  services: ReadonlyMap<string, MeshService>,
  issues: MeshIssue[],
): Map<string, Mode> {
  const winners = new Map<string, Mode>();
  for (const policy of [...policies].sort(byAge)) {
    const ref = objectRef(policy.kind, policy.metadata);
    const namespace = policy.metadata.namespace ?? "default";
    const claim = (key: string, mode: MtlsMode, field: string, what: string) => {
      const holder = winners.get(key);
      if (!holder) return winners.set(key, { mtls: mode, mtlsSource: ref });
      issues.push({
        object: ref,
        field,
        reason: "Conflicted",
        message: `${holder.mtlsSource} already sets the mTLS mode of ${what} and is older (or sorts first); merge the two policies or cover different ports`,
      });
    };
    const { mtls, portLevelMtls, targetRefs } = policy.spec;
    if (targetRefs === undefined) {
      if (mtls === undefined) continue;
      if (namespace === meshRootNamespace) claim(meshKey, mtls.mode, "spec.mtls", "the mesh");
      else claim(namespaceKey(namespace), mtls.mode, "spec.mtls", `namespace ${namespace}`);
      continue;
    }
    targetRefs.forEach((target, i) => {
      const resolved = resolveTarget(ref, namespace, target, `spec.targetRefs[${i}]`, services, issues);
      if (!resolved) return;
      const { key, port } = resolved;
      const name = serviceKey(namespace, target.name);
      if (mtls !== undefined) {
        if (port) claim(key, mtls.mode, `spec.targetRefs[${i}]`, `port ${port.name} of Service ${name}`);
        else claim(key, mtls.mode, `spec.targetRefs[${i}]`, `Service ${name}`);
      }
      portLevelMtls?.forEach((entry, j) => {
        const field = `spec.portLevelMtls[${j}]`;
        if (!resolved.service.ports.some((p) => p.port === entry.port)) {
          issues.push({
            object: ref,
            field: `${field}.port`,
            reason: "TargetNotFound",
            message: `Service ${name} has no port ${entry.port}: list one of its ports (${resolved.service.ports.map((p) => p.port).join(", ")})`,
          });
          return;
        }
        claim(portKey(key, entry.port), entry.mode, field, `port ${entry.port} of Service ${name}`);
      });
    });
  }
  return winners;
}

interface ResolvedTarget {
  /** `ns/name`, or `ns/name:port` for a sectionName. */
  readonly key: string;
  readonly service: MeshService;
  readonly port: MeshServicePort | undefined;
}

function resolveTarget(
  ref: string,
  namespace: string,
  target: PolicyTargetReference,
  field: string,
  services: ReadonlyMap<string, MeshService>,
  issues: MeshIssue[],
): ResolvedTarget | undefined {
  const key = serviceKey(namespace, target.name);
  const service = services.get(key);
  const kind = ref.slice(0, ref.indexOf(" "));
  if (!service) {
    issues.push({
      object: ref,
      field,
      reason: "TargetNotFound",
      message: `Service ${key} does not exist: create it or fix ${field}.name (a ${kind} targets Services in its own namespace)`,
    });
    return undefined;
  }
  if (target.sectionName === undefined) return { key, service, port: undefined };
  const port = service.ports.find((p) => p.name === target.sectionName);
  if (!port) {
    issues.push({
      object: ref,
      field: `${field}.sectionName`,
      reason: "TargetNotFound",
      message: `Service ${key} has no port named ${target.sectionName}; sectionName is a Service port name`,
    });
    return undefined;
  }
  return { key: portKey(key, port.port), service, port };
}

function scopeOf(
  policy: AuthorizationPolicy | RequestAuthentication,
  services: ReadonlyMap<string, MeshService>,
  issues: MeshIssue[],
): Scope {
  const namespace = policy.metadata.namespace ?? "default";
  const { targetRefs } = policy.spec;
  if (targetRefs === undefined) {
    return namespace === meshRootNamespace ? { type: "mesh" } : { type: "namespace", namespace };
  }
  const ref = objectRef(policy.kind, policy.metadata);
  const keys = new Set<string>();
  targetRefs.forEach((target, i) => {
    const resolved = resolveTarget(ref, namespace, target, `spec.targetRefs[${i}]`, services, issues);
    if (resolved) keys.add(resolved.key);
  });
  return { type: "targets", keys };
}

function covers(scope: Scope, service: MeshService, port: MeshServicePort): boolean {
  switch (scope.type) {
    case "mesh":
      return true;
    case "namespace":
      return scope.namespace === service.namespace;
    case "targets": {
      const key = serviceKey(service.namespace, service.name);
      return scope.keys.has(key) || scope.keys.has(portKey(key, port.port));
    }
  }
}

function toAuthorizationPolicy(policy: AuthorizationPolicy): MeshAuthorizationPolicy {
  return {
    source: objectRef(policy.kind, policy.metadata),
    action: policy.spec.action ?? "ALLOW",
    rules: (policy.spec.rules ?? []).map((rule) => ({
      from: (rule.from ?? []).map((from) => toSource(from.source)),
      to: (rule.to ?? []).map((to) => toOperation(to.operation)),
    })),
  };
}

function toSource(source: AuthorizationSourceSpec): AuthorizationSource {
  return {
    principals: source.principals ?? [],
    notPrincipals: source.notPrincipals ?? [],
    namespaces: source.namespaces ?? [],
    notNamespaces: source.notNamespaces ?? [],
    ipBlocks: source.ipBlocks ?? [],
    notIpBlocks: source.notIpBlocks ?? [],
    requestPrincipals: source.requestPrincipals ?? [],
    notRequestPrincipals: source.notRequestPrincipals ?? [],
  };
}

/** `grpc: {service, method}` is the path `/service/method`, or `/service/*` for every method. */
export function grpcOperationPath(grpc: { service: string; method?: string | undefined }): string {
  return `/${grpc.service}/${grpc.method ?? "*"}`;
}

function toOperation(operation: AuthorizationOperationSpec): AuthorizationOperation {
  return {
    paths: operation.grpc ? [grpcOperationPath(operation.grpc)] : (operation.paths ?? []),
    notPaths: operation.notPaths ?? [],
    methods: operation.methods ?? [],
    notMethods: operation.notMethods ?? [],
    ports: operation.ports ?? [],
    notPorts: operation.notPorts ?? [],
    headers: (operation.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), values: h.values })),
  };
}

function toJwtRule(source: string, rule: JwtRuleSpec): JwtRule {
  const locations: JwtLocation[] = [
    ...(rule.fromHeaders ?? []).map((h) => ({ header: h.name, prefix: h.prefix ?? "" })),
    ...(rule.fromParams ?? []).map((queryParameter) => ({ queryParameter })),
  ];
  return {
    source,
    issuer: rule.issuer,
    audiences: rule.audiences ?? [],
    jwksUri: rule.jwksUri,
    jwks: rule.jwks,
    locations: locations.length > 0 ? locations : defaultJwtLocations,
    forwardOriginalToken: rule.forwardOriginalToken ?? false,
  };
}

/** gRFC A36: a server's filter chains cannot match transport_protocol, so PERMISSIVE is plaintext. */
function peerProxylessIssues(policy: PeerAuthentication): MeshIssue[] {
  const object = objectRef(policy.kind, policy.metadata);
  const permissive = [
    ...(policy.spec.mtls?.mode === "PERMISSIVE" ? ["spec.mtls.mode"] : []),
    ...(policy.spec.portLevelMtls ?? []).flatMap((entry, j) =>
      entry.mode === "PERMISSIVE" ? [`spec.portLevelMtls[${j}].mode`] : [],
    ),
  ];
  return permissive.map((field) => ({
    object,
    field,
    reason: "UnsupportedValue",
    message:
      "proxyless gRPC servers serve plaintext only under PERMISSIVE (they cannot accept TLS and plaintext on one port, gRFC A36), so their callers connect without mTLS; use STRICT once every caller has a certificate",
    flavour: "grpc",
  }));
}

function authorizationProxylessIssues(policy: AuthorizationPolicy): MeshIssue[] {
  const object = objectRef(policy.kind, policy.metadata);
  const issue = (field: string, message: string): MeshIssue => ({
    object,
    field,
    reason: "UnsupportedValue",
    message,
    flavour: "grpc",
  });
  const issues: MeshIssue[] = [];
  if (policy.spec.action === "AUDIT") {
    issues.push(
      issue(
        "spec.action",
        "AUDIT is not enforced by proxyless gRPC servers (their RBAC filter has no audit action, gRFC A41): the policy is ignored there",
      ),
    );
  }
  // What translate/authz sends instead (fail closed, as Istio does): an ALLOW rule with a condition
  // a proxyless server cannot evaluate is left out; a DENY rule is sent without that condition.
  const consequence =
    policy.spec.action === "DENY"
      ? "the rule is applied there without this condition, so it denies more"
      : "the rule is left out there, so it allows nothing";
  policy.spec.rules?.forEach((rule, r) => {
    rule.from?.forEach((from, f) => {
      for (const key of ["requestPrincipals", "notRequestPrincipals"] as const) {
        if (from.source[key] === undefined) continue;
        issues.push(
          issue(
            `spec.rules[${r}].from[${f}].source.${key}`,
            `proxyless gRPC servers validate no JWT, so a call has no request principal there: ${consequence}`,
          ),
        );
      }
    });
    rule.to?.forEach((to, t) =>
      to.operation.headers?.forEach((header, h) => {
        const name = header.name.toLowerCase();
        if (!name.startsWith("grpc-") && name !== ":scheme") return;
        issues.push(
          issue(
            `spec.rules[${r}].to[${t}].operation.headers[${h}].name`,
            `proxyless gRPC servers reject RBAC header matchers on ${name} (gRFC A41): ${consequence}`,
          ),
        );
      }),
    );
  });
  return issues;
}

type Named = { readonly metadata: { readonly name: string; readonly namespace?: string | undefined } };

function byName(a: Named, b: Named): number {
  return compare(nameOf(a), nameOf(b));
}

/** Precedence between PeerAuthentications at one level: the oldest, then namespace/name. */
function byAge(a: PeerAuthentication, b: PeerAuthentication): number {
  return compare(a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? "") || byName(a, b);
}

function nameOf(object: Named): string {
  return `${object.metadata.namespace ?? "default"}/${object.metadata.name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
