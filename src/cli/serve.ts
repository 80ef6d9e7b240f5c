// `meshplane serve`: wires the store, its writers (the Kubernetes-compatible API, an optional
// config directory), the pipeline that turns the store into served state, and that state's
// consumers (the xDS server, status, the admin server). This is the edge where the pure parts
// meet I/O: stores, servers, clocks, signals.
import { hostname } from "node:os";
import { relative, resolve, sep } from "node:path";
import {
  createAdminServer,
  createDashboardServer,
  DashboardFeed,
  loadDashboardAssets,
} from "../admin/index.ts";
import { systemClock } from "../clock/index.ts";
import {
  EtcdLeaderElector,
  Informer,
  LocalLeaderElector,
  defaultIdentity,
  type LeaderElector,
} from "../controller/index.ts";
import type { MeshIssue, MeshSnapshot } from "../mesh/index.ts";
import { Pipeline } from "../pipeline/index.ts";
import { issueAsConfigError } from "../analyze/index.ts";
import { HttpMetricReader, RolloutController, StoreEventSink, rolloutType } from "../rollout/index.ts";
import { liveReplicas, objectReach, ReplicaReporter, StatusController } from "../status/index.ts";
import {
  ConfigDirSource,
  ConfigDirSync,
  StoreConfigSource,
  storeWriter,
  type ConfigState,
} from "../sources/index.ts";
import { tracedStore } from "../apiserver/index.ts";
import type { Limits } from "../limits/index.ts";
import { startTracing, type Logger, type MeshplaneMetrics, type Tracing } from "../telemetry/index.ts";
import { clientIssues, clientOfGroup, featureUses, packedTypesRegistry } from "../translate/index.ts";
import { XdsServer } from "../xds/index.ts";
import { apiWriter, startApi } from "./api.ts";
import { startCertificateAuthority, type CaOptions } from "./ca.ts";
import {
  ApiAccessError,
  isLoopback,
  loadApiAccess,
  readTokens,
  type ApiAccess,
  type ApiAccessOptions,
} from "./api-access.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { startXdsCertificate, type XdsTlsOptions } from "./xds-tls.ts";
import { clientVersion } from "./version.ts";
import { openStore, type StoreLocation } from "./store-url.ts";

/** A replica report older than this is a dead replica's (the status controller's window). */
const replicaLivenessMs = 15_000;

