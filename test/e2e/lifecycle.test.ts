// The meshplane process: readiness, a clean and bounded SIGTERM with a client connected, and
// failed starts that exit non-zero with a log line saying why (address in use, no config dir).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import {
  adminText,
  assertAllOn,
  greeterMesh,
  parseJsonLines,
  proxySync,
  runCli,
  startMeshFixture,
  tempConfigDir,
  warmUp,
} from "./support/index.ts";

async function holdPort(t: { after(fn: () => unknown): void }): Promise<string> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve());
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  return `127.0.0.1:${address.port}`;
}

test(
  "/readyz is 200 once ready; SIGTERM with a connected client exits 0 within 5 s",
  { timeout: 60_000 },
  async (t) => {
    const target = "xds:///greeter-v1:50051";
    const mesh = await startMeshFixture((fn) => t.after(fn), {
      greeters: ["v1", "v2"],
      nodeId: "default/lifecycle-client",
      files: ({ v1, v2 }) => ({ "mesh.yaml": greeterMesh({ v1Port: v1!.port, v2Port: v2!.port }).render() }),
    });
    assert.equal(
      await adminText(mesh.admin, "/readyz"),
      "ok\n",
      "/readyz answers 200 ok once meshplane is ready",
    );
    assert.equal(await adminText(mesh.admin, "/healthz"), "ok\n", "/healthz answers 200 ok");
    await warmUp(mesh.client, target);
    const proxy = await proxySync(mesh.admin, mesh.nodeId);
    assert.ok(proxy, `the client's ADS stream is open before SIGTERM (syncz has ${mesh.nodeId})`);

    const started = performance.now();
    const code = await mesh.meshplane.stop();
    const elapsedMs = Math.round(performance.now() - started);
    assert.equal(code, 0, `exit code after SIGTERM (${elapsedMs} ms)\n${mesh.meshplane.tail(15)}`);
    assert.ok(
      elapsedMs < 5_000,
      `SIGTERM to exit took ${elapsedMs} ms (limit 5000)\n${mesh.meshplane.tail(15)}`,
    );
    const messages = mesh.meshplane.logs().map((line) => line.msg);
    for (const msg of ["shutting down", "stopped"]) {
      assert.ok(
        messages.includes(msg),
        `log line "${msg}" after SIGTERM; log messages: ${JSON.stringify(messages.slice(-10))}`,
      );
    }
    t.diagnostic(`SIGTERM → exit 0 in ${elapsedMs} ms with a client connected`);

    // Without its control plane the client keeps calling on the config it has.
    const result = await mesh.client.call({ target, calls: 20, concurrency: 5 });
    assertAllOn(result, "v1", "calls after meshplane stopped (cached xDS config)");
  },
);

for (const which of ["xds", "admin"] as const) {
  test(
    `an ${which} address in use: non-zero exit and a log line naming the address`,
    { timeout: 30_000 },
    async (t) => {
      const config = await tempConfigDir({});
      t.after(() => config.stop());
      const taken = await holdPort(t);
      const args = [
        "serve",
        "--config-dir",
        config.path,
        "--xds-address",
        "127.0.0.1:0",
        "--admin-address",
        "127.0.0.1:0",
      ];
      args[args.indexOf(`--${which}-address`) + 1] = taken;
      const run = await runCli(args, 15_000);
      const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
      assert.ok(
        run.code !== 0 && run.code !== null,
        `exit code ${run.code} (null: killed at the timeout)\n${output}`,
      );
      const lines = parseJsonLines(run.stdout);
      assert.ok(!lines.some((l) => l.msg === "meshplane ready"), `never ready\n${output}`);
      const fatal = lines.find((l) => l.level === "fatal");
      assert.ok(fatal, `a fatal log line\n${output}`);
      assert.ok(
        String(fatal.msg).includes(taken),
        `the fatal line names ${taken}: ${JSON.stringify(fatal.msg)}`,
      );
      assert.match(
        String(fatal.msg),
        /in use/,
        `the fatal line says the address is in use: ${JSON.stringify(fatal.msg)}`,
      );
      t.diagnostic(`fatal: ${String(fatal.msg)}`);
    },
  );
}

test(
  "a missing config dir: non-zero exit and a log line naming the directory",
  { timeout: 30_000 },
  async (t) => {
    const config = await tempConfigDir({});
    t.after(() => config.stop());
    const missing = join(config.path, "does-not-exist");
    const run = await runCli([
      "serve",
      "--config-dir",
      missing,
      "--xds-address",
      "127.0.0.1:0",
      "--admin-address",
      "127.0.0.1:0",
    ]);
    const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    assert.ok(
      run.code !== 0 && run.code !== null,
      `exit code ${run.code} (null: killed at the timeout)\n${output}`,
    );
    const fatal = parseJsonLines(run.stdout).find((l) => l.level === "fatal");
    assert.ok(fatal, `a fatal log line\n${output}`);
    assert.ok(
      String(fatal.msg).includes(missing),
      `the fatal line names ${missing}: ${JSON.stringify(fatal.msg)}`,
    );
    t.diagnostic(`fatal: ${String(fatal.msg)}`);
  },
);
