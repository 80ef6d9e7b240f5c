// Workload identities for e2e tests, obtained the way a workload obtains one: `meshplane token
// create` mints a join token (from the CA under --data-dir), `meshplane agent` trades it for a
// certificate from the running control plane's CA and keeps the files renewed in a directory that
// `meshplane bootstrap --cert-dir` names. Also a free TCP port for servers that must know theirs
// before they bind (an xDS-enabled server asks for its listener by address).
import { createServer } from "node:net";
import { join } from "node:path";
import { spawnChild, type Child } from "../../../examples/quickstart/lib/child.ts";
import { runCli } from "./meshplane.ts";
import { cliPath, repoRoot } from "./paths.ts";

export interface WorkloadIdentityOptions {
  /** The control plane's --data-dir (its CA signs the token). */
  dataDir: string;
  /** The signing endpoint (`caAddress` of the "meshplane ready" line). */
  caAddress: string;
  namespace: string;
  serviceAccount: string;
  /** A directory of the test's own; the token file and the cert directory go in it. */
  workDir: string;
}

export interface WorkloadIdentity {
  readonly spiffeId: string;
  /** cert-chain.pem, key.pem, root-cert.pem, kept fresh by the agent. */
  readonly certDir: string;
  tail(lines?: number): string;
  stop(): Promise<number | null>;
}

/** Starts `meshplane agent` for one identity; resolves once its first certificate is written. */
export async function startWorkloadIdentity(options: WorkloadIdentityOptions): Promise<WorkloadIdentity> {
  const name = `${options.namespace}-${options.serviceAccount}`;
  const tokenFile = join(options.workDir, `token-${name}`);
  const created = await runCli([
    "token",
    "create",
    "--data-dir",
    options.dataDir,
    "--namespace",
    options.namespace,
    "--service-account",
    options.serviceAccount,
    "-o",
    tokenFile,
  ]);
  if (created.code !== 0) throw new Error(`meshplane token create exited ${created.code}: ${created.stderr}`);
  const certDir = join(options.workDir, `certs-${name}`);
  const agent: Child = spawnChild(
    `agent ${name}`,
    [cliPath, "agent", "--token-file", tokenFile, "--cert-dir", certDir, "--ca-address", options.caAddress],
    { cwd: repoRoot },
  );
  try {
    const written = await agent.waitForJson(
      (line) => line.msg === "workload certificate written",
      10_000,
      `the agent's first certificate for ${name}`,
    );
    return {
      spiffeId: String(written.spiffeId ?? ""),
      certDir,
      tail: (lines) => agent.tail(lines),
      stop: () => agent.stop(2_000),
    };
  } catch (error) {
    await agent.stop(2_000);
    throw error;
  }
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** An API object to POST: where and what. */
export interface ApiObject {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** The Namespace object for `namespace`. */
export function namespaceObject(namespace: string): ApiObject {
  return {
    path: "/api/v1/namespaces",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  };
}

/**
 * A Service (gRPC port `servicePort`) whose one endpoint is the server at 127.0.0.1:`port`, with
 * its EndpointSlice; `serviceAccounts` (comma-separated) names who serves it, else the Service.
 */
export function loopbackServiceObjects(options: {
  namespace: string;
  name: string;
  servicePort: number;
  port: number;
  serviceAccounts?: string;
}): ApiObject[] {
  const { namespace, name, servicePort, port, serviceAccounts } = options;
  return [
    {
      path: `/api/v1/namespaces/${namespace}/services`,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
          name,
          namespace,
          ...(serviceAccounts && { annotations: { "meshplane.dev/service-accounts": serviceAccounts } }),
        },
        spec: { ports: [{ name: "grpc", port: servicePort, targetPort: port }] },
      },
    },
    {
      path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      body: {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: `${name}-1`, namespace, labels: { "kubernetes.io/service-name": name } },
        addressType: "IPv4",
        ports: [{ name: "grpc", port }],
        endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
      },
    },
  ];
}

/** A namespace-wide STRICT PeerAuthentication named `strict`. */
export function strictPeerAuthentication(namespace: string): ApiObject {
  return {
    path: `/apis/meshplane.dev/v1alpha1/namespaces/${namespace}/peerauthentications`,
    body: {
      apiVersion: "meshplane.dev/v1alpha1",
      kind: "PeerAuthentication",
      metadata: { name: "strict", namespace },
      spec: { mtls: { mode: "STRICT" } },
    },
  };
}
