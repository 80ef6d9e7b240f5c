// The gRPC implementations the e2e suite runs its greeters and proxyless clients on: grpc-js
// (@grpc/grpc-js-xds, the quick start's own programs) and gRPC C-core through Debian's
// python3-grpcio (test/e2e/support/python/, speaking the same flags, lines and protocol).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { greeterServerPath, xdsClientPath } from "./paths.ts";

export type Implementation = "grpc-js" | "c-core";

/** Debian's interpreter, which python3-grpcio installs into (another python3 may come first on PATH). */
export const systemPython = "/usr/bin/python3";
export const ccoreInstallHint =
  "gRPC C-core for Python not installed: apt-get install -y python3-grpcio (runs with /usr/bin/python3)";

const pythonDir = fileURLToPath(new URL("./python/", import.meta.url));
// -B: no __pycache__ in the source tree; -E: no PYTHON* variables from the caller's environment
// (e.g. a pyenv's PYTHONPATH); -s: no user site-packages. The script's directory stays on sys.path.
const pythonFlags = ["-B", "-E", "-s"];

/** The command line of one test program (`greeter` server or `xds-client`) on `implementation`. */
export function programFor(
  implementation: Implementation,
  program: "greeter" | "xds-client",
): { command: string; args: string[] } {
  if (implementation === "grpc-js") {
    return { command: process.execPath, args: [program === "greeter" ? greeterServerPath : xdsClientPath] };
  }
  const script = program === "greeter" ? "greeter_server.py" : "xds_client.py";
  return { command: systemPython, args: [...pythonFlags, `${pythonDir}${script}`] };
}

let detected: string | null | undefined;

/** grpcio's version (`1.51.1`) if `/usr/bin/python3` can import it, else undefined. Probed once. */
export function ccoreVersion(): string | undefined {
  if (detected === undefined) {
    const probe = spawnSync(systemPython, [...pythonFlags, "-c", "import grpc; print(grpc.__version__)"], {
      encoding: "utf8",
      timeout: 10_000,
    });
    detected = probe.status === 0 ? probe.stdout.trim() : null;
  }
  return detected ?? undefined;
}

/** `version` (`1.51.1`) is older than `major.minor`. */
export function versionBelow(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split(".").map(Number);
  return a < major || (a === major && b < minor);
}
