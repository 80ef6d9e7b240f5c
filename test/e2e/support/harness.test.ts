// The harness end to end: meshplane + two greeters on random ports + a real grpc-js-xds client,
// the quick-start scenario (90/10, live edit to 50/50), and the three name forms of the target.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ackedVersion,
  adminJson,
  adminText,
  configErrors,
  greeterMesh,
  shares,
  startGreeter,
  startMeshplane,
  startXdsClient,
  tempConfigDir,
  waitForAckChange,
  waitForInSync,
  type Syncz,
} from "./index.ts";

test("harness: canary split, live edit, short and long names", { timeout: 90_000 }, async (t) => {
  const [v1, v2] = await Promise.all([startGreeter({ name: "v1" }), startGreeter({ name: "v2" })]);
  t.after(() => v1.stop());
  t.after(() => v2.stop());
  const config = await tempConfigDir({
    "mesh.yaml": greeterMesh({ v1Port: v1.port, v2Port: v2.port, weights: [90, 10] }).render(),
  });
  t.after(() => config.stop());

  const meshplane = await startMeshplane({ configDir: config.path });
  let meshplaneStopped = false;
  t.after(() => (meshplaneStopped ? undefined : meshplane.stop()));
  assert.match(meshplane.xdsAddress, /^127\.0\.0\.1:\d+$/);
  assert.match(meshplane.adminAddress, /^127\.0\.0\.1:\d+$/);
  assert.ok(meshplane.logs().some((line) => line.msg === "meshplane ready"));
  await adminText(meshplane.adminAddress, "/readyz"); // throws unless 2xx
  assert.match(await adminText(meshplane.adminAddress, "/metrics"), /^# HELP /m);
  assert.deepEqual(await configErrors(meshplane.adminAddress), []);

  const nodeId = "default/harness-client";
  const client = await startXdsClient({ xdsAddress: meshplane.xdsAddress, nodeId, namespace: "default" });
  t.after(() => client.stop());
  assert.equal((client.bootstrap.node as { id: string }).id, nodeId);

  const first = await client.call({
    target: "xds:///greeter:50051",
    calls: 1,
    waitForReady: true,
    deadlineMs: 20_000,
  });
  assert.equal(first.ok, 1, JSON.stringify(first));
  const proxy = await waitForInSync(meshplane.adminAddress, nodeId);
  assert.equal(proxy.namespace, "default");

  const before = await client.call({ target: "xds:///greeter:50051", calls: 1000, concurrency: 20 });
  assert.deepEqual(before.errors, {}, JSON.stringify(before));
  const split = shares(before);
  assert.ok(Math.abs((split.v1 ?? 0) - 90) <= 4, `90/10 observed as ${JSON.stringify(split)}`);

  const rdsBefore = await ackedVersion(meshplane.adminAddress, nodeId, "rds");
  assert.ok(rdsBefore);
  await config.write(
    "mesh.yaml",
    greeterMesh({ v1Port: v1.port, v2Port: v2.port, weights: [50, 50] }).render(),
  );
  const rdsAfter = await waitForAckChange(meshplane.adminAddress, { nodeId, type: "rds", from: rdsBefore });
  assert.notEqual(rdsAfter, rdsBefore);

  const after = await client.call({ target: "xds:///greeter:50051", calls: 1000, concurrency: 20 });
  assert.deepEqual(after.errors, {}, JSON.stringify(after));
  const split2 = shares(after);
  assert.ok(Math.abs((split2.v1 ?? 0) - 50) <= 5, `50/50 observed as ${JSON.stringify(split2)}`);

  // The same Service by its namespaced and fully qualified names (separate channels).
  for (const target of ["xds:///greeter.default:50051", "xds:///greeter.default.svc.cluster.local:50051"]) {
    const result = await client.call({ target, calls: 20, waitForReady: true, deadlineMs: 20_000 });
    assert.equal(result.ok, 20, `${target}: ${JSON.stringify(result)}`);
  }

  const syncz = await adminJson<Syncz>(meshplane.adminAddress, "/debug/syncz");
  const mine = syncz.proxies.find((p) => p.nodeId === nodeId);
  assert.ok(mine);
  assert.ok(
    mine.types.every((type) => type.lastNack === null),
    JSON.stringify(mine.types),
  );

  assert.equal(await client.stop(), 0);
  meshplaneStopped = true;
  assert.equal(await meshplane.stop(), 0, meshplane.tail());
});

test("startMeshplane reports a failed start with the child's output", async (t) => {
  const config = await tempConfigDir({});
  t.after(() => config.stop());
  const first = await startMeshplane({ configDir: config.path });
  t.after(() => first.stop());
  // The same xDS port twice: the second process cannot serve and must not hang the test.
  await assert.rejects(
    startMeshplane({
      configDir: config.path,
      args: ["--xds-address", first.xdsAddress],
      readyTimeoutMs: 10_000,
    }),
    (error: Error) => {
      assert.match(error.message, /meshplane: (exited|timed out)/);
      assert.match(error.message, /--- meshplane stdout/);
      return true;
    },
  );
});
