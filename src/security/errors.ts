// Why a signing request was refused: a stable code (counted in metrics, returned to the agent), the
// HTTP status the signing endpoint answers with, and a message that says what to do. Messages never
// carry the credential or the request body, only what is safe to log.

export const signingErrorCodes = {
  /** The request carries no credential. */
  credential_missing: 401,
  /** The credential is not a meshplane join token (or is cut short, or too long). */
  token_malformed: 401,
  /** The token's signature does not match: altered, or minted by another CA. */
  token_invalid: 401,
  token_expired: 401,
  /** The client certificate offered for a renewal does not verify against the CA's roots. */
  certificate_invalid: 401,
  /** The body is not the expected JSON or the CSR is not a PKCS#10 request. */
  request_malformed: 400,
  /** The CSR's self-signature does not verify: its requester does not hold the key. */
  csr_signature_invalid: 400,
  /** The CSR's key is not one the CA signs (ECDSA P-256, RSA of 2048 bits or more). */
  csr_key_unsupported: 400,
  /** The body exceeds the `ca.requestBytes` limit. */
  request_too_large: 413,
} as const;

export type SigningErrorCode = keyof typeof signingErrorCodes;

export class SigningError extends Error {
  readonly code: SigningErrorCode;

  constructor(code: SigningErrorCode, message: string) {
    super(message);
    this.name = "SigningError";
    this.code = code;
  }

  get status(): number {
    return signingErrorCodes[this.code];
  }
}
