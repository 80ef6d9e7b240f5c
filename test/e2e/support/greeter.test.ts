// Smoke test of the greeter backend and its harness handle, with a plain (non-xDS) grpc-js client.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { callGreeter } from "../../../examples/quickstart/lib/greeter-proto.ts";
import { startGreeter } from "./greeter.ts";

function plainClient(t: { after(fn: () => void): void }, address: string): grpc.Client {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  t.after(() => client.close());
  return client;
}

test("greeter replies with its name on both methods", async (t) => {
  const greeter = await startGreeter({ name: "v1" });
  t.after(() => greeter.stop());
  assert.match(greeter.address, /^127\.0\.0\.1:\d+$/);
  assert.ok(greeter.port > 0);
  const client = plainClient(t, greeter.address);

  const hello = await callGreeter(client, "SayHello", { name: "ada" }, { deadlineMs: 5_000 });
  assert.deepEqual(hello, { message: "Hello, ada, from v1", backend: "v1" });
  const bye = await callGreeter(
    client,
    "SayGoodbye",
    { name: "ada" },
    { deadlineMs: 5_000, metadata: { k: "v" } },
  );
  assert.deepEqual(bye, { message: "Goodbye, ada, from v1", backend: "v1" });
});

test("--fail-rate 1 answers UNAVAILABLE", async (t) => {
  const greeter = await startGreeter({ name: "broken", failRate: 1 });
  t.after(() => greeter.stop());
  const client = plainClient(t, greeter.address);
  await assert.rejects(
    callGreeter(client, "SayHello", { name: "x" }, { deadlineMs: 5_000 }),
    (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.UNAVAILABLE);
      assert.match(error.details, /injected failure at broken/);
      return true;
    },
  );
});

test("stop() shuts down gracefully with exit code 0", async () => {
  const greeter = await startGreeter({ name: "v1" });
  assert.equal(await greeter.stop(), 0);
});

test("a busy port fails fast with the reason", async (t) => {
  const first = await startGreeter({ name: "first" });
  t.after(() => first.stop());
  await assert.rejects(startGreeter({ name: "second", port: first.port }), /greeter failed to bind/);
});
