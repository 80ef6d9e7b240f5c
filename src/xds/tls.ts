// xDS over TLS: the server credentials of the xDS port, fed by a certificate that changes while
// the server runs (meshplane's CA renews it at half-life and at each root rotation step).
// grpc-js's ServerCredentials.createSsl is fixed at creation; its certificate-provider credentials
// (experimental.createCertificateProviderServerCredentials, the ones XdsServerCredentials use)
// watch providers and call setSecureContext on the listening TLS server for every update: new
// handshakes get the new certificate, and connections already open keep their TLS session and
// their ADS streams.
import * as grpc from "@grpc/grpc-js";

/** A key pair that changes over time: what the xDS port presents and which roots it trusts. */
export interface ServerKeyPairSource {
  current():
    { readonly certChainPem: string; readonly keyPem: string; readonly trustBundlePem: string } | undefined;
  onChange(
    listener: (pair: { certChainPem: string; keyPem: string; trustBundlePem: string }) => void,
  ): () => void;
}

/**
 * Client certificates on the xDS port. `require`: a client must present one that chains to the
 * mesh roots. `optional`: one is asked for, and a client without (or with one that does not
 * verify) is served like a plaintext client of old. `none`: none is asked for.
 */
export const clientAuthModes = ["require", "optional", "none"] as const;
export type ClientAuth = (typeof clientAuthModes)[number];

export interface XdsTls {
  readonly keyPair: ServerKeyPairSource;
  readonly clientAuth: ClientAuth;
}

/** Server credentials presenting `tls.keyPair`'s certificate of the moment. */
export function xdsServerCredentials(tls: XdsTls): grpc.ServerCredentials {
  const provider = new KeyPairProvider(tls.keyPair);
  return grpc.experimental.createCertificateProviderServerCredentials(
    // grpc-js names this parameter caCertificateProvider, but passes it on as the identity one.
    provider,
    tls.clientAuth === "none" ? null : provider,
    tls.clientAuth === "require",
  );
}

/** grpc-js's CertificateProvider interface over a key pair source. */
class KeyPairProvider implements grpc.experimental.CertificateProvider {
  private readonly source: ServerKeyPairSource;
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  private unsubscribe: (() => void) | undefined;

  constructor(source: ServerKeyPairSource) {
    this.source = source;
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.watch();
    this.caListeners.add(listener);
    this.later(() => {
      const pair = this.source.current();
      if (pair && this.caListeners.has(listener))
        listener({ caCertificate: Buffer.from(pair.trustBundlePem) });
    });
  }

  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
    this.unwatchIfUnused();
  }

  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.watch();
    this.identityListeners.add(listener);
    this.later(() => {
      const pair = this.source.current();
      if (pair && this.identityListeners.has(listener)) listener(identityUpdate(pair));
    });
  }

  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
    this.unwatchIfUnused();
  }

  /**
   * The current value reaches a new listener after the call returns: grpc-js adds its server's
   * watcher only after adding its listeners, and an update before that would be lost.
   */
  private later(deliver: () => void): void {
    queueMicrotask(deliver);
  }

  private watch(): void {
    this.unsubscribe ??= this.source.onChange((pair) => {
      // grpc-js builds a whole new secure context from the latest of both on each update.
      for (const listener of this.caListeners) listener({ caCertificate: Buffer.from(pair.trustBundlePem) });
      for (const listener of this.identityListeners) listener(identityUpdate(pair));
    });
  }

  private unwatchIfUnused(): void {
    if (this.caListeners.size > 0 || this.identityListeners.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

function identityUpdate(pair: { certChainPem: string; keyPem: string }) {
  return { certificate: Buffer.from(pair.certChainPem), privateKey: Buffer.from(pair.keyPem) };
}
