// The meshplane command line.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Command, InvalidArgumentError, Option } from "commander";
import { defaultCertRefreshSeconds, grpcBootstrap } from "../agent/index.ts";
import { formatLimit, limitNames, limitSpecs, limitsFrom, parseLimitSetting } from "../limits/index.ts";
import { createLogger, createMetrics } from "../telemetry/index.ts";
import { defaultAcceptBacklog } from "../xds/index.ts";
import { registerAnalyze } from "./analyze.ts";
import { registerCompletion } from "./completion.ts";
import { registerDemo } from "./demo.ts";
import { registerDiff } from "./diff.ts";
import { registerExplain } from "./explain.ts";
import { registerProxyConfig } from "./proxy-config.ts";
import { registerProxyStatus } from "./proxy-status.ts";
import { registerRollout } from "./rollout.ts";
import { addCaOptions, caOptionsFrom, registerAgent, registerToken, type CaFlags } from "./security.ts";
import { formatHostPort, startControlPlane, type HostPort } from "./serve.ts";
import { addXdsTlsOptions, xdsTlsOptionsFrom, type XdsTlsFlags } from "./xds-tls.ts";
import { defaultStoreUrl, parseStoreUrl } from "./store-url.ts";
import { clientVersion, registerVersion } from "./version.ts";

const shutdownDeadlineMs = 5000;

function hostPort(value: string): HostPort {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new InvalidArgumentError(`expected HOST:PORT (e.g. 127.0.0.1:15010), got "${value}"`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ""), port };
}

/** A HOST:PORT option whose default shows as HOST:PORT in --help. */
function addressOption(
  flags: string,
  description: string,
  fallback: string,
  parse: (value: string) => HostPort | "off" = hostPort,
): Option {
  return new Option(flags, description).argParser(parse).default(parse(fallback), fallback);
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number of milliseconds, got "${value}"`);
  return n;
}

function otlpEndpoint(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:"))
    throw new InvalidArgumentError(
      `expected an http(s) URL such as http://127.0.0.1:4318/v1/traces, got "${value}"`,
    );
  return url.href;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3600)
    throw new InvalidArgumentError(`expected a whole number of seconds from 1 to 3600, got "${value}"`);
  return n;
}

function backlog(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError(`expected a whole number from 1 to 65535, got "${value}"`);
  return n;
}

