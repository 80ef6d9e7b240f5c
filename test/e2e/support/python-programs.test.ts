// The gRPC C-core twins of the quick-start programs (test/e2e/support/python/), without a control
// plane: protobuf wire compatibility with grpc-js both ways, the greeter's flags, lines, signals
// and exit codes, and the client's line protocol, validated exactly as lib/protocol.ts does.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { spawnChild } from "../../../examples/quickstart/lib/child.ts";
import { callGreeter } from "../../../examples/quickstart/lib/greeter-proto.ts";
import { parseCommand } from "../../../examples/quickstart/lib/protocol.ts";
import { startGreeter } from "./greeter.ts";
import { ccoreInstallHint, ccoreVersion, programFor } from "./implementations.ts";
import { repoRoot } from "./paths.ts";
import { startXdsClient } from "./xds-client.ts";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

const version = ccoreVersion();
if (!version) {
  if (process.env.CI) test("gRPC C-core test programs", () => assert.fail(ccoreInstallHint));
  else test("gRPC C-core test programs", { skip: ccoreInstallHint }, () => {});
} else {
  describe(`gRPC C-core test programs (python3-grpcio ${version})`, { timeout: 60_000 }, () => {
    test("the C-core greeter answers a grpc-js client on both methods, and fails on demand", async (t) => {
      const [v1, broken] = await Promise.all([
        startGreeter({ name: "v1", implementation: "c-core" }),
        startGreeter({ name: "broken", failRate: 1, implementation: "c-core" }),
      ]);
      t.after(() => v1.stop());
      t.after(() => broken.stop());
      assert.match(v1.address, /^127\.0\.0\.1:\d+$/);
      const client = new grpc.Client(v1.address, grpc.credentials.createInsecure());
      t.after(() => client.close());
      const options = { deadlineMs: 5_000, metadata: { k: "v" } };
      assert.deepEqual(await callGreeter(client, "SayHello", { name: "ada" }, options), {
        message: "Hello, ada, from v1",
        backend: "v1",
      });
      assert.deepEqual(await callGreeter(client, "SayGoodbye", { name: "" }, options), {
        message: "Goodbye, stranger, from v1",
        backend: "v1",
      });

      const failing = new grpc.Client(broken.address, grpc.credentials.createInsecure());
      t.after(() => failing.close());
      await assert.rejects(
        callGreeter(failing, "SayHello", { name: "x" }, options),
        (error: grpc.ServiceError) => {
          assert.equal(error.code, grpc.status.UNAVAILABLE);
          assert.match(error.details, /^injected failure at broken \(fail-rate 1\)$/);
          return true;
        },
      );
    });

    test("SIGUSR1 makes the C-core greeter sick, SIGUSR2 healthy; stop() exits 0", async (t) => {
      const greeter = await startGreeter({ name: "g", implementation: "c-core" });
      t.after(() => greeter.stop());
      const client = new grpc.Client(greeter.address, grpc.credentials.createInsecure());
      t.after(() => client.close());
      const hello = () => callGreeter(client, "SayHello", { name: "x" }, { deadlineMs: 5_000 });
      await greeter.setSick(true);
      await assert.rejects(hello(), (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.UNAVAILABLE);
        assert.equal(error.details, "g is sick (SIGUSR1)");
        return true;
      });
      await greeter.setSick(false);
      assert.equal((await hello()).backend, "g");
      const started = Date.now();
      assert.equal(await greeter.stop(), 0);
      assert.ok(Date.now() - started < 4_000, `an idle greeter stops within its grace time`);
    });

    test("a busy port or a bad flag fails fast with the reason", async (t) => {
      const first = await startGreeter({ name: "first", implementation: "c-core" });
      t.after(() => first.stop());
      await assert.rejects(
        startGreeter({ name: "second", port: first.port, implementation: "c-core" }),
        /greeter failed to bind/,
      );
      await assert.rejects(
        startGreeter({ name: "x", failRate: 2, implementation: "c-core" }),
        /--fail-rate must be a number in \[0, 1\]/,
      );
    });

    test("the C-core client calls grpc-js and C-core greeters and reports errors per status", async (t) => {
      const [js, py, broken] = await Promise.all([
        startGreeter({ name: "js" }),
        startGreeter({ name: "py", implementation: "c-core" }),
        startGreeter({ name: "x", failRate: 1, implementation: "c-core" }),
      ]);
      for (const greeter of [js, py, broken]) t.after(() => greeter.stop());
      const port = await closedPort();
      const client = await startXdsClient({
        xdsAddress: `127.0.0.1:${port}`,
        nodeId: "default/ccore-smoke",
        namespace: "default",
        implementation: "c-core",
        bootstrap: {
          xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: "insecure" }] }],
          node: { id: "default/ccore-smoke", locality: {}, metadata: { NAMESPACE: "default" } },
        },
      });
      t.after(() => client.stop());

      for (const greeter of [js, py]) {
        const good = await client.call({ target: `dns:///${greeter.address}`, calls: 50, concurrency: 5 });
        assert.deepEqual(
          { ok: good.ok, counts: good.counts, errors: good.errors },
          { ok: 50, counts: { [greeter.name]: 50 }, errors: {} },
        );
      }
      const bad = await client.call({ target: `dns:///${broken.address}`, calls: 10, method: "SayGoodbye" });
      assert.equal(bad.ok, 0);
      assert.deepEqual(bad.errors, { UNAVAILABLE: 10 });
      assert.deepEqual(bad.errorSamples, ["UNAVAILABLE: injected failure at x (fail-rate 1)"]);

      // Two commands at once: results are matched by id, not by order.
      const [a, b] = await Promise.all([
        client.call({ target: `dns:///${py.address}`, calls: 20, concurrency: 2 }),
        client.call({ target: `dns:///${js.address}`, calls: 3 }),
      ]);
      assert.deepEqual([a.counts, b.counts], [{ py: 20 }, { js: 3 }]);

      // No control plane behind the bootstrap: xds: calls fail, bounded by their deadline.
      const xds = await client.call({ target: "xds:///greeter:50051", calls: 2, deadlineMs: 500 });
      assert.equal(xds.ok, 0);
      assert.equal(
        Object.values(xds.errors).reduce((s, n) => s + n, 0),
        2,
        JSON.stringify(xds),
      );

      await assert.rejects(client.call({ target: "x", calls: -1 }), /rejected #\d+: calls must be/);
      assert.equal(await client.stop(), 0);
    });

    test("the C-core client refuses exactly the commands parseCommand refuses, with the same words", async () => {
      const lines = [
        "nope",
        "[1]",
        '{"target":"x"}',
        '{"id":1}',
        '{"id":2,"target":"x","calls":0}',
        '{"id":3,"target":"x","method":"Nope"}',
        '{"id":4,"target":"x","metadata":{"X-Up":"v"}}',
        '{"id":5,"target":"x","metadata":{"a-bin":"v"}}',
        '{"id":6,"target":"x","metadata":{"a":1}}',
        '{"id":7,"target":"x","colls":5}',
        '{"id":8,"target":"x","deadlineMs":1.5}',
        '{"id":9,"target":"x","calls":true,"waitForReady":1,"name":3,"concurrency":1001}',
        '{"id":10,"target":"x","calls":null,"metadata":null,"method":null,"deadlineMs":2.0}',
      ];
      const program = programFor("c-core", "xds-client");
      const child = spawnChild("xds-client (parse)", program.args, {
        command: program.command,
        cwd: repoRoot,
        stdin: true,
      });
      try {
        await child.waitForJson((json) => json.msg === "xds client ready", 10_000, "ready");
        for (const line of lines) child.write(line);
        child.endInput();
        const exit = await child.exited;
        assert.equal(exit.code, 0, child.tail());
        const answers = child.jsonLines().filter((json) => json.msg === undefined);
        const expected = lines.map((line) => {
          const parsed = parseCommand(line);
          assert.equal(parsed.ok, false, line);
          return parsed.ok ? undefined : { id: parsed.error.id, error: parsed.error.error };
        });
        // JSON.parse's own message differs by language; the rest must match word for word.
        const comparable = (answer: unknown) => {
          const { id, error } = answer as { id: number | null; error: string };
          return { id, error: error.startsWith("not JSON: ") ? "not JSON" : error };
        };
        assert.deepEqual(answers.map(comparable), expected.map(comparable));
      } finally {
        await child.stop(2_000);
      }
    });
  });
}
