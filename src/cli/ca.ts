// The certificate authority inside `meshplane serve`: where its state lives (a 0600 file under
// --data-dir, or the operator's files), its signing endpoint, its maintenance (root rotation) and
// its metrics. Also what `meshplane token create` needs to mint tokens for it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { systemClock, type Clock } from "../clock/index.ts";
import type { Limits } from "../limits/index.ts";
import {
  CertificateAuthority,
  certificateFingerprint,
  joinTokenVerifier,
  SigningServer,
  type CaStateStore,
} from "../security/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { ensurePrivateDir, writePrivateFile } from "./private-files.ts";
import type { HostPort } from "./serve.ts";

export interface CaOptions {
  /** Where the signing endpoint listens. */
  readonly address: HostPort;
  readonly trustDomain: string;
  readonly workloadCertTtlMs: number;
  /** Lifetime of a self-managed root (and of each one that replaces it). */
  readonly rootTtlMs?: number;
  /** An operator's intermediate instead of a self-managed root: all three files, or none. */
  readonly operator?: { readonly cert: string; readonly key: string; readonly root: string };
}

export interface RunningCa {
  readonly address: HostPort;
  readonly ca: CertificateAuthority;
  close(): Promise<void>;
}

/** The self-managed CA's state file: roots with their private keys, mode 0600. */
export const caStateFile = (dataDir: string): string => join(dataDir, "ca", "ca-state.json");

function fileStore(dataDir: string): CaStateStore {
  const file = caStateFile(dataDir);
  return {
    load: () => {
      try {
        return readFileSync(file, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    save: (text) => {
      ensurePrivateDir(join(dataDir, "ca"));
      writePrivateFile(file, text);
    },
  };
}

export async function openCertificateAuthority(
  options: Omit<CaOptions, "address">,
  dataDir: string,
  clock: Clock = systemClock,
): Promise<CertificateAuthority> {
  const common = { trustDomain: options.trustDomain, workloadCertTtlMs: options.workloadCertTtlMs, clock };
  if (options.operator) {
    const read = (file: string, flag: string) => {
      try {
        return readFileSync(file, "utf8");
      } catch (error) {
        throw new Error(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
      }
    };
    return CertificateAuthority.operatorProvided({
      ...common,
      certPem: read(options.operator.cert, "--ca-cert"),
      keyPem: read(options.operator.key, "--ca-key"),
      rootPem: read(options.operator.root, "--ca-root"),
    });
  }
  return CertificateAuthority.selfManaged({
    ...common,
    store: fileStore(dataDir),
    ...(options.rootTtlMs ? { rootTtlMs: options.rootTtlMs } : {}),
  });
}

/** The CA as `meshplane token create` sees it: read only, from the data directory it was saved in. */
export async function readCertificateAuthority(dataDir: string): Promise<CertificateAuthority> {
  const store = fileStore(dataDir);
  const text = store.load();
  if (text === undefined) {
    throw new Error(
      `no certificate authority in ${dataDir}: start \`meshplane serve --data-dir ${dataDir} --ca-address 127.0.0.1:15013\` first`,
    );
  }
  let trustDomain: unknown;
  try {
    // Not JSON: the CA's own load below says so (JSON.parse's message would quote the key file).
    trustDomain = (JSON.parse(text) as { trustDomain?: unknown }).trustDomain;
  } catch {
    trustDomain = undefined;
  }
  return CertificateAuthority.selfManaged({
    trustDomain: typeof trustDomain === "string" ? trustDomain : "unknown",
    workloadCertTtlMs: 1000,
    clock: systemClock,
    store: {
      load: () => text,
      save: () => {
        throw new Error("token create does not change the certificate authority");
      },
    },
  });
}

const formatHostPort = (a: HostPort): string =>
  a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;

export async function startCertificateAuthority(options: {
  readonly ca: CaOptions;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly metrics: MeshplaneMetrics;
  readonly limits: Limits;
}): Promise<RunningCa> {
  const { logger, metrics } = options;
  const log = logger.child({ component: "ca" });
  const ca = await openCertificateAuthority(options.ca, options.dataDir);
  const recordExpiry = () => {
    metrics.caCertificateExpiry.reset();
    const set = (role: string, certificate: ReturnType<typeof ca.signer>["certificate"]) =>
      metrics.caCertificateExpiry.set(
        { role, fingerprint: certificateFingerprint(certificate).slice(0, 16) },
        certificate.notAfter.getTime() / 1000,
      );
    set("signing", ca.signer().certificate);
    for (const root of ca.trustRoots()) set("root", root);
  };
  recordExpiry();
  ca.onChange((change) => {
    log.info({ change, roots: ca.rootFingerprints() }, "certificate authority changed");
    recordExpiry();
  });
  ca.start((error) => log.error({ err: error }, "certificate authority maintenance failed; retrying"));
  const server = new SigningServer({
    ca,
    verifier: joinTokenVerifier(ca),
    clock: systemClock,
    maxRequestBytes: options.limits["ca.requestBytes"],
    log,
    events: {
      issued: () => metrics.caCertificatesIssued.inc(),
      refused: (reason) => {
        metrics.caSigningFailures.inc({ reason });
        if (reason === "request_too_large") metrics.inputRefusals.inc({ limit: "ca.requestBytes" });
      },
    },
  });
  let address: HostPort;
  try {
    address = await server.listen(options.ca.address.host, options.ca.address.port);
  } catch (error) {
    ca.stop();
    throw new Error(
      `the CA's signing endpoint cannot listen on ${formatHostPort(options.ca.address)}: ${(error as Error).message}`,
    );
  }
  log.info(
    { address: formatHostPort(address), trustDomain: ca.trustDomain, roots: ca.rootFingerprints() },
    "certificate authority listening",
  );
  return {
    address,
    ca,
    close: async () => {
      ca.stop();
      await server.close();
    },
  };
}
