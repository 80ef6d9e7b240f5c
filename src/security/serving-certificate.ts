// A TLS server certificate from the mesh CA for one of meshplane's own ports (the xDS server),
// kept fresh: a new key and certificate at half of its lifetime, and at once whenever the CA
// changes (a root rotation step), so that a certificate never outlives the root its clients trust.
// Its lifetime is the workload certificates' (the rotation's phases assume no certificate lives
// longer). Listeners hear each new certificate; a TLS server swaps its secure context for new
// connections, and connections already open keep their session.
import { hostname } from "node:os";
import { isIP } from "node:net";
import type { Clock, Timer } from "../clock/index.ts";
import type { CertificateAuthority } from "./authority.ts";
import { createServerCertificate } from "./certificates.ts";
import { generateKeyPair, pemOf, privateKeyPem } from "./x509.ts";

export interface ServingKeyPair {
  /** The leaf, then the intermediates up to (not including) the root. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /** The roots client certificates are checked against (two during a root rotation). */
  readonly trustBundlePem: string;
  readonly serialNumber: string;
  readonly notAfter: number;
}

/** The logger's shape this module needs (pino's); no key is ever passed to it. */
export interface ServingLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ServingCertificateOptions {
  readonly ca: CertificateAuthority;
  readonly clock: Clock;
  /** The certificate's common name, for operators reading it (peers check the SANs). */
  readonly commonName: string;
  /** DNS names and IP addresses clients dial (see `serverNames`). */
  readonly names: readonly string[];
  readonly log: ServingLog;
}

/** A failed renewal is retried after this long, or a tenth of the lifetime if that is shorter. */
const retryMs = 60_000;

export class ServingCertificate {
  private readonly options: ServingCertificateOptions;
  private latest: ServingKeyPair | undefined;
  private readonly listeners = new Set<(pair: ServingKeyPair) => void>();
  private timer: Timer | undefined;
  private unsubscribe: (() => void) | undefined;
  private renewing: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(options: ServingCertificateOptions) {
    if (options.names.length === 0) throw new Error("a server certificate needs at least one name");
    this.options = options;
  }

  /** Issues the first certificate and starts renewing. */
  async start(): Promise<ServingKeyPair> {
    this.unsubscribe = this.options.ca.onChange(() => void this.renew());
    await this.renew();
    if (this.latest === undefined) throw new Error("the CA could not issue the server certificate");
    return this.latest;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.unsubscribe?.();
  }

  /** The certificate of the moment; undefined before `start()` resolved. */
  current(): ServingKeyPair | undefined {
    return this.latest;
  }

  /** Hears every new certificate (the first included, if it comes after the call). */
  onChange(listener: (pair: ServingKeyPair) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A new key and certificate now. A call while one is being issued issues once more after it:
   * the CA may have changed after the one in flight read its signer.
   */
  renew(): Promise<void> {
    if (this.renewing) {
      this.again = true;
      return this.renewing;
    }
    const loop = async () => {
      do {
        this.again = false;
        await this.issue();
      } while (this.again && !this.stopped);
    };
    this.renewing = loop().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async issue(): Promise<void> {
    const { ca, clock, log } = this.options;
    const ttlMs = ca.workloadCertTtlMs;
    this.timer?.cancel();
    try {
      const signer = ca.signer();
      const keys = await generateKeyPair(true);
      const certificate = await createServerCertificate({
        signer,
        keys,
        commonName: this.options.commonName,
        dnsNames: this.options.names.filter((name) => isIP(name) === 0),
        ipAddresses: this.options.names.filter((name) => isIP(name) !== 0),
        now: clock.now(),
        ttlMs,
      });
      if (this.stopped) return;
      const pair: ServingKeyPair = {
        certChainPem: [certificate, ...signer.chain].map(pemOf).join(""),
        keyPem: await privateKeyPem(keys.privateKey),
        trustBundlePem: ca.trustBundlePem(),
        serialNumber: certificate.serialNumber,
        notAfter: certificate.notAfter.getTime(),
      };
      this.latest = pair;
      log.info(
        {
          commonName: this.options.commonName,
          serialNumber: pair.serialNumber,
          notAfter: new Date(pair.notAfter).toISOString(),
        },
        "server certificate issued",
      );
      for (const listener of this.listeners) listener(pair);
      this.timer = clock.after(ttlMs / 2, () => void this.renew());
    } catch (error) {
      if (this.stopped) return;
      const delay = Math.min(retryMs, ttlMs / 10);
      log.warn({ err: error, retryInMs: delay }, "cannot issue the server certificate; retrying");
      this.timer = clock.after(delay, () => void this.renew());
    }
  }
}

/**
 * The names a server certificate for a port listening on `host` carries: `extra` (the names
 * clients dial through), the host itself unless it is a wildcard, and this machine's loopback
 * names and host name.
 */
export function serverNames(host: string, extra: readonly string[] = []): string[] {
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  return [...new Set([...extra, ...(wildcard ? [] : [host]), "localhost", hostname(), "127.0.0.1", "::1"])];
}
