// The published package as a user gets it: `npm pack` (its prepack script builds dist/), then
// `npm install -g` of the tarball into an empty prefix, then the installed `meshplane` command:
// --version, --help defaults, `serve` on the embedded sqlite store until SIGTERM, `version`
// against that server, and the quick-start demo. It also checks that no test code ships, that
// installing does not fetch buf (the proto generator), and that an older Node gets a one-line error.
// Packing runs in a copy of the working tree, because the build replaces dist/. npm must reach
// its registry or have every dependency in its cache (--prefer-offline). About 60-90 s on 2 cores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, stat, symlink } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { spawnChild } from "../../examples/quickstart/lib/child.ts";
import { requireDemoPorts } from "./support/demo-ports.ts";
import { repoRoot, waitFor } from "./support/index.ts";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

interface PackedFile {
  readonly path: string;
  readonly size: number;
}

interface PackResult {
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly PackedFile[];
}

/** This Node (24) first on PATH, and none of an outer `npm test`'s npm_* settings. */
function childEnv(pathFirst: string = dirname(process.execPath)): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_") && key !== "NODE_TEST_CONTEXT") env[key] = value;
  }
  env.PATH = `${pathFirst}${delimiter}${process.env.PATH ?? ""}`;
  return env;
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? childEnv(),
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === "number" ? error.code : null) : 0,
          stdout,
          stderr,
          ms: Date.now() - started,
        }),
    );
  });
}

function explain(what: string, result: Run): string {
  return `${what}: exit ${result.code} after ${result.ms} ms\n--- stdout ---\n${result.stdout.slice(-4000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`;
}

/** Every file under `dir` (relative paths), without descending into `skip` folders. */
async function listFiles(dir: string, skip: readonly string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .filter((path) => !skip.some((folder) => path === folder || path.startsWith(`${folder}/`)));
}

async function totalBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const file of await listFiles(dir)) bytes += (await stat(join(dir, file))).size;
  return bytes;
}

/** A `node` other than this one whose major version is below `major`, if the machine has one. */
async function olderNode(major: number): Promise<{ path: string; version: string } | undefined> {
  for (const path of ["/usr/bin/node", "/usr/local/bin/node", "/bin/node"]) {
    if (!existsSync(path)) continue;
    const result = await run(path, ["--version"], { timeoutMs: 10_000 });
    const version = result.stdout.trim();
    if (result.code === 0 && Number(/^v(\d+)/.exec(version)?.[1]) < major) return { path, version };
  }
  return undefined;
}

// Top-level folders of the working tree that are not sources: dependencies, build output, state.
const notCopied = new Set(["node_modules", "dist", ".git", ".meshplane", "proto/.work", "bench/results"]);

