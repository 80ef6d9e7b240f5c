// The security commands and flags: the CA's options on `serve`, `meshplane token create` (join
// tokens) and `meshplane agent` (a workload's certificates). The token is printed once, to stdout
// or a 0600 file, and never logged.
import { resolve } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { CertificateAgent, XdsRelay, type RelayLog } from "../agent/index.ts";
import { systemClock } from "../clock/index.ts";
import { mintJoinToken, SigningRequestError, trustDomainProblem } from "../security/index.ts";
import { createLogger } from "../telemetry/index.ts";
import { openCertificateAuthority, readCertificateAuthority, type CaOptions } from "./ca.ts";
import { writePrivateFile } from "./private-files.ts";
import type { HostPort } from "./serve.ts";

const hourMs = 3_600_000;
const units: Record<string, number> = { s: 1000, m: 60_000, h: hourMs, d: 24 * hourMs };

/** `30s`, `90m`, `24h`, `7d` → milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  const ms = match ? Number(match[1]) * (units[match[2] as string] as number) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1000) {
    throw new InvalidArgumentError(
      `expected a duration such as 30s, 90m, 24h or 7d (at least 1s), got "${value}"`,
    );
  }
  return ms;
}

/** `--trust-domain`: the SPIFFE trust domain (SPIFFE ID §2.1), cluster.local by default. */
export function trustDomainOption(description: string): Option {
  return new Option("--trust-domain <domain>", description)
    .argParser((value: string) => {
      const problem = trustDomainProblem(value);
      if (problem) throw new InvalidArgumentError(problem);
      return value;
    })
    .default("cluster.local");
}

export interface CaFlags {
  caAddress?: HostPort;
  trustDomain: string;
  workloadCertTtl: number;
  caRootTtl?: number;
  caCert?: string;
  caKey?: string;
  caRoot?: string;
}

/** The CA's flags on `meshplane serve`; `parseAddress` is serve's HOST:PORT parser. */
export function addCaOptions(command: Command, parseAddress: (value: string) => HostPort): Command {
  return command
    .addOption(
      new Option(
        "--ca-address <host:port>",
        "run the certificate authority: its signing endpoint (HTTPS) for `meshplane agent`, e.g. 127.0.0.1:15013",
      ).argParser(parseAddress),
    )
    .addOption(
      trustDomainOption(
        "SPIFFE trust domain of workload identities: their certificates and the server identities clients expect",
      ),
    )
    .addOption(
      new Option("--workload-cert-ttl <duration>", "lifetime of workload certificates (30s, 90m, 24h)")
        .argParser(duration)
        .default(24 * hourMs, "24h"),
    )
    .addOption(
      new Option(
        "--ca-root-ttl <duration>",
        "lifetime of the self-managed root (default: 3650d); it is rotated, with overlap, with a fifth of its life left",
      ).argParser(duration),
    )
    .option(
      "--ca-cert <file>",
      "sign with an operator's intermediate CA certificate (PEM; with --ca-key, --ca-root)",
    )
    .option("--ca-key <file>", "the PKCS#8 P-256 private key of --ca-cert")
    .option("--ca-root <file>", "the operator's root certificate(s) (PEM) that --ca-cert chains to");
}

export function caOptionsFrom(flags: CaFlags): CaOptions | undefined {
  const given = [flags.caCert, flags.caKey, flags.caRoot].filter((f) => f !== undefined).length;
  if (given !== 0 && given !== 3) {
    throw new InvalidArgumentError("--ca-cert, --ca-key and --ca-root go together: give all three or none");
  }
  if (flags.caAddress === undefined) {
    if (given) throw new InvalidArgumentError("--ca-cert/--ca-key/--ca-root need --ca-address");
    return undefined;
  }
  return {
    address: flags.caAddress,
    trustDomain: flags.trustDomain,
    workloadCertTtlMs: flags.workloadCertTtl,
    ...(flags.caRootTtl ? { rootTtlMs: flags.caRootTtl } : {}),
    ...(flags.caCert && flags.caKey && flags.caRoot
      ? { operator: { cert: flags.caCert, key: flags.caKey, root: flags.caRoot } }
      : {}),
  };
}

