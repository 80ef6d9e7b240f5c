// `meshplane agent`: runs beside a workload, obtains its certificate from the mesh CA and keeps it
// fresh. Each round makes a new key here (it never leaves this process but for key.pem), sends a
// CSR with the join token, writes the three files, and sleeps until about half of the certificate's
// life has passed (as Istio's and SPIRE's agents do), so a failed renewal leaves the other half to
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
import { readTrustBundle, writeCertificateFiles } from "./cert-files.ts";

export interface AgentLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface CertificateAgentOptions {
  /** host:port of the signing endpoint (`meshplane serve --ca-address`). */
  readonly caAddress: string;
  /** Read at every round, so an operator can replace the token without restarting the agent. */
  readonly tokenFile: string;
  readonly certDir: string;
  readonly clock: Clock;
  readonly log: AgentLog;
}

const minBackoffMs = 1000;
const maxBackoffMs = 30_000;

export class CertificateAgent {
  private readonly options: CertificateAgentOptions;
  /** Set after a TLS failure against the roots on disk: trust the token's pins instead. */
  private ignoreBundleOnDisk = false;

  constructor(options: CertificateAgentOptions) {
    this.options = options;
  }

  /** One round: a new key and certificate, written to the directory. */
  async renewOnce(): Promise<SignedCertificate> {
    const { caAddress, certDir, clock } = this.options;
    const token = this.readToken();
    const onDisk = this.ignoreBundleOnDisk ? undefined : readTrustBundle(certDir);
    let trust: string;
    if (onDisk !== undefined) {
      trust = onDisk;
    } else {
      const pins = readJoinTokenClaims(token)?.roots;
      if (!pins) {
        throw new SigningRequestError(
          "token_malformed",
          `${this.options.tokenFile} does not hold a meshplane join token: write one from \`meshplane token create\``,
        );
      }
      trust = await fetchPinnedTrustBundle(caAddress, pins);
    }
    const { keyPem, csrPem } = await createKeyAndRequest();
    let signed: SignedCertificate;
    try {
      signed = await requestCertificate({ address: caAddress, credential: token, csrPem, trustBundlePem: trust });
    } catch (error) {
      // The roots on disk may be stale (a root rotation finished while this agent was away).
      if (error instanceof SigningRequestError && error.code === "unreachable" && onDisk !== undefined) {
        this.ignoreBundleOnDisk = true;
      }
      throw error;
    }
    this.ignoreBundleOnDisk = false;
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

  /**
   * Obtains the first certificate (a refused credential ends the run with that error: retrying
   * cannot help), then renews at half-life until `signal` aborts.
   */
  async run(signal: AbortSignal, onFirst?: (signed: SignedCertificate) => void): Promise<void> {
    const { clock, log } = this.options;
    let current: SignedCertificate | undefined;
    let backoffMs = minBackoffMs;
    while (!signal.aborted) {
      try {
        const receivedAt = clock.now();
        const signed = await this.renewOnce();
        if (current === undefined) onFirst?.(signed);
        current = signed;
        backoffMs = minBackoffMs;
        await sleep(clock, Math.max(minBackoffMs, (signed.notAfter - receivedAt) / 2), signal);
      } catch (error) {
        if (current === undefined && error instanceof SigningRequestError && error.credentialRefused) throw error;
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
