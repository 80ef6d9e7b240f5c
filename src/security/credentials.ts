// What a signing request proves about its sender. Standalone meshplane knows one credential, the
// join token; a Kubernetes service-account token (checked with a TokenReview) is another
// implementation of the same interface, chosen by the credential's form.
import type { CertificateAuthority } from "./authority.ts";
import { verifyJoinToken } from "./join-token.ts";
import type { WorkloadIdentity } from "./spiffe.ts";

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