export interface ServeOptions {
  /** A directory of YAML written into the store (GitOps); optional. */
  readonly configDir: string | undefined;
  readonly store: StoreLocation;
  readonly xdsAddress: HostPort;
  /** Accept-queue length of the xDS port (default 4096, capped by net.core.somaxconn). */
  readonly xdsBacklog?: number;
  readonly adminAddress: HostPort;
  /** Bearer tokens for /debug/* when the admin server listens off loopback, one per line. */
  readonly adminTokenFile?: string;
  /** Where the web dashboard is served; undefined (the default) serves none. */
  readonly dashboardAddress?: HostPort | undefined;
  /** The Kubernetes-compatible API; undefined to run without it. */
  readonly api: ApiAccessOptions | undefined;
  /** Where state lives; the kubeconfig for the API is written here. */
  readonly dataDir: string;
  readonly domain: string;
  /** SPIFFE trust domain of workload identities (`--trust-domain`; the CA's when it runs). */
  readonly trustDomain: string;
  readonly debounce: { readonly quietMs: number; readonly maxWaitMs: number };
  readonly logger: Logger;
  readonly metrics: MeshplaneMetrics;
  /** Names this replica in its report and its lease; default `hostname_uuid`. */
  readonly replicaId?: string;
  /** TTL of the controllers' lease on etcd: how long a crashed leader blocks a successor. */
  readonly leaseDurationSeconds?: number;
  /** Bounds on every input path (API bodies, the config directory, xDS requests). */
  readonly limits: Limits;
  /** The certificate authority and its signing endpoint; undefined to run without. */
  readonly ca?: CaOptions;
  /** Serve xDS over TLS with a certificate from the CA (which must then run). */
  readonly xdsTls?: XdsTlsOptions;
  /** OTLP/HTTP traces URL: export a trace per change (telemetry/tracing.ts); off when unset. */
  readonly otlpEndpoint?: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `127.0.0.1:15010`, `[::1]:15010`. */
export const formatHostPort = (address: HostPort): string =>
  address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;

export interface RunningControlPlane {
  readonly xdsAddress: HostPort;
  readonly adminAddress: HostPort;
  /** The dashboard's URL, when it is served. */
  readonly dashboardUrl: string | undefined;
  /** The API's URL and the kubeconfig written for it, when the API runs. */
  readonly api: { readonly url: string; readonly kubeconfig: string } | undefined;
  /** The CA's signing endpoint, when the CA runs. */
  readonly caAddress: HostPort | undefined;
  /** Stops accepting, closes streams and servers; bounded by `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startControlPlane(options: ServeOptions): Promise<RunningControlPlane> {
  const { logger, metrics } = options;
  const access = options.api ? loadApiAccess(options.api) : undefined;
  const debugTokens = options.adminTokenFile
    ? readTokens(options.adminTokenFile, "--admin-token-file")
    : undefined;
  const dashboardAccess = options.dashboardAddress && checkDashboardAccess(options.dashboardAddress, access);
  // Read before anything starts: a missing build fails the start with what to run.
  const dashboardAssets = options.dashboardAddress && loadDashboardAssets();
  const lock = writesToDataDir(options) ? lockDataDir({ dataDir: options.dataDir, logger }) : undefined;
  // Everything started so far, closed in reverse order on stop or on a failed start.
  const closers: (() => Promise<unknown>)[] = lock ? [async () => lock.release()] : [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const replica = options.replicaId ?? defaultIdentity();
    // Closed last: what the other parts recorded while stopping is still sent.
    const tracing = options.otlpEndpoint
      ? await openTracing(options.otlpEndpoint, replica, logger)
      : undefined;
    if (tracing) closers.push(() => tracing.shutdown());
    const store = await openStore(options.store, logger);
    closers.push(() => store.close());
    const api =
      options.api && access
        ? await startApi(store, options.api, access, options.dataDir, logger, { ...options, tracing })
        : undefined;
    if (api) closers.push(() => api.close());

    // The directory, when given, is one writer into the store; xDS always reads from the store.
    const directory = options.configDir
      ? {
          source: new ConfigDirSource({ dir: options.configDir, logger, metrics, limits: options.limits }),
          sync: new ConfigDirSync({
            writer: api ? apiWriter(api.client) : storeWriter(tracing ? tracedStore(store, tracing) : store),
            logger,
          }),
        }
      : undefined;
    // A file change starts a change's trace, as an API write does.
    const syncDirectory = async (state: ConfigState) => {
      if (!directory) return;
      if (!tracing) return directory.sync.sync(state);
      const attributes = { "meshplane.config_dir.generation": state.generation };
      return tracing.write("meshplane.config_dir.sync", attributes, () => directory.sync.sync(state));
    };
    if (directory) {
      closers.push(() => directory.source.stop());
      // Listening first: an edit made while the initial sync runs supersedes it instead of waiting.
      directory.source.onChange((state) => void syncDirectory(state));
      await syncDirectory(await directory.source.start());
    }

    const source = new StoreConfigSource({ store, logger });
    closers.push(() => source.stop());
    const xds = new XdsServer({
      limits: options.limits,
      metrics,
      logger: logger.child({ component: "xds" }),
      controlPlaneId: `meshplane@${hostname()}`,
      jsonRegistry: packedTypesRegistry(),
      ...(options.xdsBacklog ? { acceptBacklog: options.xdsBacklog } : {}),
    });
    const pipeline = new Pipeline({
      domain: options.domain,
      trustDomain: options.trustDomain,
      logger: logger.child({ component: "pipeline" }),
      tracing,
    });
    pipeline.subscribe((state) => void xds.setSnapshot(state));
    // Known once the admin server listens, which is after the reporter starts.
    const bound: { admin?: string } = {};
    await source.start();
    const unfollow = pipeline.follow(source, options.debounce);
    closers.push(async () => unfollow());

    // Every replica reports what its proxies run; the lease holder turns reports into status.
    const reporter = new ReplicaReporter({
      store,
      replica,
      xds,
      logger: logger.child({ component: "replica-report" }),
      serving: pipeline,
      adminAddress: () => bound.admin,
    });
    reporter.start();
    closers.push(() => reporter.stop());
    const elector = leaderElector(options, replica, logger.child({ component: "leader-election" }));
    const status = new StatusController({
      store,
      metrics,
      logger,
      serving: pipeline,
    });
    const rollouts = new RolloutController({
      store,
      metrics,
      logger,
      reader: new HttpMetricReader({ clock: systemClock, limits: options.limits, metrics }),
      events: new StoreEventSink({ store, instance: replica }),
    });
    void elector.run({
      onStartedLeading: async (signal) =>
        void (await Promise.all([status.run(signal), rollouts.run(signal)])),
      onStoppedLeading: () => logger.info({ replica }, "controllers stopped: lease not held"),
    });
    closers.push(() => elector.stop());

    const admin = createAdminServer({
      metrics,
      proxies: xds,
      logger: logger.child({ component: "admin" }),
      ready: () => {
        const reasons = xds.serving ? [] : ["xDS server not serving"];
        return { ready: reasons.length === 0, reasons };
      },
      configErrors: () => [
        ...(directory?.source.current().errors ?? []),
        ...(directory?.sync.errors() ?? []),
        ...source.current().errors,
        ...(pipeline.current?.issues ?? []).map(issueAsConfigError),
        // What this replica's connected client releases would ignore or reject (status says it
        // for the clients of every replica).
        ...predictedClientIssues(pipeline.current?.mesh, xds.clientGroups()).map(issueAsConfigError),
      ],
      replica: () => ({ replica, leader: elector.isLeader, lease: elector.holder() }),
      replicas: () => liveReplicas(store, Date.now(), replicaLivenessMs),
      resources: () => {
        const state = pipeline.current;
        return state && { version: state.version, domain: state.mesh.domain, objects: state.resources };
      },
      ...(debugTokens ? { debugTokens } : {}),
    });
    closers.push(() => admin.close());
    const ca = options.ca
      ? await startCertificateAuthority({
          ca: options.ca,
          dataDir: options.dataDir,
          logger,
          metrics,
          limits: options.limits,
        })
      : undefined;
    if (ca) closers.push(() => ca.close());
    if (options.xdsTls && !ca) throw new Error("xDS over TLS needs the certificate authority (--ca-address)");
    const xdsCertificate =
      options.xdsTls && ca
        ? await startXdsCertificate(ca.ca, options.xdsTls, options.xdsAddress.host, logger, metrics)
        : undefined;
    if (xdsCertificate) closers.push(async () => xdsCertificate.stop());
    const xdsAddress = await xds.listen(
      options.xdsAddress.host,
      options.xdsAddress.port,
      xdsCertificate?.tls,
    );
    let graceMs = 0;
    closers.push(() => xds.close(graceMs));
    const adminAddress = await admin.listen(options.adminAddress.host, options.adminAddress.port);
    bound.admin = formatHostPort(adminAddress);
    void reporter.tick();
    let dashboardUrl: string | undefined;
    if (options.dashboardAddress && dashboardAccess && dashboardAssets) {
      // Every replica's dashboard shows rollouts, whichever replica's controller moves them.
      const rolloutInformer = new Informer({
        store,
        type: rolloutType,
        logger: logger.child({ component: "dashboard-informer", resource: rolloutType.resource }),
      });
      closers.push(async () => rolloutInformer.stop());
      await rolloutInformer.start();
      const dashboard = createDashboardServer({
        feed: new DashboardFeed({
          serving: pipeline,
          xds,
          // "Reached N of M" as the replica report counts it, for this replica's proxies.
          reach: (state) =>
            objectReach(
              state.resources,
              xds.served(),
              (t, name) => xds.ackedCount(t, name),
              xds.rejections(),
            ),
          rollouts: rolloutInformer,
          metrics,
        }),
        assets: dashboardAssets,
        ...dashboardAccess,
        maxClients: options.limits["dashboard.clients"],
        metrics,
        logger: logger.child({ component: "dashboard" }),
      });
      closers.push(() => dashboard.close(graceMs));
      dashboardUrl = await dashboard.listen(options.dashboardAddress.host, options.dashboardAddress.port);
    }
    lock?.record({
      apiUrl: api?.url,
      xdsAddress: formatHostPort(xdsAddress),
      adminAddress: formatHostPort(adminAddress),
    });
    return {
      xdsAddress,
      adminAddress,
      dashboardUrl,
      api: api ? { url: api.url, kubeconfig: api.kubeconfig } : undefined,
      caAddress: ca?.address,
      stop: async (grace = 2000) => {
        graceMs = grace;
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function openTracing(endpoint: string, replica: string, logger: Logger): Promise<Tracing> {
  const tracing = await startTracing({ endpoint, clock: systemClock, replica, version: clientVersion() });
  logger.info({ otlpEndpoint: endpoint }, "exporting traces over OTLP/HTTP");
  return tracing;
}

/**
 * The dashboard follows the API's access rules: with the API's tokens its feed needs one (over
 * the API's certificate, when it has one); without tokens it may only listen on loopback.
 */
function checkDashboardAccess(
  address: HostPort,
  access: ApiAccess | undefined,
): { tokens: ReadonlySet<string> | undefined; tls: ApiAccess["tls"] } {
  if (access?.tokens) return { tokens: access.tokens, tls: access.tls };
  if (!isLoopback(address.host)) {
    throw new ApiAccessError(
      `--dashboard-address ${address.host} is reachable from other machines: set --api-token-file ` +
        "with --api-tls-cert/--api-tls-key (the dashboard then asks for one of the API's tokens and " +
        "serves over the API's certificate), or bind the dashboard to 127.0.0.1",
    );
  }
  return { tokens: undefined, tls: access?.tls };
}

/**
 * The kubeconfig, the default sqlite file and the self-managed CA live in the data directory: one
 * server there at a time.
 */
function writesToDataDir(options: ServeOptions): boolean {
  const inDataDir = (path: string) => relative(resolve(options.dataDir), path).split(sep)[0] !== "..";
  return (
    options.api !== undefined ||
    (options.store.kind === "sqlite" && inDataDir(options.store.path)) ||
    (options.ca !== undefined && options.ca.operator === undefined)
  );
}

function leaderElector(options: ServeOptions, identity: string, logger: Logger): LeaderElector {
  if (options.store.kind !== "etcd") return new LocalLeaderElector({ identity, logger });
  return new EtcdLeaderElector({
    hosts: options.store.hosts.map((h) => `http://${h}`),
    name: "meshplane-controllers",
    identity,
    logger,
    ...(options.leaseDurationSeconds ? { leaseDurationSeconds: options.leaseDurationSeconds } : {}),
  });
}

/** What the connected client releases would ignore or reject of `mesh` (translate/clients/predict.ts). */
function predictedClientIssues(mesh: MeshSnapshot | undefined, groups: readonly string[]): MeshIssue[] {
  const clients = groups.flatMap((group) => clientOfGroup(group) ?? []);
  return mesh && clients.length > 0 ? clientIssues(featureUses(mesh), clients) : [];
}
