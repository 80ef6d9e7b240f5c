// The signing endpoint: HTTPS (TLS with a server certificate from the mesh CA) on a port of its
// own, so it can be exposed to workloads while the API and admin ports stay on loopback.
//
//   GET  /v1/trust-bundle    the roots, public; an agent checks them against its token's pin
//   POST /v1/certificates    Authorization: Bearer <credential>, or (a renewal) the current
//                            certificate as TLS client certificate; body {"csr": "<PKCS#10 PEM>"}
//                            → {spiffeId, serialNumber, notAfter, certChain, trustBundle}
//
// The private key never travels: the agent sends a CSR, which proves it holds the key, and gets
// back a certificate for the identity its credential proves, whatever the CSR asks for.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { isIP } from "node:net";
import type { Clock, Timer } from "../clock/index.ts";
import type { CertificateAuthority } from "./authority.ts";
import { createServerCertificate } from "./certificates.ts";
import { certificateCredential, type CredentialVerifier, type VerifiedCredential } from "./credentials.ts";
import { SigningError, type SigningErrorCode } from "./errors.ts";
import { serverNames } from "./serving-certificate.ts";
import { generateKeyPair, pemOf, privateKeyPem, x509 } from "./x509.ts";

/** The logger's shape this module needs (pino's); nothing secret is ever passed to it. */
export interface SigningLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What the endpoint did, for metrics. */
export interface SigningEvents {
  issued(): void;
  /** A refusal by its code; `internal` when signing itself failed. */
  refused(code: SigningErrorCode | "internal"): void;
}

export interface SigningServerOptions {
  readonly ca: CertificateAuthority;
  readonly verifier: CredentialVerifier;
  readonly clock: Clock;
  /** Largest request body accepted (the `ca.requestBytes` limit). */
  readonly maxRequestBytes: number;
  readonly log: SigningLog;
  readonly events: SigningEvents;
}

export const signPath = "/v1/certificates";
export const trustBundlePath = "/v1/trust-bundle";
/** The server certificate is replaced at half of this, and whenever the CA's signer changes. */
const serverCertTtlMs = 7 * 24 * 3600 * 1000;

