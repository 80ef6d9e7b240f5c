// The workload's side of issuance: a key made where it will be used and a PKCS#10 request that
// proves possession of it. The CA takes only the key from the request (see authority.ts).
import { ecdsaP256, generateKeyPair, privateKeyPem, x509 } from "./x509.ts";

export interface KeyAndRequest {
  /** PKCS#8 PEM: written to key.pem, never sent. */
  readonly keyPem: string;
  readonly csrPem: string;
}

export async function createKeyAndRequest(): Promise<KeyAndRequest> {
  const keys = await generateKeyPair(true);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "O=meshplane",
    keys,
    signingAlgorithm: ecdsaP256,
  });
  return { keyPem: await privateKeyPem(keys.privateKey), csrPem: csr.toString("pem") };
}
