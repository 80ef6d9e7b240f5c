// What a signing request proves about its sender. A bearer credential goes through a
// CredentialVerifier: standalone meshplane knows the join token; a Kubernetes service-account token
// (checked with a TokenReview) would be another implementation of the same interface. A renewal
// may instead present the workload's current certificate over mTLS (as SPIRE agents renew their
// SVIDs), so a join token is needed only for the first certificate and can be short-lived.
import type { CertificateAuthority } from "./authority.ts";
import { uriNames } from "./certificates.ts";
import { SigningError } from "./errors.ts";
import { verifyJoinToken } from "./join-token.ts";
import { parseSpiffeId, type WorkloadIdentity } from "./spiffe.ts";
import type { x509 } from "./x509.ts";

export interface VerifiedCredential {
  readonly identity: WorkloadIdentity;
  /** Names the credential without revealing it, for logs: `join token 5f2c…`. */
  readonly description: string;
}

export interface CredentialVerifier {
  /** The identity `credential` proves at `now`, or a SigningError saying why it proves none. */
  verify(credential: string, now: number): Promise<VerifiedCredential>;
}

/** Join tokens minted by `ca` (by any of its roots during a rotation). */
export function joinTokenVerifier(ca: CertificateAuthority): CredentialVerifier {
  return {
    verify: async (credential, now) => {
      const claims = verifyJoinToken(credential, ca.tokenKeys(), now);
      return { identity: claims, description: `join token ${claims.id}` };
    },
  };
}

/**
 * The identity of a client certificate that TLS already verified against the CA's roots: its one
 * SPIFFE URI SAN, in this trust domain. (The signing endpoint's own certificate has no URI SAN.)
 */
export function certificateCredential(
  certificate: x509.X509Certificate,
  trustDomain: string,
): VerifiedCredential {
  const uris = uriNames(certificate);
  const identity = uris.length === 1 ? parseSpiffeId(uris[0] as string, trustDomain) : undefined;
  if (identity === undefined) {
    throw new SigningError(
      "certificate_invalid",
      `the client certificate does not carry exactly one workload SPIFFE ID of trust domain ${trustDomain}: renew with a join token`,
    );
  }
  return { identity, description: `certificate ${certificate.serialNumber}` };
}
