// `meshplane --version` and `meshplane version`: this client's version, from meshplane's own
// package.json, and what a running server's API reports at /version. That answer is the Kubernetes
// API version meshplane serves to kubectl (kubectl picks its behaviour by it), not meshplane's own
// release, so it is printed as such.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";

const defaultServer = "http://127.0.0.1:15012";
const serverTimeoutMs = 2000;

/** The version in the nearest package.json above this file: src/cli/ in a clone, dist/src/cli/ in the package. */
export function clientVersion(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
  }
}

interface KubernetesVersion {
  readonly gitVersion?: unknown;
}

/** One line about the server at `url`: what its /version says, or why it did not answer. */
export async function describeServer(url: string): Promise<{ line: string; reached: boolean }> {
  try {
    const endpoint = new URL("version", url.endsWith("/") ? url : `${url}/`);
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(serverTimeoutMs) });
    if (!response.ok)
      return { line: `${url} answered /version with HTTP ${response.status}`, reached: false };
    const body = (await response.json()) as KubernetesVersion;
    return { line: `${url} serves Kubernetes API ${String(body.gitVersion)}`, reached: true };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return { line: `${url} not reachable: ${cause ?? (error as Error).message}`, reached: false };
  }
}

/** `--server`: an http or https URL. */
export function serverUrl(value: string): string {
  const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
  if (protocol !== "http:" && protocol !== "https:")
    throw new InvalidArgumentError(
      `expected an http:// or https:// URL (e.g. ${defaultServer}), got "${value}"`,
    );
  return value;
}

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description("print this client's version and, if a server answers, the API version it serves")
    .option(
      "--server <url>",
      `a meshplane API URL (default: ${defaultServer}, the default --api-address)`,
      serverUrl,
    )
    .action(async (opts: { server?: string }) => {
      process.stdout.write(`client  meshplane ${clientVersion()} (Node.js ${process.version})\n`);
      const server = await describeServer(opts.server ?? defaultServer);
      process.stdout.write(`server  ${server.line}\n`);
      // Only a server the user named is an error when it does not answer.
      if (!server.reached && opts.server !== undefined) process.exitCode = 1;
    });
}
