// promtool (Debian package `prometheus`) for tests that lint a Prometheus exposition. Locally a
// missing promtool skips the test; under CI it fails, because CI installs it.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import assert from "node:assert/strict";
import type { TestContext } from "node:test";

export function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** `promtool check metrics` with `exposition` on stdin; bounded by `timeoutMs`. */
export function promtoolCheckMetrics(
  exposition: string,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(exposition);
  });
}

/** True when promtool can run; otherwise skips `t` (or fails it under CI). */
export function requirePromtool(t: TestContext): boolean {
  if (onPath("promtool")) return true;
  if (process.env.CI) {
    assert.fail(
      "promtool not on PATH: install the Debian package `prometheus` (apt-get install -y prometheus)",
    );
  }
  t.skip("promtool not installed: apt-get install -y prometheus");
  return false;
}
