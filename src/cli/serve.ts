// `meshplane serve`: config directory → mesh snapshot → xDS, plus the admin server. This is the
// edge where the pure parts meet I/O: sources, servers, clocks, signals.
import { hostname } from "node:os";
import { createAdminServer } from "../admin/index.ts";
import type { Resource } from "../api/index.ts";
import type { MeshIssue } from "../mesh/index.ts";
import {
  ConfigDirSource,
  ConfigDirSync,
  StoreConfigSource,
  type ConfigError,
  type ConfigState,
} from "../sources/index.ts";
import { openStore, type StoreLocation } from "./store-url.ts";
import { loadApiAccess, type ApiAccess, type ApiAccessOptions } from "./api-access.ts";
import { createApiServer, writeKubeconfig, type ApiServer } from "../apiserver/index.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { meshConfigSnapshot, packedTypesRegistry } from "../translate/index.ts";
import { Debouncer } from "../xds/debounce.ts";
import { ResourceCache, XdsServer } from "../xds/index.ts";

export interface ServeOptions {
  /** A directory of YAML written into the store (GitOps); optional. */
  readonly configDir: string | undefined;
  readonly store: StoreLocation;
  readonly xdsAddress: HostPort;
  readonly adminAddress: HostPort;
  /** The Kubernetes-compatible API; undefined to run without it. */
  readonly api: ApiAccessOptions | undefined;
  /** Where state lives; the kubeconfig for the API is written here. */
  readonly dataDir: string;
  readonly domain: string;
  readonly debounce: { readonly quietMs: number; readonly maxWaitMs: number };
  readonly logger: Logger;
  readonly metrics: MeshplaneMetrics;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface RunningControlPlane {
  readonly xdsAddress: HostPort;
  readonly adminAddress: HostPort;
  /** The API's URL and the kubeconfig written for it, when the API runs. */
  readonly api: { readonly url: string; readonly kubeconfig: string } | undefined;
  /** Stops accepting, closes streams and servers; bounded by `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startControlPlane(options: ServeOptions): Promise<RunningControlPlane> {
  const { logger, metrics } = options;
  const access = options.api ? loadApiAccess(options.api) : undefined;
  const store = await openStore(options.store, logger);
  // The directory, when given, is one writer into the store; xDS always reads from the store.
  const directory = options.configDir
    ? {
        source: new ConfigDirSource({ dir: options.configDir, logger, metrics }),
        sync: new ConfigDirSync({ store, logger }),
      }
    : undefined;
  const source = new StoreConfigSource({ store, logger });
  const xds = new XdsServer({
    cache: new ResourceCache({ metrics }),
    metrics,
    logger: logger.child({ component: "xds" }),
    controlPlaneId: `meshplane@${hostname()}`,
    jsonRegistry: packedTypesRegistry(),
  });
  let meshIssues: readonly MeshIssue[] = [];
  let version = 0;
  let loaded = false;
  let publishedGeneration = -1;
  let published: readonly Resource[] | undefined;

  const publish = (state: ConfigState) => {
    if (state.generation === publishedGeneration) return;
    publishedGeneration = state.generation;
    // Only what the change touches is regenerated; the first snapshot generates everything.
    const snapshot = meshConfigSnapshot(++version, state.resources, published, options.domain);
    published = state.resources;
    const mesh = snapshot.mesh;
    logIssueChanges(logger, meshIssues, mesh.issues);
    meshIssues = mesh.issues;
    void xds.setSnapshot(snapshot);
    loaded = true;
    logger.info(
      { version, services: mesh.services.size, proxies: xds.proxies().length },
      "config snapshot published",
    );
  };
  const debouncer = new Debouncer(options.debounce, () => publish(source.current()));
  source.onChange(() => debouncer.trigger());

  const closeSources = async () => {
    debouncer.cancel();
    await directory?.source.stop();
    await source.stop();
    await store.close();
  };
  try {
    if (directory) {
      await directory.sync.sync(await directory.source.start());
      directory.source.onChange((state) => void directory.sync.sync(state));
    }
    publish(await source.start());
  } catch (error) {
    await closeSources();
    throw error;
  }
  const admin = createAdminServer({
    metrics,
    proxies: xds,
    logger: logger.child({ component: "admin" }),
    ready: () => {
      const reasons = [
        ...(loaded ? [] : ["configuration not loaded yet"]),
        ...(xds.serving ? [] : ["xDS server not serving"]),
      ];
      return { ready: reasons.length === 0, reasons };
    },
    configErrors: () => [
      ...(directory?.source.current().errors ?? []),
      ...source.current().errors,
      ...meshIssues.map(issueAsConfigError),
    ],
  });
  const api =
    options.api && access
      ? createApiServer({
          store,
          logger: logger.child({ component: "api" }),
          auth: access.tokens ? { tokens: access.tokens } : undefined,
          tls: access.tls,
        })
      : undefined;
  try {
    const xdsAddress = await xds.listen(options.xdsAddress.host, options.xdsAddress.port);
    const adminAddress = await admin.listen(options.adminAddress.host, options.adminAddress.port);
    const apiEndpoint =
      api && options.api && access
        ? await startApi(api, options.api, access, options.dataDir, logger)
        : undefined;
    return {
      xdsAddress,
      adminAddress,
      api: apiEndpoint,
      stop: async (graceMs = 2000) => {
        await Promise.all([xds.close(graceMs), admin.close(), api?.close()]);
        await closeSources();
      },
    };
  } catch (error) {
    await Promise.all([xds.close(0), admin.close(), api?.close()]);
    await closeSources();
    throw error;
  }
}

async function startApi(
  api: ApiServer,
  options: ApiAccessOptions,
  access: ApiAccess,
  dataDir: string,
  logger: Logger,
): Promise<{ url: string; kubeconfig: string }> {
  const { url } = await api.listen(options.address.host, options.address.port);
  const kubeconfig = resolve(dataDir, "kubeconfig");
  mkdirSync(dataDir, { recursive: true });
  // With TLS the server's own certificate is the trust anchor to verify it by.
  const token = access.tokens?.values().next().value;
  writeFileSync(kubeconfig, writeKubeconfig({ server: url, token, caData: access.tls?.cert.toString() }), {
    mode: 0o600,
  });
  if (!access.tokens) {
    logger.warn(
      { apiAddress: url },
      "API accepts anonymous requests (local-development default, loopback only); set --api-token-file for real use",
    );
  }
  return { url, kubeconfig };
}

/** Mesh-level problems (a missing backend, an unknown parent) are reported like config errors. */
function issueAsConfigError(issue: MeshIssue): ConfigError {
  return { file: "", object: issue.object, field: issue.field, message: `${issue.reason}: ${issue.message}` };
}

function logIssueChanges(logger: Logger, before: readonly MeshIssue[], after: readonly MeshIssue[]): void {
  const key = (i: MeshIssue) => `${i.object}\0${i.field}\0${i.reason}\0${i.message}`;
  const known = new Set(before.map(key));
  for (const issue of after) {
    if (!known.has(key(issue))) logger.warn({ ...issue }, "config object not fully applied");
  }
}