test(
  "npm pack + npm install -g: the installed meshplane runs on Node 24 and ships no test code",
  { timeout: 420_000 },
  async (t) => {
    const { version } = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    const work = await mkdtemp(join(tmpdir(), "meshplane-package-"));
    t.after(() => rm(work, { recursive: true, force: true }));
    const clone = join(work, "clone");
    await cp(repoRoot, clone, {
      recursive: true,
      filter: (source) => !notCopied.has(relative(repoRoot, source)),
    });
    await symlink(join(repoRoot, "node_modules"), join(clone, "node_modules"));

    await t.test("in a clone (no dist/), npx meshplane runs the sources", async () => {
      const npx = await run("npx", ["meshplane", "--version"], { cwd: clone, timeoutMs: 60_000 });
      assert.equal(npx.code, 0, explain("npx meshplane --version", npx));
      assert.equal(npx.stdout.trim(), version);
    });

    const packed = await run("npm", ["pack", "--pack-destination", work, "--json"], {
      cwd: clone,
      timeoutMs: 240_000,
    });
    assert.equal(packed.code, 0, explain("npm pack", packed));
    const jsonStart = /^\[$/m.exec(packed.stdout)?.index;
    assert.ok(jsonStart !== undefined, explain("npm pack --json printed no JSON", packed));
    const [pack] = JSON.parse(packed.stdout.slice(jsonStart)) as PackResult[];
    assert.ok(pack);
    const paths = pack.files.map((file) => file.path);
    t.diagnostic(
      `npm pack: ${pack.entryCount} files, ${pack.size} bytes packed, ${pack.unpackedSize} unpacked, ${packed.ms} ms`,
    );

    await t.test("the package holds the compiled CLI and demo, and no test code", () => {
      for (const needed of [
        "bin/meshplane.js",
        "dist/src/cli/main.js",
        "dist/examples/quickstart/demo.js",
        "dist/examples/quickstart/rollback-demo.js",
        "dist/examples/quickstart/lib/grpc-metrics.js",
        "dist/examples/quickstart/greeter.proto",
        "dist/examples/quickstart/mesh/20-greeter-split.yaml",
        "dist/dashboard/dist/index.html",
      ])
        assert.ok(paths.includes(needed), `${needed} is in the package`);
      const testCode = paths.filter(
        (path) => /\.test\./.test(path) || /(^|\/)testing(\.|\/)/.test(path) || /(^|\/)testdata\//.test(path),
      );
      assert.deepEqual(testCode, [], "test files, testing modules and golden testdata stay out");
      // Node does not strip types under node_modules: a .ts file there could not run.
      assert.deepEqual(
        paths.filter((path) => path.endsWith(".ts")),
        [],
        "only compiled JavaScript ships",
      );
    });

    const prefix = join(work, "prefix");
    const tarball = join(work, `meshplane-${version}.tgz`);
    const installed = await run(
      "npm",
      ["install", "-g", "--prefix", prefix, tarball, "--prefer-offline", "--no-audit", "--no-fund"],
      { cwd: work, timeoutMs: 240_000 },
    );
    assert.equal(installed.code, 0, explain("npm install -g", installed));
    const packageDir = join(prefix, "lib", "node_modules", "meshplane");
    t.diagnostic(
      `npm install -g: ${installed.ms} ms, ${await totalBytes(prefix)} bytes installed with dependencies`,
    );
    const bin = join(prefix, "bin", "meshplane");

    await t.test("no installed module of meshplane imports node:test or node:assert", async () => {
      const offenders: string[] = [];
      for (const file of await listFiles(packageDir, ["node_modules"])) {
        if (!file.endsWith(".js")) continue;
        const text = await readFile(join(packageDir, file), "utf8");
        if (/(from\s*|import\s*\(\s*)["']node:(test|assert)/.test(text)) offenders.push(file);
      }
      assert.deepEqual(offenders, [], "test-only modules (they import node:test or node:assert)");
    });

    await t.test("installing does not fetch buf or run meshplane scripts", async () => {
      const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
        scripts?: Record<string, string>;
        dependencies?: Record<string, string>;
        optionalDependencies?: Record<string, string>;
      };
      const installScripts = ["preinstall", "install", "postinstall", "prepare"].filter(
        (name) => manifest.scripts?.[name] !== undefined,
      );
      assert.deepEqual(installScripts, [], "the package runs nothing at install");
      const deps = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
      assert.deepEqual(
        deps.filter((name) => name.startsWith("@bufbuild/buf")),
        [],
        "buf is a build tool, not a dependency",
      );
      const bufbuild = join(packageDir, "node_modules", "@bufbuild");
      const bufInstalled = existsSync(bufbuild)
        ? (await readdir(bufbuild)).filter((name) => name.startsWith("buf"))
        : [];
      assert.deepEqual(bufInstalled, []);
    });

    await t.test("meshplane --version, and serve --help shows defaults as host:port", async () => {
      const printed = await run(bin, ["--version"], { timeoutMs: 30_000 });
      assert.equal(printed.code, 0, explain("meshplane --version", printed));
      assert.equal(printed.stdout.trim(), version);
      const help = await run(bin, ["serve", "--help"], { timeoutMs: 30_000 });
      assert.equal(help.code, 0, explain("meshplane serve --help", help));
      const text = help.stdout.replace(/\s+/g, " "); // commander wraps at 80 columns
      assert.match(text, /--xds-address <host:port> .*?\(default: 127\.0\.0\.1:15010\)/);
      assert.match(text, /--api-address <host:port> .*?\(default: 127\.0\.0\.1:15012\)/);
      assert.doesNotMatch(text, /"host"/);
    });

    await t.test(
      "meshplane serve starts on the embedded sqlite store, is ready, exits 0 on SIGTERM",
      async () => {
        const dataDir = join(work, "data");
        const server = spawnChild(
          "meshplane serve (installed)",
          [
            bin,
            "serve",
            "--data-dir",
            dataDir,
            "--xds-address",
            "127.0.0.1:0",
            "--admin-address",
            "127.0.0.1:0",
            "--api-address",
            "127.0.0.1:0",
            "--dashboard-address",
            "127.0.0.1:0",
          ],
          { env: childEnv() },
        );
        t.after(() => server.stop(2_000));
        const ready = await server.waitForJson(
          (line) => line.msg === "meshplane ready",
          30_000,
          "meshplane ready",
        );
        const adminAddress = String(ready.adminAddress);
        await waitFor(
          async () =>
            (await fetch(`http://${adminAddress}/readyz`, { signal: AbortSignal.timeout(2_000) })).status ===
            200,
          { timeoutMs: 15_000, message: `/readyz on ${adminAddress} answers 200` },
        );
        assert.ok(existsSync(join(dataDir, "meshplane.db")), "the sqlite store is in --data-dir");

        // The built dashboard ships: its page and the script the page loads.
        const dashboardUrl = String(ready.dashboardUrl);
        const page = await fetch(dashboardUrl, { signal: AbortSignal.timeout(5_000) });
        const html = await page.text();
        assert.equal(page.status, 200, `GET ${dashboardUrl}: ${html}`);
        const script = /<script type="module"[^>]*\ssrc="([^"]+)"/.exec(html)?.[1];
        assert.ok(script, `the page loads a module script: ${html}`);
        const bundle = await fetch(new URL(script, dashboardUrl), { signal: AbortSignal.timeout(5_000) });
        assert.equal(bundle.status, 200);
        assert.match(bundle.headers.get("content-type") ?? "", /^text\/javascript/);

        const versions = await run(bin, ["version", "--server", String(ready.apiUrl)], { timeoutMs: 30_000 });
        assert.equal(versions.code, 0, explain("meshplane version --server", versions));
        assert.match(
          versions.stdout,
          new RegExp(`^client {2}meshplane ${version.replaceAll(".", "\\.")} `, "m"),
        );
        assert.match(versions.stdout, /^server {2}http:\/\/127\.0\.0\.1:\d+ serves Kubernetes API v1\.\d+/m);

        const code = await server.stop(10_000);
        assert.equal(code, 0, `exit code after SIGTERM\n${server.tail()}`);
      },
    );

    await t.test("meshplane demo runs the quick start from the installed package", async (t) => {
      if (!(await requireDemoPorts(t))) return;
      const demo = spawnChild("meshplane demo (installed)", [bin, "demo", "--calls", "3000"], {
        env: childEnv(),
        cwd: work,
      });
      t.after(() => demo.stop(8_000));
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        demo.exited,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 120_000))),
      ]);
      clearTimeout(timer);
      assert.ok(exit, `the demo finished within 120 s\n${demo.tail(60)}`);
      const lines = demo.stdoutLines();
      assert.ok(
        lines.some((line) => /^PASS\s+90\/10 split/.test(line)),
        `PASS 90/10\n${demo.tail(60)}`,
      );
      assert.ok(
        lines.some((line) => /^PASS\s+50\/50 split .*after a live edit/.test(line)),
        `PASS 50/50\n${demo.tail(60)}`,
      );
      assert.equal(exit.code, 0, demo.tail(60));
    });

    await t.test("an older Node gets one line naming the Node meshplane needs", async (t) => {
      const old = await olderNode(24);
      if (!old) {
        // CI runs on machines whose system Node is 20, so the check must run there.
        if (process.env.CI)
          assert.fail("no Node older than 24 on this machine (the system node is expected to be 20)");
        t.skip("no Node older than 24 on this machine");
        return;
      }
      // The bin's shebang (`env node`) finds the older Node first on PATH, as a user's shell would.
      const result = await run(bin, ["--version"], { env: childEnv(dirname(old.path)), timeoutMs: 30_000 });
      assert.equal(result.code, 1, explain(`meshplane --version on ${old.version}`, result));
      assert.equal(result.stdout, "");
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `one line:\n${result.stderr}`);
      assert.match(lines[0] ?? "", /needs Node\.js >=24/);
      assert.ok(lines[0]?.includes(old.version), `names the running version ${old.version}: ${lines[0]}`);
      t.diagnostic(`${old.path} (${old.version}): ${lines[0]}`);
    });
  },
);
