// Replica discovery against real admin servers: one address given, the other replicas found
// through its /debug/replicas, a dead one named with why.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { createAdminServer } from "../admin/index.ts";
import { createMetrics, silentLogger } from "../telemetry/index.ts";
import type { ProxyStatusSource } from "../xds/index.ts";
import { AdminRequestError, adminAddresses, adminGet, replicaViews } from "./admin-client.ts";

const noProxies: ProxyStatusSource = {
  proxies: () => [],
  configDump: () => undefined,
  rejections: () => ({ objects: [], unattributed: [] }),
  ackedCount: () => ({ subscribed: 0, acked: 0 }),
};

async function replicaAdmin(t: TestContext, name: string, replicas?: () => Promise<readonly unknown[]>) {
  const server = createAdminServer({
    metrics: createMetrics({ defaultMetrics: false }),
    proxies: noProxies,
    ready: () => ({ ready: true, reasons: [] }),
    configErrors: () => [],
    replica: () => ({ replica: name, leader: false, lease: undefined }),
    ...(replicas ? { replicas } : {}),
    logger: silentLogger(),
  });
  const { port } = await server.listen("127.0.0.1", 0);
  t.after(() => server.close());
  return `127.0.0.1:${port}`;
}

test("one admin address finds every live replica; one that does not answer is named", async (t) => {
  const b = await replicaAdmin(t, "b");
  // Another process took over the address of a replica that stopped.
  const deadAddress = await replicaAdmin(t, "gone");
  // Nothing listens there any more: a replica that died after its last report.
  const closed = createAdminServer({
    metrics: createMetrics({ defaultMetrics: false }),
    proxies: noProxies,
    ready: () => ({ ready: true, reasons: [] }),
    configErrors: () => [],
    logger: silentLogger(),
  });
  const closedAddress = `127.0.0.1:${(await closed.listen("127.0.0.1", 0)).port}`;
  await closed.close();
  const reports = [
    { replica: "a", renewTime: "", proxies: 1 },
    { replica: "b", renewTime: "", proxies: 2, adminAddress: b },
    { replica: "c", renewTime: "", proxies: 3, adminAddress: deadAddress },
    { replica: "d", renewTime: "", proxies: 4 },
    { replica: "e", renewTime: "", proxies: 5, adminAddress: closedAddress },
  ];
  const a = await replicaAdmin(t, "a", async () => reports);
  const { views, unreachable } = await replicaViews([a]);
  assert.deepEqual(views, [
    { replica: "a", address: a },
    { replica: "b", address: b },
  ]);
  assert.deepEqual(
    unreachable.map((u) => [u.replica, u.proxies, u.reason]),
    [
      ["c", 3, `${deadAddress} answers as replica gone`],
      ["d", 4, "its report names no admin address (it has not finished starting)"],
      ["e", 5, unreachable[2]?.reason],
    ],
  );
  assert.match(
    unreachable[2]?.reason ?? "",
    new RegExp(`^meshplane admin at ${closedAddress} not reachable`),
  );
});

test("a given address that does not answer is an error naming it; bad addresses are refused", async () => {
  await assert.rejects(adminGet("127.0.0.1:1", "/debug/syncz"), (error: unknown) => {
    assert.ok(error instanceof AdminRequestError);
    assert.match(error.message, /^meshplane admin at 127\.0\.0\.1:1 not reachable/);
    return true;
  });
  assert.deepEqual(adminAddresses("127.0.0.1:15014,[::1]:1"), ["127.0.0.1:15014", "[::1]:1"]);
  assert.throws(() => adminAddresses("http://127.0.0.1:15014"), /expected HOST:PORT/);
});
