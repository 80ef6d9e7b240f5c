// The Kubernetes-compatible API as `serve` runs it: listening, the kubeconfig written for its
// users, and the in-process client the config directory writes through.
import { resolve } from "node:path";
import {
  createApiClient,
  createApiServer,
  writeKubeconfig,
  type ApiClient,
  type ApiMetrics,
} from "../apiserver/index.ts";
import type { Limits } from "../limits/index.ts";
import { fieldManager, managedByLabel, managedByValue, type ObjectWriter } from "../sources/index.ts";
import type { ResourceStore } from "../store/index.ts";
import type { Logger, Tracing } from "../telemetry/index.ts";
import type { ApiAccess, ApiAccessOptions } from "./api-access.ts";
import { ensurePrivateDir, writePrivateFile } from "./private-files.ts";

export interface RunningApi {
  readonly url: string;
  readonly kubeconfig: string;
  readonly client: ApiClient;
  close(): Promise<void>;
}

export async function startApi(
  store: ResourceStore,
  options: ApiAccessOptions,
  access: ApiAccess,
  dataDir: string,
  logger: Logger,
  {
    limits,
    metrics,
    tracing,
  }: { readonly limits: Limits; readonly metrics: ApiMetrics; readonly tracing: Tracing | undefined },
): Promise<RunningApi> {
  const server = createApiServer({
    store,
    logger: logger.child({ component: "api" }),
    auth: access.tokens ? { tokens: access.tokens } : undefined,
    tls: access.tls,
    limits,
    metrics,
    tracing,
  });
  const { url } = await server.listen(options.address.host, options.address.port);
  const token = access.tokens?.values().next().value;
  // With TLS the server's own certificate is the trust anchor to verify it by.
  const ca = access.tls?.cert.toString();
  const kubeconfig = resolve(dataDir, "kubeconfig");
  ensurePrivateDir(dataDir);
  // It holds the token: 0600 even when an older, world-readable kubeconfig is there.
  writePrivateFile(kubeconfig, writeKubeconfig({ server: url, token, caData: ca }));
  if (!access.tokens) {
    logger.warn(
      { apiAddress: url },
      "API accepts anonymous requests (local-development default, loopback only); set --api-token-file for real use",
    );
  }
  // The config directory writes through this client: its sync's trace goes on into the API's.
  const headers = tracing && (() => tracing.propagationHeaders());
  return {
    url,
    kubeconfig,
    client: createApiClient({ url, token, ca, headers }),
    close: () => server.close(),
  };
}

/**
 * The config directory writes through the API with server-side apply as its own field manager,
 * forcing ownership: the directory is the source of truth for what it declares (GitOps).
 */
export function apiWriter(client: ApiClient): ObjectWriter {
  return {
    async apply(kind, object) {
      return (await client.apply(kind, object, fieldManager, true)).created ? "created" : "updated";
    },
    listManaged: (kind) => client.list(kind, `${managedByLabel}=${managedByValue}`),
    delete: (kind, namespace, name) => client.delete(kind, namespace, name),
    ensureNamespace: (name) => client.ensureNamespace(name),
  };
}