export class SigningServer {
  private readonly options: SigningServerOptions;
  private server: Server | undefined;
  private host = "127.0.0.1";
  private renewal: Timer | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(options: SigningServerOptions) {
    this.options = options;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    this.host = host;
    const server = createServer({
      ...(await this.serverCredentials()),
      minVersion: "TLSv1.2",
      // A client certificate is optional (first contact has none); sign() decides what it proves.
      requestCert: true,
      rejectUnauthorized: false,
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 5_000,
    });
    this.server = server;
    server.on("request", (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        server.on("error", (error) => this.options.log.warn({ err: error }, "signing endpoint error"));
        resolve();
      });
    });
    this.unsubscribe = this.options.ca.onChange(() => void this.renewServerCertificate());
    this.scheduleRenewal();
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  async close(): Promise<void> {
    this.renewal?.cancel();
    this.unsubscribe?.();
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private scheduleRenewal(): void {
    this.renewal?.cancel();
    this.renewal = this.options.clock.after(serverCertTtlMs / 2, () => void this.renewServerCertificate());
  }

  private async renewServerCertificate(): Promise<void> {
    try {
      this.server?.setSecureContext(await this.serverCredentials());
      this.scheduleRenewal();
    } catch (error) {
      this.options.log.warn(
        { err: error },
        "cannot renew the signing endpoint's certificate; retrying in a minute",
      );
      this.renewal = this.options.clock.after(60_000, () => void this.renewServerCertificate());
    }
  }

  /**
   * A fresh key and certificate naming every address an agent may dial, and the roots client
   * certificates are checked against (renewed with them when a rotation changes them).
   */
  private async serverCredentials(): Promise<{ cert: string; key: string; ca: string }> {
    const { ca, clock } = this.options;
    const signer = ca.signer();
    const keys = await generateKeyPair(true);
    const names = serverNames(this.host);
    const certificate = await createServerCertificate({
      signer,
      keys,
      commonName: "meshplane certificate authority",
      dnsNames: names.filter((name) => isIP(name) === 0),
      ipAddresses: names.filter((name) => isIP(name) !== 0),
      now: clock.now(),
      ttlMs: serverCertTtlMs,
    });
    return {
      cert: [certificate, ...signer.chain].map(pemOf).join(""),
      key: await privateKeyPem(keys.privateKey),
      ca: ca.trustBundlePem(),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (path === trustBundlePath && req.method === "GET") {
        reply(res, 200, { trustBundle: this.options.ca.trustBundlePem() });
      } else if (path === signPath && req.method === "POST") {
        reply(res, 200, await this.sign(req));
      } else if (path === signPath || path === trustBundlePath) {
        reply(res, 405, {
          error: { code: "method_not_allowed", message: `${req.method} is not allowed on ${path}` },
        });
      } else {
        reply(res, 404, { error: { code: "not_found", message: `no endpoint at ${path}` } });
      }
    } catch (error) {
      if (error instanceof SigningError) {
        this.options.events.refused(error.code);
        this.options.log.warn(
          { code: error.code, remoteAddress: req.socket.remoteAddress },
          `certificate signing refused: ${error.message}`,
        );
        reply(res, error.status, { error: { code: error.code, message: error.message } });
      } else {
        this.options.events.refused("internal");
        this.options.log.warn({ err: error }, "certificate signing failed");
        reply(res, 500, { error: { code: "internal", message: "the CA could not sign the request" } });
      }
    }
  }

  private async sign(req: IncomingMessage) {
    const { ca } = this.options;
    // The credential first: an unauthenticated sender gets no CPU spent on its body.
    const verified = await this.credential(req);
    const body = await readBody(req, this.options.maxRequestBytes);
    const csr = parseCsr(body);
    const issued = await ca.issueWorkload(csr, verified.identity);
    this.options.events.issued();
    this.options.log.info(
      {
        spiffeId: issued.spiffeId,
        serialNumber: issued.serialNumber,
        notAfter: new Date(issued.notAfter).toISOString(),
        credential: verified.description,
      },
      "workload certificate issued",
    );
    return {
      spiffeId: issued.spiffeId,
      serialNumber: issued.serialNumber,
      notAfter: new Date(issued.notAfter).toISOString(),
      certChain: issued.certChainPem,
      trustBundle: issued.trustBundlePem,
    };
  }

  private async credential(req: IncomingMessage): Promise<VerifiedCredential> {
    const { ca, verifier, clock } = this.options;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      // The scheme is case-insensitive (RFC 9110 §11.1).
      const credential = /^Bearer (\S+)$/i.exec(authorization)?.[1];
      if (credential === undefined) {
        throw new SigningError(
          "credential_missing",
          "send the credential as `Authorization: Bearer <token>`",
        );
      }
      return verifier.verify(credential, clock.now());
    }
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerX509Certificate();
    if (peer === undefined) {
      throw new SigningError(
        "credential_missing",
        "send a join token as `Authorization: Bearer <token>` (from `meshplane token create`), or renew with the current certificate as TLS client certificate",
      );
    }
    if (!socket.authorized) {
      throw new SigningError(
        "certificate_invalid",
        `the client certificate does not verify against this CA's roots (${String(socket.authorizationError)}): renew with a join token`,
      );
    }
    return certificateCredential(new x509.X509Certificate(new Uint8Array(peer.raw)), ca.trustDomain);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(`${JSON.stringify(body)}\n`);
}

/** The body, refused past `max` bytes whether announced (content-length) or streamed. */
async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const tooLarge = () =>
    new SigningError(
      "request_too_large",
      `the request body exceeds limit ca.requestBytes of ${max} bytes; an operator can raise it with \`meshplane serve --limit ca.requestBytes=VALUE\``,
    );
  if (Number(req.headers["content-length"] ?? 0) > max) throw tooLarge();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      // Keep reading (and dropping) so the refusal can still be answered; requestTimeout bounds it.
      req.off("data", onData);
      req.resume();
      reject(tooLarge());
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}

function parseCsr(body: string): x509.Pkcs10CertificateRequest {
  let csr: unknown;
  try {
    csr = (JSON.parse(body) as { csr?: unknown }).csr;
  } catch {
    // fall through: reported below
  }
  const blocks = typeof csr === "string" ? x509.PemConverter.decodeWithHeaders(csr) : [];
  const [block] = blocks;
  if (blocks.length !== 1 || block?.type !== "CERTIFICATE REQUEST") {
    throw new SigningError(
      "request_malformed",
      'the body must be JSON {"csr": "<one PEM CERTIFICATE REQUEST (PKCS#10)>"}',
    );
  }
  try {
    return new x509.Pkcs10CertificateRequest(block.rawData);
  } catch {
    throw new SigningError("request_malformed", "the CSR is not a valid PKCS#10 certificate request");
  }
}
