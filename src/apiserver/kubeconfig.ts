// A kubeconfig for the standalone API server: one cluster, user and context named `meshplane`,
// namespace `default`. client-node refuses plain http unless the cluster says
// insecure-skip-tls-verify (config.ts), so http servers always get it.
import { stringify } from "yaml";

export interface KubeconfigOptions {
  /** `http://127.0.0.1:6443` or `https://...`. */
  readonly server: string;
  /** Bearer token. kubectl (client-go) sends it only to an https server, never over plain http. */
  readonly token?: string | undefined;
  /** Skip certificate verification (always on for http). */
  readonly insecureSkipTlsVerify?: boolean | undefined;
  /** PEM of the CA that signed the server certificate (written base64-encoded). */
  readonly caData?: string | undefined;
  /** Context, cluster and user name; `meshplane` by default. */
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
}

export function writeKubeconfig(options: KubeconfigOptions): string {
  const name = options.name ?? "meshplane";
  const plainHttp = options.server.startsWith("http://");
  const cluster: Record<string, unknown> = { server: options.server };
  if (options.caData !== undefined && !plainHttp) {
    cluster["certificate-authority-data"] = Buffer.from(options.caData).toString("base64");
  }
  if (plainHttp || options.insecureSkipTlsVerify === true) cluster["insecure-skip-tls-verify"] = true;
  const user: Record<string, unknown> = options.token === undefined ? {} : { token: options.token };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: options.namespace ?? "default" } }],
    "current-context": name,
  });
}
