// SDS for Envoy sidecars, served over ADS: the two secrets Istio's sidecars use, `default` (the
// workload's certificate and key) and `ROOTCA` (the mesh roots to verify peers with). Both only
// name the files `meshplane agent` writes in the workload's certificate directory
// (src/agent/cert-files.ts); Envoy reads them itself, so the workload key never passes through the
// control plane. The agent swaps a `..data` symlink in that directory on renewal, which Envoy's
// `watched_directory` sees (a move into the watched directory reloads every file through it).
import { create } from "@bufbuild/protobuf";
import { SecretSchema, type Secret } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";

/** Where the agent writes the files unless the sidecar's node metadata MESHPLANE_CERT_DIR says otherwise. */
export const defaultCertDir = "/var/run/meshplane/certs";

/** The workload's certificate chain and key (Istio's name for it). */
export const workloadCertificateSecret = "default";
/** The roots peers are verified against (Istio's name for it). */
export const rootCaSecret = "ROOTCA";

/** The agent's file names (src/agent/cert-files.ts; a test keeps them equal). */
export const certFileNames = {
  chain: "cert-chain.pem",
  key: "key.pem",
  roots: "root-cert.pem",
} as const;

export const secretNames: readonly string[] = [workloadCertificateSecret, rootCaSecret];

/** The secret `name` for a workload whose agent writes into `dir`; undefined for other names. */
export function secretResource(name: string, dir: string): Secret | undefined {
  const file = (base: string) => ({ specifier: { case: "filename" as const, value: `${dir}/${base}` } });
  switch (name) {
    case workloadCertificateSecret:
      return create(SecretSchema, {
        name,
        type: {
          case: "tlsCertificate",
          value: {
            certificateChain: file(certFileNames.chain),
            privateKey: file(certFileNames.key),
            watchedDirectory: { path: dir },
          },
        },
      });
    case rootCaSecret:
      return create(SecretSchema, {
        name,
        type: {
          case: "validationContext",
          value: { trustedCa: file(certFileNames.roots), watchedDirectory: { path: dir } },
        },
      });
    default:
      return undefined;
  }
}
