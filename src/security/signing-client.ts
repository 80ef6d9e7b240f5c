// The agent's side of the signing endpoint. TLS is always verified: against the roots the agent
// already trusts (its root-cert.pem), or, on first contact, against the roots its join token pins —
// the bundle fetched unauthenticated counts only for the roots whose SHA-256 the token names.
import { request } from "node:https";
import { isIP } from "node:net";
import { signingErrorCodes, type SigningErrorCode } from "./errors.ts";
import { signPath, trustBundlePath } from "./signing-server.ts";
import { certificateFingerprint, parseCertificates, pemOf, type x509 } from "./x509.ts";

export interface SignedCertificate {
  readonly spiffeId: string;
  readonly serialNumber: string;
  readonly notAfter: number;
  readonly certChainPem: string;
  readonly trustBundlePem: string;
}

/** A refusal from the CA (`code` as the server sent it) or a failure to reach it (`unreachable`). */
export class SigningRequestError extends Error {
  readonly code: SigningErrorCode | "unreachable" | "untrusted" | "internal";

  constructor(code: SigningRequestError["code"], message: string) {
    super(message);
    this.name = "SigningRequestError";
    this.code = code;
  }

  /** A credential the CA refused stays refused: retrying with it cannot succeed. */
  get credentialRefused(): boolean {
    return this.code in signingErrorCodes && signingErrorCodes[this.code as SigningErrorCode] === 401;
  }
}

const responseLimitBytes = 256 * 1024;
const timeoutMs = 10_000;

/**
 * The CA's roots restricted to those `pins` name (SHA-256 hex of the DER). The fetch itself is not
 * authenticated (nothing is trusted yet); the pins are what make its answer trustworthy.
 */
export async function fetchPinnedTrustBundle(address: string, pins: readonly string[]): Promise<string> {
  const body = await call(address, { method: "GET", path: trustBundlePath, trust: "none" });
  const text = (body as { trustBundle?: unknown }).trustBundle;
  const roots = typeof text === "string" ? safeParse(text) : [];
  const pinned = roots.filter((root) => pins.includes(certificateFingerprint(root)));
  if (pinned.length === 0) {
    throw new SigningRequestError(
      "untrusted",
      `the CA at ${address} does not present a root the join token pins: it is another CA (or an impostor); check --ca-address`,
    );
  }
  return pinned.map(pemOf).join("");
}

export async function requestCertificate(options: {
  readonly address: string;
  /** A join token; or, for a renewal, `clientCertificate`. */
  readonly credential?: string;
  /** The workload's current certificate and key, presented as TLS client certificate. */
  readonly clientCertificate?: { readonly certChainPem: string; readonly keyPem: string };
  readonly csrPem: string;
  /** Roots the endpoint's TLS certificate must chain to. */
  readonly trustBundlePem: string;
}): Promise<SignedCertificate> {
  const body = (await call(options.address, {
    method: "POST",
    path: signPath,
    trust: options.trustBundlePem,
    headers: {
      "content-type": "application/json",
      ...(options.credential === undefined ? {} : { authorization: `Bearer ${options.credential}` }),
    },
    ...(options.clientCertificate
      ? { cert: options.clientCertificate.certChainPem, key: options.clientCertificate.keyPem }
      : {}),
    body: JSON.stringify({ csr: options.csrPem }),
  })) as Record<string, unknown>;
  const { spiffeId, serialNumber, notAfter, certChain, trustBundle } = body;
  const expires = typeof notAfter === "string" ? Date.parse(notAfter) : NaN;
  if (
    typeof spiffeId !== "string" ||
    typeof serialNumber !== "string" ||
    typeof certChain !== "string" ||
    typeof trustBundle !== "string" ||
    Number.isNaN(expires) ||
    safeParse(certChain).length === 0 ||
    safeParse(trustBundle).length === 0
  ) {
    throw new SigningRequestError(
      "internal",
      `the CA at ${options.address} answered without a certificate chain`,
    );
  }
  return { spiffeId, serialNumber, notAfter: expires, certChainPem: certChain, trustBundlePem: trustBundle };
}

function safeParse(pem: string): x509.X509Certificate[] {
  try {
    return parseCertificates(pem);
  } catch {
    return [];
  }
}

function call(
  address: string,
  options: {
    method: string;
    path: string;
    trust: string | "none";
    headers?: Record<string, string>;
    cert?: string;
    key?: string;
    body?: string;
  },
): Promise<unknown> {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(at + 1));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        timeout: timeoutMs,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(options.trust === "none" ? { rejectUnauthorized: false } : { ca: options.trust }),
        ...(options.cert !== undefined && options.key !== undefined
          ? { cert: options.cert, key: options.key }
          : {}),
        // A fresh connection each time: a pooled one could carry another client certificate.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > responseLimitBytes)
            req.destroy(new Error(`response larger than ${responseLimitBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            reject(
              new SigningRequestError(
                "internal",
                `the CA at ${address} answered ${res.statusCode} without JSON`,
              ),
            );
            return;
          }
          if (res.statusCode === 200) return resolve(json);
          const error = (json as { error?: { code?: unknown; message?: unknown } }).error;
          const code =
            typeof error?.code === "string" && error.code in signingErrorCodes
              ? (error.code as SigningErrorCode)
              : "internal";
          reject(
            new SigningRequestError(
              code,
              `the CA refused (${res.statusCode} ${code}): ${String(error?.message ?? "no reason given")}`,
            ),
          );
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) =>
      reject(
        error instanceof SigningRequestError
          ? error
          : new SigningRequestError("unreachable", `cannot reach the CA at ${address}: ${error.message}`),
      ),
    );
    req.end(options.body);
  });
}