/** Collects `--limit` settings, refusing a bad one as it is given. */
function limitSetting(value: string, previous: string[]): string[] {
  try {
    parseLimitSetting(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return [...previous, value];
}

function label(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

const program = new Command()
  .name("meshplane")
  .description("A service-mesh control plane: Kubernetes-style config in, xDS out.")
  .version(clientVersion(), "-V, --version", "print the meshplane version")
  .showHelpAfterError();

const serve = program
  .command("serve")
  .description("serve xDS to proxies from the resource store, optionally fed by a directory of YAML")
  .option("--config-dir <dir>", "directory of YAML written into the store and kept in sync (hot-reloaded)")
  .option("--data-dir <dir>", "where meshplane keeps its state", ".meshplane")
  .option(
    "--store <url>",
    "memory | sqlite://PATH | etcd://HOST:PORT[,HOST:PORT...] (default: sqlite under --data-dir)",
  )
  .addOption(
    addressOption("--xds-address <host:port>", "where proxies connect (ADS over gRPC)", "127.0.0.1:15010"),
  )
  .option(
    "--xds-backlog <n>",
    "accept-queue length of the xDS port, for connect storms (capped by net.core.somaxconn)",
    backlog,
    defaultAcceptBacklog,
  )
  .addOption(
    addressOption(
      "--admin-address <host:port>",
      "health, metrics and debug endpoints; off loopback, /debug/* needs --admin-token-file",
      "127.0.0.1:15014",
    ),
  )
  .option("--admin-token-file <file>", "bearer tokens that may read /debug/* off loopback, one per line")
  .addOption(
    new Option(
      "--dashboard-address <host:port>",
      "serve the web dashboard there (off by default); off loopback it needs --api-token-file",
    ).argParser(hostPort),
  )
  .addOption(
    addressOption(
      "--api-address <host:port>",
      "the Kubernetes-compatible API (kubectl); 'off' to disable",
      "127.0.0.1:15012",
      (value: string) => (value === "off" ? "off" : hostPort(value)),
    ),
  )
  .option(
    "--api-token-file <file>",
    "bearer tokens accepted by the API, one per line; needs --api-tls-cert/--api-tls-key (kubectl sends no token over plain HTTP); required off loopback",
  )
  .option("--api-tls-cert <file>", "PEM certificate: serve the API over HTTPS")
  .option("--api-tls-key <file>", "PEM private key of --api-tls-cert")
  .option("--domain <domain>", "cluster domain in service host names", "cluster.local")
  .addOption(
    new Option("--log-level <level>", "log level")
      .choices(["debug", "info", "warn", "error"])
      .default("info"),
  )
  .option("--debounce-ms <ms>", "quiet period before a config change is pushed", milliseconds, 100)
  .option("--max-debounce-ms <ms>", "longest a config change waits to be pushed", milliseconds, 1000)
  .option("--replica-id <id>", "names this replica in its lease and proxy report (default: hostname_uuid)")
  .option(
    "--lease-duration <seconds>",
    "TTL of the controllers' lease on etcd: how long a crashed leader blocks a successor",
    seconds,
    15,
  )
  .option(
    "--otlp-endpoint <url>",
    "export traces of each change (write, commit, publish, encode, push, each proxy's ACK or NACK) over OTLP/HTTP protobuf to this URL, e.g. http://127.0.0.1:4318/v1/traces (default: off)",
    otlpEndpoint,
  )
  .option(
    "--limit <name=value>",
    "change an input limit (repeatable); the limits are listed below",
    limitSetting,
    [],
  )
  .addHelpText(
    "after",
    `\nInput limits (--limit NAME=VALUE; sizes take KiB, MiB or GiB):\n${limitNames
      .map(
        (name) =>
          `  ${name.padEnd(26)} ${formatLimit(name, limitSpecs[name].default).padEnd(10)} ${limitSpecs[name].description}`,
      )
      .join("\n")}\n`,
  );

addXdsTlsOptions(addCaOptions(serve, hostPort)).action(
  async (
    opts: {
      configDir?: string;
      dataDir: string;
      store?: string;
      apiAddress: HostPort | "off";
      apiTokenFile?: string;
      apiTlsCert?: string;
      apiTlsKey?: string;
      xdsAddress: HostPort;
      xdsBacklog: number;
      adminAddress: HostPort;
      adminTokenFile?: string;
      dashboardAddress?: HostPort;
      domain: string;
      logLevel: string;
      debounceMs: number;
      maxDebounceMs: number;
      replicaId?: string;
      leaseDuration: number;
      otlpEndpoint?: string;
      limit: string[];
    } & CaFlags &
      XdsTlsFlags,
  ) => {
    const logger = createLogger({ level: opts.logLevel });
    // grpc-js writes its own diagnostics to stderr as plain text; keep every line JSON.
    grpc.setLogger({
      error: (...args: unknown[]) => logger.warn({ component: "grpc-js" }, args.map(String).join(" ")),
    });
    let running: Awaited<ReturnType<typeof startControlPlane>>;
    try {
      running = await startControlPlane({
        configDir: opts.configDir,
        store: parseStoreUrl(opts.store ?? defaultStoreUrl(opts.dataDir), opts.dataDir),
        dataDir: opts.dataDir,
        api:
          opts.apiAddress === "off"
            ? undefined
            : {
                address: opts.apiAddress,
                tokenFile: opts.apiTokenFile,
                tlsCert: opts.apiTlsCert,
                tlsKey: opts.apiTlsKey,
              },
        xdsAddress: opts.xdsAddress,
        xdsBacklog: opts.xdsBacklog,
        adminAddress: opts.adminAddress,
        ...(opts.adminTokenFile ? { adminTokenFile: opts.adminTokenFile } : {}),
        dashboardAddress: opts.dashboardAddress,
        domain: opts.domain,
        trustDomain: opts.trustDomain,
        debounce: { quietMs: opts.debounceMs, maxWaitMs: Math.max(opts.maxDebounceMs, opts.debounceMs) },
        logger,
        metrics: createMetrics(),
        ...(opts.replicaId ? { replicaId: opts.replicaId } : {}),
        leaseDurationSeconds: opts.leaseDuration,
        limits: limitsFrom(opts.limit),
        ca: caOptionsFrom(opts),
        xdsTls: xdsTlsOptionsFrom(opts, opts.caAddress !== undefined),
        ...(opts.otlpEndpoint ? { otlpEndpoint: opts.otlpEndpoint } : {}),
      });
    } catch (error) {
      logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
      logger.flush();
      process.exitCode = 1;
      return;
    }
    logger.info(
      {
        xdsAddress: formatHostPort(running.xdsAddress),
        adminAddress: formatHostPort(running.adminAddress),
        ...(running.dashboardUrl ? { dashboardUrl: running.dashboardUrl } : {}),
        ...(running.api ? { apiUrl: running.api.url, kubeconfig: running.api.kubeconfig } : {}),
        ...(running.caAddress ? { caAddress: formatHostPort(running.caAddress) } : {}),
        ...(opts.xdsTls ? { xdsTls: { clientAuth: opts.xdsClientAuth } } : {}),
      },
      "meshplane ready",
    );
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      const deadline = setTimeout(() => {
        logger.error("shutdown did not finish in time; exiting");
        logger.flush();
        process.exit(1);
      }, shutdownDeadlineMs);
      deadline.unref();
      running.stop(shutdownDeadlineMs / 2).then(
        () => {
          logger.info("stopped");
          logger.flush();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "error while stopping");
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  },
);

program
  .command("bootstrap")
  .description("write the gRPC xDS bootstrap for a workload (point GRPC_XDS_BOOTSTRAP at it)")
  .option(
    "--xds-address <host:port[,host:port...]>",
    "meshplane's xDS address as the workload reaches it; several replicas: the client fails over in order",
    "127.0.0.1:15010",
  )
  .requiredOption("--node-id <id>", "unique id of this workload instance, e.g. pod name")
  .option("--namespace <ns>", "the workload's namespace", "default")
  .option("--zone <zone>", "the workload's zone (node locality)")
  .option("--label <key=value>", "a workload label (repeatable)", label, {})
  .option(
    "--cert-dir <dir>",
    "add the file_watcher certificate provider (gRFC A29) over `meshplane agent --cert-dir`",
  )
  .option(
    "--cert-refresh <seconds>",
    "how often gRPC re-reads the certificate files",
    Number,
    defaultCertRefreshSeconds,
  )
  .option(
    "--xds-tls",
    'the xDS server speaks TLS (serve --xds-tls): channel_creds "tls" over --cert-dir (gRFC A65; not read by grpc-js-xds 1.14 nor gRPC C-core 1.51, see `meshplane serve --help`)',
  )
  .option("-o, --output <file>", "write to a file instead of stdout")
  .addHelpText(
    "after",
    `
Environment for the workload (read by grpc-js-xds when it loads):
  GRPC_XDS_BOOTSTRAP=<file>          this bootstrap
  GRPC_XDS_EXPERIMENTAL_RBAC=true    required on xDS servers (XdsServer) under an AuthorizationPolicy:
                                     grpc-js-xds 1.14 enforces RBAC (gRFC A41) only with it, and
                                     without it refuses (NACKs) a listener that carries RBAC filters,
                                     so the server keeps its previous listener or does not serve`,
  )
  .action(
    (opts: {
      xdsTls?: boolean;
      xdsAddress: string;
      nodeId: string;
      namespace: string;
      zone?: string;
      label: Record<string, string>;
      certDir?: string;
      certRefresh: number;
      output?: string;
    }) => {
      const text = `${JSON.stringify(grpcBootstrap({ xdsAddress: opts.xdsAddress, nodeId: opts.nodeId, namespace: opts.namespace, labels: opts.label, ...(opts.zone ? { zone: opts.zone } : {}), ...(opts.certDir ? { certDir: opts.certDir, certRefreshSeconds: opts.certRefresh } : {}), ...(opts.xdsTls ? { xdsTls: true } : {}) }), null, 2)}\n`;
      if (opts.output) writeFileSync(opts.output, text);
      else process.stdout.write(text);
    },
  );

program
  .command("kubeconfig")
  .description(
    "print the kubeconfig `meshplane serve` wrote for its API (KUBECONFIG=... kubectl get grpcroutes -A)",
  )
  .option("--data-dir <dir>", "the data directory of the running meshplane", ".meshplane")
  .action((opts: { dataDir: string }) => {
    const file = resolve(opts.dataDir, "kubeconfig");
    try {
      process.stdout.write(readFileSync(file, "utf8"));
    } catch {
      process.stderr.write(
        `no kubeconfig at ${file}: start \`meshplane serve --data-dir ${opts.dataDir}\` first\n`,
      );
      process.exitCode = 1;
    }
  });

registerToken(program);
registerAgent(program);
registerExplain(program);
registerRollout(program);
registerDemo(program);
registerVersion(program);
registerProxyStatus(program);
registerProxyConfig(program);
registerAnalyze(program);
registerDiff(program);
registerCompletion(program);

await program.parseAsync(process.argv);
