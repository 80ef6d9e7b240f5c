// Join tokens: a credential that meshplane mints for exactly one workload identity, in the manner
// of SPIRE's join tokens, which an agent trades for that identity's certificate. A token is
//
//   mpjt1.<payload>.<mac>     payload = base64url(JSON {id, ns, sa, iat, exp, roots})
//                             mac     = base64url(HMAC-SHA256(key, "mpjt1." + payload))
//
// The key is derived from the CA's private key (HKDF), so every replica that holds the CA verifies
// tokens without a second secret to share, and a token minted by another CA fails. `roots` pins the
// trust roots (SHA-256 of their DER), so an agent that holds only the token can check that the
// signing endpoint it reaches is this CA's before it sends the token (as kubeadm's CA cert hash).
//
// A token is reusable until it expires (not single-use): checking it needs no shared state, so it
// works on every replica and across restarts. Its lifetime is the window in which a stolen token
// works: keep it short (`--ttl`), one per workload instance. The agent needs it only for its first
// certificate; it renews with the certificate it holds (credentials.ts).
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { SigningError } from "./errors.ts";
import { identityProblem, type WorkloadIdentity } from "./spiffe.ts";

const prefix = "mpjt1";
/** Far above any real token (~300 characters); checked before any decoding or hashing. */
export const maxTokenLength = 4096;
const maxTtlMs = 366 * 24 * 3600 * 1000;

/** The verified content of a token. `id` may be logged; the token itself never. */
export interface JoinTokenClaims extends WorkloadIdentity {
  readonly id: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** SHA-256 fingerprints (hex) of the trust roots when the token was minted. */
  readonly roots: readonly string[];
}

/** The MAC key of tokens for a CA whose private key (PKCS#8 DER) is `caKeyDer`. */
export function joinTokenKey(caKeyDer: ArrayBuffer | Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", new Uint8Array(caKeyDer), "meshplane", "join token v1", 32));
}

export interface MintOptions extends WorkloadIdentity {
  readonly ttlMs: number;
  readonly now: number;
  readonly roots: readonly string[];
}

export function mintJoinToken(key: Buffer, options: MintOptions): { token: string; claims: JoinTokenClaims } {
  const problem = identityProblem(options);
  if (problem) throw new Error(problem);
  if (!Number.isInteger(options.ttlMs) || options.ttlMs < 1000 || options.ttlMs > maxTtlMs) {
    throw new Error("a join token lives from 1 second to 366 days (--ttl)");
  }
  const claims: JoinTokenClaims = {
    id: randomBytes(12).toString("hex"),
    namespace: options.namespace,
    serviceAccount: options.serviceAccount,
    issuedAt: options.now,
    expiresAt: options.now + options.ttlMs,
    roots: options.roots,
  };
  const payload = Buffer.from(
    JSON.stringify({
      id: claims.id,
      ns: claims.namespace,
      sa: claims.serviceAccount,
      iat: claims.issuedAt,
      exp: claims.expiresAt,
      roots: claims.roots,
    }),
  ).toString("base64url");
  return { token: `${prefix}.${payload}.${mac(key, payload)}`, claims };
}

/**
 * The claims of `token` if one of `keys` signed it and it has not expired at `now`; otherwise a
 * SigningError saying which of those failed (never echoing the token).
 */
export function verifyJoinToken(token: string, keys: readonly Buffer[], now: number): JoinTokenClaims {
  const fix = "mint a new one with `meshplane token create --namespace NS --service-account SA`";
  const parts = token.length <= maxTokenLength ? token.split(".") : [];
  const [head, payload, signature] = parts;
  if (parts.length !== 3 || head !== prefix || !payload || !signature) {
    throw new SigningError("token_malformed", `the credential is not a meshplane join token: ${fix}`);
  }
  const given = Buffer.from(signature, "base64url");
  const matches = keys.some((key) => {
    const expected = Buffer.from(mac(key, payload), "base64url");
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!matches) {
    throw new SigningError(
      "token_invalid",
      `the join token's signature does not verify: it was altered, or minted by another certificate authority; ${fix}`,
    );
  }
  const claims = parseClaims(payload);
  if (claims === undefined) {
    throw new SigningError("token_malformed", `the join token's payload is not valid: ${fix}`);
  }
  if (now >= claims.expiresAt) {
    throw new SigningError(
      "token_expired",
      `join token ${claims.id} (ns ${claims.namespace}, sa ${claims.serviceAccount}) expired at ${new Date(claims.expiresAt).toISOString()}; ${fix}`,
    );
  }
  return claims;
}

/** The claims of a token without checking it: for the agent, which has no key, to read its pin. */
export function readJoinTokenClaims(token: string): JoinTokenClaims | undefined {
  const parts = token.length <= maxTokenLength ? token.split(".") : [];
  return parts.length === 3 && parts[0] === prefix ? parseClaims(parts[1] ?? "") : undefined;
}

function mac(key: Buffer, payload: string): string {
  return createHmac("sha256", key).update(`${prefix}.${payload}`).digest("base64url");
}

function parseClaims(payload: string): JoinTokenClaims | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const { id, ns, sa, iat, exp, roots } = raw as Record<string, unknown>;
  if (
    typeof id !== "string" ||
    typeof ns !== "string" ||
    typeof sa !== "string" ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(exp) ||
    !Array.isArray(roots) ||
    !roots.every((r) => typeof r === "string" && /^[0-9a-f]{64}$/.test(r))
  ) {
    return undefined;
  }
  const claims = {
    id,
    namespace: ns,
    serviceAccount: sa,
    issuedAt: iat as number,
    expiresAt: exp as number,
    roots: roots as string[],
  };
  return identityProblem(claims) === undefined ? claims : undefined;
}