export function registerToken(program: Command): void {
  const token = program
    .command("token")
    .description("join tokens: credentials that workloads trade for certificates");
  token
    .command("create")
    .description(
      "mint a join token for one identity (spiffe://TRUST-DOMAIN/ns/NS/sa/SA); reusable until it expires, so keep --ttl short",
    )
    .requiredOption("--namespace <ns>", "the workload's namespace")
    .requiredOption("--service-account <sa>", "the workload's service account")
    .addOption(
      new Option("--ttl <duration>", "how long the token can be used (30s, 90m, 24h)")
        .argParser(duration)
        .default(hourMs, "1h"),
    )
    .option(
      "--data-dir <dir>",
      "the data directory of the meshplane whose CA will honour the token",
      ".meshplane",
    )
    .option(
      "--trust-domain <domain>",
      "with --ca-cert: the trust domain meshplane serve runs with",
      "cluster.local",
    )
    .option("--ca-cert <file>", "the operator's intermediate, when meshplane serve runs with --ca-cert")
    .option("--ca-key <file>", "its private key")
    .option("--ca-root <file>", "the operator's root(s)")
    .option("-o, --output <file>", "write the token to a 0600 file instead of stdout")
    .action(
      async (opts: {
        namespace: string;
        serviceAccount: string;
        ttl: number;
        dataDir: string;
        trustDomain: string;
        caCert?: string;
        caKey?: string;
        caRoot?: string;
        output?: string;
      }) => {
        try {
          const ca =
            opts.caCert || opts.caKey || opts.caRoot
              ? await openCertificateAuthority(
                  {
                    trustDomain: opts.trustDomain,
                    workloadCertTtlMs: 1000,
                    ...caOptionsOperator(opts),
                  },
                  opts.dataDir,
                )
              : await readCertificateAuthority(opts.dataDir);
          const [key] = ca.tokenKeys();
          const { token: value, claims } = mintJoinToken(key as Buffer, {
            namespace: opts.namespace,
            serviceAccount: opts.serviceAccount,
            ttlMs: opts.ttl,
            now: systemClock.now(),
            roots: ca.rootFingerprints(),
          });
          if (opts.output) writePrivateFile(resolve(opts.output), `${value}\n`);
          else process.stdout.write(`${value}\n`);
          process.stderr.write(
            `join token ${claims.id} for spiffe://${ca.trustDomain}/ns/${claims.namespace}/sa/${claims.serviceAccount}, ` +
              `valid until ${new Date(claims.expiresAt).toISOString()}\n`,
          );
        } catch (error) {
          process.stderr.write(`meshplane token create: ${(error as Error).message}\n`);
          process.exitCode = 1;
        }
      },
    );
}

function caOptionsOperator(opts: { caCert?: string; caKey?: string; caRoot?: string }) {
  if (!opts.caCert || !opts.caKey || !opts.caRoot) {
    throw new Error("--ca-cert, --ca-key and --ca-root go together: give all three or none");
  }
  return { operator: { cert: opts.caCert, key: opts.caKey, root: opts.caRoot } };
}

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description(
      "obtain and renew a workload's certificate: writes cert-chain.pem, key.pem (0600) and root-cert.pem into --cert-dir, renewing at half-life",
    )
    .requiredOption("--token-file <file>", "the join token (re-read at each renewal)")
    .requiredOption(
      "--cert-dir <dir>",
      "where the certificate files go (point `meshplane bootstrap --cert-dir` here)",
    )
    .option(
      "--ca-address <host:port>",
      "the CA's signing endpoint (meshplane serve --ca-address)",
      "127.0.0.1:15013",
    )
    .option("--once", "obtain one certificate and exit (an init container)")
    .option(
      "--xds-relay <host:port>",
      "also relay xDS: a plaintext port on loopback for gRPC xDS clients that cannot speak TLS to the xDS server (grpc-js-xds 1.14, C-core 1.51), carried over mTLS with this workload's certificate to --xds-address",
    )
    .option("--xds-address <host:port>", "meshplane's xDS port (serve --xds-tls), for --xds-relay")
    .option(
      "--xds-server-name <name>",
      "the name meshplane's xDS certificate must carry (default: the --xds-address host)",
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(["debug", "info", "warn", "error"])
        .default("info"),
    )
    .action(
      async (opts: {
        tokenFile: string;
        certDir: string;
        caAddress: string;
        once?: boolean;
        logLevel: string;
        xdsRelay?: string;
        xdsAddress?: string;
        xdsServerName?: string;
      }) => {
        const logger = createLogger({ level: opts.logLevel }).child({ component: "agent" });
        const agent = new CertificateAgent({
          caAddress: opts.caAddress,
          tokenFile: opts.tokenFile,
          certDir: opts.certDir,
          clock: systemClock,
          log: logger,
        });
        const stop = new AbortController();
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop.abort());
        let relay: XdsRelay | undefined;
        try {
          if (opts.once) {
            if (opts.xdsRelay) throw new Error("--xds-relay runs with the agent: drop --once");
            await agent.renewOnce();
          } else {
            relay = opts.xdsRelay ? await startRelay(opts, opts.xdsRelay, logger) : undefined;
            await agent.run(stop.signal);
          }
        } catch (error) {
          const code = error instanceof SigningRequestError ? error.code : "error";
          logger.error({ code }, `cannot obtain a certificate: ${(error as Error).message}`);
          process.exitCode = 1;
        }
        await relay?.close();
        logger.flush();
      },
    );
}

/** `host:port` or `[v6]:port`. */
function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new Error(`${flag} must be host:port, got "${value}"`);
  return { host: match[1] as string, port };
}

async function startRelay(
  opts: { certDir: string; xdsAddress?: string; xdsServerName?: string },
  listen: string,
  log: RelayLog,
): Promise<XdsRelay> {
  if (!opts.xdsAddress)
    throw new Error("--xds-relay needs --xds-address: meshplane's xDS port (serve --xds-tls)");
  const upstream = parseHostPort(opts.xdsAddress, "--xds-address");
  const relay = await XdsRelay.start({
    listen: parseHostPort(listen, "--xds-relay"),
    upstream,
    ...(opts.xdsServerName ? { serverName: opts.xdsServerName } : {}),
    certDir: resolve(opts.certDir),
    log,
  });
  const address = relay.address.host.includes(":")
    ? `[${relay.address.host}]:${relay.address.port}`
    : `${relay.address.host}:${relay.address.port}`;
  log.info(
    { xdsRelay: address, xdsAddress: opts.xdsAddress },
    "xDS relay listening: point `meshplane bootstrap --xds-address` at it",
  );
  return relay;
}
