export {
  CertificateAuthority,
  defaultRootTtlMs,
  type AuthorityOptions,
  type CaChange,
  type CaStateStore,
  type IssuedCertificate,
} from "./authority.ts";
export { uriNames, type Signer } from "./certificates.ts";
export { joinTokenVerifier, type CredentialVerifier, type VerifiedCredential } from "./credentials.ts";
export { createKeyAndRequest, type KeyAndRequest } from "./csr.ts";
export { SigningError, signingErrorCodes, type SigningErrorCode } from "./errors.ts";
export {
  joinTokenKey,
  maxTokenLength,
  mintJoinToken,
  readJoinTokenClaims,
  verifyJoinToken,
  type JoinTokenClaims,
} from "./join-token.ts";
export { rotationDueAt, rotationPhase, type Rotation, type RotationPhase } from "./root-rotation.ts";
export {
  fetchPinnedTrustBundle,
  requestCertificate,
  SigningRequestError,
  type SignedCertificate,
} from "./signing-client.ts";
export {
  SigningServer,
  type SigningEvents,
  type SigningLog,
  type SigningServerOptions,
} from "./signing-server.ts";
export {
  serverNames,
  ServingCertificate,
  type ServingCertificateOptions,
  type ServingKeyPair,
  type ServingLog,
} from "./serving-certificate.ts";
export { identityProblem, spiffeId, trustDomainProblem, type WorkloadIdentity } from "./spiffe.ts";
export { certificateFingerprint, parseCertificates } from "./x509.ts";
