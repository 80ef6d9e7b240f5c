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
  /** Stops accepting, closes streams and servers; bounded by `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startControlPlane(options: ServeOptions): Promise<RunningControlPlane> {
  const { logger, metrics } = options;
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
  try {
    const xdsAddress = await xds.listen(options.xdsAddress.host, options.xdsAddress.port);
    const adminAddress = await admin.listen(options.adminAddress.host, options.adminAddress.port);
    return {
      xdsAddress,
      adminAddress,
      stop: async (graceMs = 2000) => {
        await Promise.all([xds.close(graceMs), admin.close()]);
        await closeSources();
      },
    };
  } catch (error) {
    await Promise.all([xds.close(0), admin.close()]);
    await closeSources();
    throw error;
  }
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
