// Changes written through meshplane's Kubernetes-compatible API, as
// `kubectl apply --server-side --force-conflicts` writes them: a PATCH with
// application/apply-patch+yaml and a field manager of its own. The harness finds the API the way
// a user does, in the kubeconfig `meshplane serve` writes into its data directory. Forcing is
// needed because the config directory, which loaded the mesh, owns the fields (as a GitOps tool
// would); the directory never writes the object back, since its file does not change.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { storedKind } from "../../src/api/index.ts";
import { createApiClient, type ApiClient } from "../../src/apiserver/index.ts";
import type { KubeObject } from "../../src/store/index.ts";
import { now } from "./ipc.ts";

export const benchFieldManager = "meshplane-bench";

export interface ApiWrite {
  /** Wall-clock ms just before the request was sent, and when the 2xx reply had been read. */
  readonly sentAt: number;
  readonly ackedAt: number;
}

interface Kubeconfig {
  readonly clusters?: ReadonlyArray<{ readonly cluster?: { readonly server?: string } }>;
  readonly users?: ReadonlyArray<{ readonly user?: { readonly token?: string } }>;
}

export class ApiWriter {
  readonly url: string;
  private readonly client: ApiClient;

  private constructor(url: string, token: string | undefined) {
    this.url = url;
    this.client = createApiClient({ url, token });
  }

  /** The API named by the kubeconfig's first cluster and user (the one meshplane writes). */
  static fromKubeconfig(path: string): ApiWriter {
    const config = parse(readFileSync(path, "utf8")) as Kubeconfig;
    const url = config.clusters?.[0]?.cluster?.server;
    if (!url) throw new Error(`${path} names no API server`);
    return new ApiWriter(url, config.users?.[0]?.user?.token);
  }

  /** Server-side apply of the whole object; resolves once the store write is acknowledged. */
  async apply(object: Record<string, unknown>): Promise<ApiWrite> {
    const kind = storedKind(String(object.kind));
    if (!kind) throw new Error(`the API does not serve ${String(object.kind)}`);
    const sentAt = now();
    await this.client.apply(kind, object as unknown as KubeObject, benchFieldManager, true);
    return { sentAt, ackedAt: now() };
  }
}
