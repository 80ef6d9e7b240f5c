// `meshplane agent`: runs beside a workload, obtains its certificate from the mesh CA and keeps it
// fresh. Each round makes a new key here (it never leaves this process but for key.pem), sends a
// CSR (with the current certificate as credential, or the join token the first time), writes the
// three files, and sleeps until about half of the certificate's life has passed (as Istio's and SPIRE's agents do), so a failed renewal leaves the other half to
// retry, with exponential backoff, before the old certificate expires.
import { readFileSync } from "node:fs";
import { sleep, type Clock } from "../clock/index.ts";
import {
  createKeyAndRequest,
  fetchPinnedTrustBundle,
  readJoinTokenClaims,
  requestCertificate,
  SigningRequestError,
  type SignedCertificate,
} from "../security/index.ts";
import { readCertificateFiles, writeCertificateFiles } from "./cert-files.ts";

export interface AgentLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface CertificateAgentOptions {
  /** host:port of the signing endpoint (`meshplane serve --ca-address`). */
  readonly caAddress: string;
  /** Read when needed (first contact, a failed renewal), so an operator can replace the token. */
  readonly tokenFile: string;
  readonly certDir: string;
  readonly clock: Clock;
  readonly log: AgentLog;
}

const minBackoffMs = 1000;
const maxBackoffMs = 30_000;

export class CertificateAgent {
  private readonly options: CertificateAgentOptions;

  constructor(options: CertificateAgentOptions) {
    this.options = options;
  }

  /**
   * One round: a new key, a certificate for it, the files written. A renewal authenticates with
   * the current certificate (mTLS); the join token is for the first certificate, and for when the
   * current one no longer works (expired, or its root was rotated out while the agent was away).
   */
  async renewOnce(): Promise<SignedCertificate> {
    const { certDir, clock } = this.options;
    const { keyPem, csrPem } = await createKeyAndRequest();
    const signed = (await this.renewWithCertificate(csrPem)) ?? (await this.requestWithToken(csrPem));
    writeCertificateFiles(
      certDir,
      { certChainPem: signed.certChainPem, keyPem, trustBundlePem: signed.trustBundlePem },
      clock.now(),
    );
    this.options.log.info(
      {
        spiffeId: signed.spiffeId,
        serialNumber: signed.serialNumber,
        notAfter: new Date(signed.notAfter).toISOString(),
        certDir,
      },
      "workload certificate written",
    );
    return signed;
  }

  private async renewWithCertificate(csrPem: string): Promise<SignedCertificate | undefined> {
    const current = readCertificateFiles(this.options.certDir);
    if (current === undefined) return undefined;
    try {
      return await requestCertificate({
        address: this.options.caAddress,
        clientCertificate: current,
        csrPem,
        trustBundlePem: current.trustBundlePem,
      });
    } catch (error) {
      if (
        !(error instanceof SigningRequestError) ||
        !(error.credentialRefused || error.code === "unreachable")
      ) {
        throw error;
      }
      this.options.log.warn(
        { code: error.code },
        `renewing with the current certificate failed, trying the join token: ${error.message}`,
      );
      return undefined;
    }
  }

  /** First contact: the token's pinned roots decide whether this is the right CA. */
  private async requestWithToken(csrPem: string): Promise<SignedCertificate> {
    const token = this.readToken();
    const pins = readJoinTokenClaims(token)?.roots;
    if (!pins) {
      throw new SigningRequestError(
        "token_malformed",
        `${this.options.tokenFile} does not hold a meshplane join token: write one from \`meshplane token create\``,
      );
    }
    const trustBundlePem = await fetchPinnedTrustBundle(this.options.caAddress, pins);
    return requestCertificate({ address: this.options.caAddress, credential: token, csrPem, trustBundlePem });
  }

  /**
   * Obtains the first certificate (a refused credential ends the run with that error: retrying
   * cannot help), then renews at half-life until `signal` aborts.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, log } = this.options;
    let current: SignedCertificate | undefined;
    let backoffMs = minBackoffMs;
    while (!signal.aborted) {
      try {
        const receivedAt = clock.now();
        const signed = await this.renewOnce();
        current = signed;
        backoffMs = minBackoffMs;
        await sleep(clock, Math.max(minBackoffMs, (signed.notAfter - receivedAt) / 2), signal);
      } catch (error) {
        if (current === undefined && error instanceof SigningRequestError && error.credentialRefused)
          throw error;
        const remainingMs = current ? current.notAfter - clock.now() : undefined;
        log.warn(
          {
            code: error instanceof SigningRequestError ? error.code : "error",
            retryInMs: backoffMs,
            ...(remainingMs !== undefined ? { certificateExpiresInMs: remainingMs } : {}),
          },
          `cannot obtain a certificate: ${(error as Error).message}`,
        );
        await sleep(clock, backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
    }
  }

  private readToken(): string {
    let text: string;
    try {
      text = readFileSync(this.options.tokenFile, "utf8");
    } catch (error) {
      throw new SigningRequestError(
        "credential_missing",
        `cannot read --token-file ${this.options.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
    return text.trim();
  }
}
