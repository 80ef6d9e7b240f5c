// meshplane's Kubernetes-compatible API as e2e tests use it: real kubectl against a replica's
// kubeconfig, and plain HTTP requests with their timing (for writes whose latency is asserted).
import { execFile } from "node:child_process";

export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Runs `kubectl <args>` against `kubeconfig` (stdin from `input`), bounded by `timeoutMs`.
 * `cacheDir` keeps kubectl's discovery cache out of the user's home.
 */
export function kubectl(
  kubeconfig: string,
  cacheDir: string,
  args: readonly string[],
  input?: string,
  timeoutMs = 30_000,
): Promise<KubectlRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      args,
      {
        env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir },
        timeout: timeoutMs,
        killSignal: "SIGKILL",
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number(error.code ?? 1) || 1 : 0,
          stdout,
          stderr,
          elapsedMs: Date.now() - started,
        }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface ApiReply {
  status: number;
  /** The JSON body (an object or a Kubernetes Status), undefined when not JSON. */
  body: Record<string, unknown> | undefined;
  elapsedMs: number;
}

/** One request to the API at `apiUrl`; never throws on an HTTP error status, only on no reply. */
export async function apiRequest(
  apiUrl: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<ApiReply> {
  const started = Date.now();
  const response = await fetch(new URL(path, apiUrl), {
    method,
    headers: {
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, elapsedMs: Date.now() - started };
}

/** The items' names of a LIST reply. */
export function itemNames(reply: ApiReply): string[] {
  const items = (reply.body?.items ?? []) as { metadata?: { name?: string } }[];
  return items.map((item) => item.metadata?.name ?? "");
}
