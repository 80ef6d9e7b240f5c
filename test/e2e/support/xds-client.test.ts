// Smoke test of examples/quickstart/xds-client.ts and its harness handle, without a control
// plane: command parsing, and calls over a plain dns:/// target (the same process registers the
// xds: scheme, whose bootstrap points at a port nobody listens on).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { parseCommand, shares } from "../../../examples/quickstart/lib/protocol.ts";
import { startGreeter } from "./greeter.ts";
import { startXdsClient } from "./xds-client.ts";

test("parseCommand fills defaults and validates every field", () => {
  const ok = parseCommand('{"id":7,"target":"xds:///greeter:50051"}');
  assert.deepEqual(ok, {
    ok: true,
    command: {
      id: 7,
      target: "xds:///greeter:50051",
      calls: 1,
      concurrency: 1, // never more workers than calls
      deadlineMs: 5_000,
      method: "SayHello",
      name: "meshplane",
      waitForReady: false,
      metadata: {},
    },
  });
  const full = parseCommand(
    JSON.stringify({
      id: 1,
      target: "xds:///greeter:50051",
      calls: 1000,
      method: "SayGoodbye",
      metadata: { "x-user": "ada" },
      deadlineMs: 3000,
      concurrency: 20,
    }),
  );
  assert.ok(full.ok);
  assert.equal(full.command.concurrency, 20);
  assert.deepEqual(full.command.metadata, { "x-user": "ada" });

  const cases: Array<[string, number | null, RegExp]> = [
    ["nope", null, /not JSON/],
    ["[1]", null, /JSON object/],
    ['{"target":"x"}', null, /id must be an integer/],
    ['{"id":1}', 1, /target must be/],
    ['{"id":2,"target":"x","calls":0}', 2, /calls must be an integer in \[1, 100000\]/],
    ['{"id":3,"target":"x","method":"Nope"}', 3, /method must be SayHello or SayGoodbye/],
    ['{"id":4,"target":"x","metadata":{"X-Up":"v"}}', 4, /lower-case/],
    ['{"id":5,"target":"x","metadata":{"a-bin":"v"}}', 5, /-bin/],
    ['{"id":6,"target":"x","metadata":{"a":1}}', 6, /metadata\.a must be a string/],
    ['{"id":7,"target":"x","colls":5}', 7, /unknown field colls/],
    ['{"id":8,"target":"x","deadlineMs":1.5}', 8, /deadlineMs/],
  ];
  for (const [line, id, message] of cases) {
    const result = parseCommand(line);
    assert.equal(result.ok, false, line);
    if (result.ok) continue;
    assert.equal(result.error.id, id, line);
    assert.match(result.error.error, message, line);
  }
});

test("shares counts failures against every backend", () => {
  assert.deepEqual(shares({ ok: 90, counts: { v1: 60, v2: 30 }, errors: { UNAVAILABLE: 10 } }), {
    v1: 60,
    v2: 30,
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

test("xds-client runs commands on long-lived channels and reports errors per status", async (t) => {
  const [v1, broken] = await Promise.all([
    startGreeter({ name: "v1" }),
    startGreeter({ name: "x", failRate: 1 }),
  ]);
  t.after(() => v1.stop());
  t.after(() => broken.stop());
  const port = await closedPort();
  const client = await startXdsClient({
    xdsAddress: `127.0.0.1:${port}`,
    nodeId: "default/smoke",
    namespace: "default",
    bootstrap: {
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: "insecure" }] }],
      node: { id: "default/smoke", locality: {}, metadata: { NAMESPACE: "default" } },
    },
  });
  t.after(() => client.stop());

  const good = await client.call({ target: `dns:///${v1.address}`, calls: 50, concurrency: 5 });
  assert.equal(good.ok, 50);
  assert.deepEqual(good.counts, { v1: 50 });
  assert.deepEqual(good.errors, {});
  assert.ok(good.elapsedMs >= 0);

  const bad = await client.call({ target: `dns:///${broken.address}`, calls: 10, method: "SayGoodbye" });
  assert.equal(bad.ok, 0);
  assert.deepEqual(bad.errors, { UNAVAILABLE: 10 });
  assert.equal(bad.errorSamples.length, 1, "identical failures are sampled once");
  assert.match(bad.errorSamples[0] ?? "", /^UNAVAILABLE: injected failure at x/);

  // Two commands at once: results are matched by id, not by order.
  const [a, b] = await Promise.all([
    client.call({ target: `dns:///${v1.address}`, calls: 20, concurrency: 2 }),
    client.call({ target: `dns:///${v1.address}`, calls: 3 }),
  ]);
  assert.equal(a.ok + b.ok, 23);

  // No control plane behind the bootstrap: xds: calls fail, bounded by their deadline.
  const xds = await client.call({ target: "xds:///greeter:50051", calls: 2, deadlineMs: 500 });
  assert.equal(xds.ok, 0);
  assert.equal(
    Object.values(xds.errors).reduce((s, n) => s + n, 0),
    2,
  );

  await assert.rejects(client.call({ target: "x", calls: -1 }), /rejected #\d+: calls must be/);
  assert.equal(await client.stop(), 0);
});
