// xDS over TLS on `meshplane serve`: the flags, and the xDS port's server certificate from the
// mesh CA (src/security/serving-certificate.ts), renewed at half-life and at each root rotation.
import { Option, type Command } from "commander";
import { systemClock } from "../clock/index.ts";
import { serverNames, ServingCertificate, type CertificateAuthority } from "../security/index.ts";
import { X509Certificate } from "node:crypto";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { clientAuthModes, type ClientAuth, type XdsTls } from "../xds/index.ts";

export interface XdsTlsOptions {
  /** Extra DNS names and IP addresses for the certificate (clients dial them). */
  readonly names: readonly string[];
  readonly clientAuth: ClientAuth;
}

export interface XdsTlsFlags {
  xdsTls?: boolean;
  xdsTlsName: string[];
  xdsClientAuth: ClientAuth;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export const xdsTlsHelp = `
xDS over TLS (--xds-tls): the xDS port presents a certificate from the mesh CA (lifetime
--workload-cert-ttl, renewed at half of it and at each root rotation step, without dropping open
streams). Clients verify it against the agent's root-cert.pem. With --xds-client-auth require (the
default) a client must present a mesh workload certificate too.
  \`meshplane bootstrap --cert-dir DIR --xds-tls\` writes channel_creds of type "tls" (gRFC A65),
  for clients that implement gRFC A65.
  grpc-js-xds 1.14 and gRPC C-core 1.51 accept only "insecure" (or "google_default") xDS channel
  credentials: they cannot speak TLS to the xDS server. Run them behind the agent:
  \`meshplane agent ... --xds-relay 127.0.0.1:15010 --xds-address HOST:PORT\` relays their
  plaintext xDS on loopback over mTLS with the workload's certificate; point their bootstrap's
  --xds-address at the relay.
`;

export function addXdsTlsOptions(command: Command): Command {
  return command
    .option("--xds-tls", "serve xDS over TLS with a certificate from the mesh CA (needs --ca-address)")
    .option(
      "--xds-tls-name <name>",
      "a DNS name or IP address clients dial the xDS port by, for its certificate (repeatable; default: the listen host, localhost, this host's name)",
      collect,
      [],
    )
    .addOption(
      new Option("--xds-client-auth <mode>", "client certificates on the xDS port under --xds-tls")
        .choices(clientAuthModes)
        .default("require"),
    )
    .addHelpText("after", xdsTlsHelp);
}

/** The flags checked; undefined when xDS stays plaintext. */
export function xdsTlsOptionsFrom(flags: XdsTlsFlags, caRuns: boolean): XdsTlsOptions | undefined {
  if (!flags.xdsTls) {
    if (flags.xdsTlsName.length > 0) throw new Error("--xds-tls-name needs --xds-tls");
    return undefined;
  }
  if (!caRuns) {
    throw new Error(
      "--xds-tls needs the certificate authority that issues the xDS port's certificate: add --ca-address 127.0.0.1:15013",
    );
  }
  return { names: flags.xdsTlsName, clientAuth: flags.xdsClientAuth };
}

/**
 * The xDS port's certificate, issued now and kept fresh until `stop()`; its expiry is exported as
 * meshplane_ca_certificate_expiry_timestamp_seconds{role="xds-server"}.
 */
export async function startXdsCertificate(
  ca: CertificateAuthority,
  options: XdsTlsOptions,
  host: string,
  logger: Logger,
  metrics: MeshplaneMetrics,
): Promise<{ tls: XdsTls; stop: () => void }> {
  const serving = new ServingCertificate({
    ca,
    clock: systemClock,
    commonName: "meshplane xDS server",
    names: serverNames(host, options.names),
    log: logger.child({ component: "xds-tls" }),
  });
  let exported: { role: string; fingerprint: string } | undefined;
  const unsubscribe = serving.onChange((pair) => {
    const leaf = new X509Certificate(pair.certChainPem);
    if (exported) metrics.caCertificateExpiry.remove(exported);
    exported = {
      role: "xds-server",
      fingerprint: leaf.fingerprint256.replaceAll(":", "").toLowerCase().slice(0, 16),
    };
    metrics.caCertificateExpiry.set(exported, pair.notAfter / 1000);
  });
  await serving.start();
  return {
    tls: { keyPair: serving, clientAuth: options.clientAuth },
    stop: () => {
      unsubscribe();
      serving.stop();
    },
  };
}
