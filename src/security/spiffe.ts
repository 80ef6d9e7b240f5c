// Workload identities as SPIFFE IDs (SPIFFE ID spec §2): `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`,
// the Istio form that AuthorizationPolicy principals match. Names are checked here so that an
// identity is never assembled from a string that would change the ID's path.

export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** A trust domain: lowercase letters, digits, dots, dashes and underscores (SPIFFE ID §2.1). */
const trustDomainPattern = /^[a-z0-9._-]{1,255}$/;
/** Namespace and service account names: Kubernetes DNS-1123 subdomain names, at most 253 chars. */
const namePattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The reason `value` is not a valid trust domain, or undefined. */
export function trustDomainProblem(value: string): string | undefined {
  return trustDomainPattern.test(value)
    ? undefined
    : `trust domain "${value}" must be 1 to 255 lowercase letters, digits, ".", "-" or "_" (SPIFFE ID §2.1)`;
}

/** The reason `identity` cannot name a workload, or undefined. */
export function identityProblem(identity: WorkloadIdentity): string | undefined {
  for (const [field, value] of [
    ["namespace", identity.namespace],
    ["service account", identity.serviceAccount],
  ] as const) {
    if (!namePattern.test(value)) {
      return `${field} "${value.slice(0, 64)}" must be a Kubernetes name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`;
    }
  }
  return undefined;
}

export function spiffeId(trustDomain: string, identity: WorkloadIdentity): string {
  const problem = trustDomainProblem(trustDomain) ?? identityProblem(identity);
  if (problem) throw new Error(problem);
  return `spiffe://${trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

/** The identity in `id` if it is a workload ID of `trustDomain` in the form above. */
export function parseSpiffeId(id: string, trustDomain: string): WorkloadIdentity | undefined {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  if (!match || match[1] !== trustDomain) return undefined;
  const identity = { namespace: match[2] as string, serviceAccount: match[3] as string };
  return identityProblem(identity) === undefined ? identity : undefined;
}
