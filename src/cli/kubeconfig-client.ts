// A client of a running meshplane's API from a kubeconfig (the one `meshplane serve` writes into
// its data directory): the current context's server, token and CA.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { createApiClient, type ApiClient } from "../apiserver/index.ts";

interface Kubeconfig {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
  users?: { name: string; user: { token?: string } }[];
}

/** The kubeconfig cannot be read or names no server; the message says which and how to fix it. */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

export function apiClientFromKubeconfig(
  file: string,
  dataDir: string,
): { client: ApiClient; server: string } {
  let config: Kubeconfig;
  try {
    config = parse(readFileSync(file, "utf8")) as Kubeconfig;
  } catch (error) {
    throw new KubeconfigError(
      `cannot read kubeconfig ${file} (${(error as Error).message}): start \`meshplane serve --data-dir ${dataDir}\`, or give --config-dir or --kubeconfig`,
    );
  }
  const context = config.contexts?.find((c) => c.name === config["current-context"])?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  if (!cluster?.server) throw new KubeconfigError(`kubeconfig ${file}: no server for the current context`);
  const user = config.users?.find((u) => u.name === context?.user)?.user;
  const caData = cluster["certificate-authority-data"];
  const client = createApiClient({
    url: cluster.server,
    token: user?.token,
    ca: caData ? Buffer.from(caData, "base64") : undefined,
  });
  return { client, server: cluster.server };
}
