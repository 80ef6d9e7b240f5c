// Test helpers for the security folder: an in-memory CA state store and CSRs that ask for more
// than they may get.
import type { CaStateStore } from "./authority.ts";
import { ecdsaP256, generateKeyPair, x509 } from "./x509.ts";

export function memoryStateStore(
  initial?: string,
): CaStateStore & { text: string | undefined; saves: number } {
  const store = {
    text: initial,
    saves: 0,
    load: () => store.text,
    save: (text: string) => {
      store.text = text;
      store.saves += 1;
    },
  };
  return store;
}

/** A valid CSR whose subject and SANs claim `spiffeId` (which the CA must ignore). */
export async function csrClaiming(spiffeId: string): Promise<x509.Pkcs10CertificateRequest> {
  const keys = await generateKeyPair(false);
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${spiffeId.slice(0, 60)}`,
    keys,
    signingAlgorithm: ecdsaP256,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: spiffeId },
        { type: "dns", value: "admin.example" },
      ]),
    ],
  });
}

/** The same CSR with one byte of its signature changed: well-formed, but signed by no one. */
export function withBrokenSignature(csr: x509.Pkcs10CertificateRequest): x509.Pkcs10CertificateRequest {
  const der = new Uint8Array(csr.rawData.slice(0));
  der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
  return new x509.Pkcs10CertificateRequest(der);
}

/** Waits (in real time, at most `timeoutMs`) until `condition` holds: for async work a fake clock starts. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
