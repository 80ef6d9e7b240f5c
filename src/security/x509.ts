// The one door to @peculiar/x509 (X.509 and PKCS#10 over node:crypto's WebCrypto): it needs a
// Reflect metadata polyfill loaded before it (its dependency injection uses tsyringe), so every
// module here imports the library through this file, never directly.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { X509Certificate as NodeX509Certificate, createHash, webcrypto } from "node:crypto";

export { x509 };

/** WebCrypto key types from node:crypto (the DOM lib, which declares them globally, is not loaded). */
export type KeyPair = webcrypto.CryptoKeyPair;
export type Key = webcrypto.CryptoKey;

/** ECDSA over P-256 with SHA-256: the default key and signature algorithm (SPIFFE X.509-SVID §3). */
export const ecdsaP256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A fresh P-256 key pair; `extractable` lets the private key be written out as PKCS#8. */
export function generateKeyPair(extractable: boolean): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(ecdsaP256, extractable, ["sign", "verify"]);
}

/** `-----BEGIN PRIVATE KEY-----` (PKCS#8), the form TLS stacks and openssl read. */
export async function privateKeyPem(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

/** The key pair of a PKCS#8 PEM private key with its certificate (which carries the public half). */
export async function importKeyPair(keyPem: string, certificate: x509.X509Certificate): Promise<KeyPair> {
  const [der] = x509.PemConverter.decode(keyPem);
  if (der === undefined) throw new Error("no PEM block in the private key");
  const privateKey = await webcrypto.subtle.importKey("pkcs8", der, ecdsaP256, true, ["sign"]);
  const publicKey = await certificate.publicKey.export(ecdsaP256, ["verify"]);
  return { privateKey, publicKey };
}

/** Every certificate in a PEM text, in order. */
export function parseCertificates(pem: string): x509.X509Certificate[] {
  return x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der));
}

/** SHA-256 of the DER certificate, lowercase hex: how a join token pins the trust root. */
export function certificateFingerprint(certificate: x509.X509Certificate): string {
  return createHash("sha256").update(new Uint8Array(certificate.rawData)).digest("hex");
}

/** The same certificate as node:crypto sees it (for checkPrivateKey, issuer checks and TLS). */
export function nodeCertificate(certificate: x509.X509Certificate): NodeX509Certificate {
  return new NodeX509Certificate(Buffer.from(certificate.rawData));
}

/** One certificate as PEM, newline-terminated so that several concatenate into a valid bundle. */
export const pemOf = (certificate: x509.X509Certificate): string => `${certificate.toString("pem")}\n`;
