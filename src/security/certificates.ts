// The certificates the CA makes: its own root, workload leaves (SPIFFE X.509-SVIDs) and the
// signing endpoint's TLS server certificate. Profiles follow the X.509-SVID spec (§4: a leaf is
// not a CA, has digitalSignature and no keyCertSign; exactly one URI SAN) and RFC 5280 §4.2.
import { ecdsaP256, x509, type KeyPair } from "./x509.ts";

/** What signs: a CA certificate, its key pair, and the certificates between it and a trust root. */
export interface Signer {
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
  /** The signer's certificate and any intermediates above it, leaf-side first, without the root. */
  readonly chain: readonly x509.X509Certificate[];
}

/**
 * Leaves are valid from a minute before they are signed: a peer whose clock is a little behind
 * the CA's must not see a certificate "not yet valid" (Istio and SPIRE backdate the same way).
 */
export const backdateMs = 60_000;

export async function createRootCertificate(options: {
  readonly keys: KeyPair;
  readonly trustDomain: string;
  readonly now: number;
  readonly ttlMs: number;
}): Promise<x509.X509Certificate> {
  const { keys, now } = options;
  // The creation time in the name keeps two roots apart during a rotation (chain building
  // matches issuer names before key identifiers).
  const stamp = new Date(now).toISOString().replace(/[-:]|\.\d+/g, "");
  return x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=meshplane root CA ${stamp}, O=${options.trustDomain}`,
    notBefore: new Date(now - backdateMs),
    notAfter: new Date(now + options.ttlMs),
    keys,
    signingAlgorithm: ecdsaP256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

export async function createWorkloadCertificate(options: {
  readonly signer: Signer;
  readonly publicKey: x509.PublicKey;
  readonly spiffeId: string;
  readonly now: number;
  readonly ttlMs: number;
}): Promise<x509.X509Certificate> {
  const { signer, now } = options;
  return x509.X509CertificateGenerator.create({
    // The identity is the URI SAN alone; the subject carries nothing a peer should trust.
    subject: "O=meshplane",
    issuer: signer.certificate.subject,
    notBefore: new Date(now - backdateMs),
    notAfter: clampToSigner(signer, now + options.ttlMs),
    publicKey: options.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: ecdsaP256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: options.spiffeId }]),
      await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(options.publicKey),
    ],
  });
}

/** A TLS server certificate for one of meshplane's ports, naming the hosts clients dial. */
export async function createServerCertificate(options: {
  readonly signer: Signer;
  readonly keys: KeyPair;
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly now: number;
  readonly ttlMs: number;
}): Promise<x509.X509Certificate> {
  const { signer, keys, now } = options;
  return x509.X509CertificateGenerator.create({
    subject: `CN=${options.commonName}`,
    issuer: signer.certificate.subject,
    notBefore: new Date(now - backdateMs),
    notAfter: clampToSigner(signer, now + options.ttlMs),
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: ecdsaP256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...options.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...options.ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey),
    ],
  });
}

/** No certificate outlives the CA that signed it (RFC 5280 §6.1.3 would reject the tail anyway). */
function clampToSigner(signer: Signer, notAfter: number): Date {
  return new Date(Math.min(notAfter, signer.certificate.notAfter.getTime()));
}

/** The URI SANs of a certificate (a workload's SPIFFE ID is its only one). */
export function uriNames(certificate: x509.X509Certificate): string[] {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.items ?? []).filter((name) => name.type === "url").map((name) => name.value);
}
