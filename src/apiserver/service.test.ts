// Service defaults and cluster IP allocation.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../store/index.ts";
import { createMemoryStore } from "../store/index.ts";
import {
  ClusterIpAllocator,
  ClusterIpError,
  clusterIpCauses,
  defaultService,
  ipFromOffset,
  keepAllocatedValues,
  pickClusterIp,
} from "./service.ts";

const svc = (spec: object, name = "web"): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec,
});

test("defaults as SetDefaults_Service", () => {
  assert.deepEqual(
    defaultService(svc({ ports: [{ port: 80 }, { port: 53, protocol: "UDP", targetPort: "dns" }] })).spec,
    {
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ports: [
        { port: 80, protocol: "TCP", targetPort: 80 },
        { port: 53, protocol: "UDP", targetPort: "dns" },
      ],
    },
  );
  assert.equal(
    (
      defaultService(svc({ type: "ExternalName", externalName: "x" })).spec as {
        internalTrafficPolicy?: string;
      }
    ).internalTrafficPolicy,
    undefined,
  );
});

test("addresses are deterministic, in range and skip used ones", () => {
  assert.equal(ipFromOffset(2), "10.96.0.2");
  assert.equal(ipFromOffset(65534), "10.96.255.254");
  const first = pickClusterIp("default/web", new Set());
  assert.equal(pickClusterIp("default/web", new Set()), first);
  assert.match(first ?? "", /^10\.96\.\d+\.\d+$/);
  const second = pickClusterIp("default/web", new Set([first as string]));
  assert.notEqual(second, first);
  assert.notEqual(pickClusterIp("other/web", new Set()), first);
});

const ipCases: [ip: unknown, ok: boolean][] = [
  [undefined, true],
  ["", true],
  ["None", true],
  ["10.96.3.4", true],
  ["10.97.0.1", false],
  ["10.96.0.256", false],
  [7, false],
];
for (const [ip, ok] of ipCases) {
  test(`requested clusterIP ${JSON.stringify(ip)} is ${ok ? "accepted" : "refused"}`, () => {
    assert.equal(clusterIpCauses(svc({ clusterIP: ip })).length === 0, ok);
  });
}

test("the allocator never hands out an address twice and honours requests", async () => {
  const store = createMemoryStore();
  const allocator = new ClusterIpAllocator(store);
  const type = { group: "", resource: "services", namespaced: true };
  const created = await Promise.all(
    ["a", "b", "c", "d"].map((name) =>
      allocator.allocate(svc({ ports: [{ port: 80 }] }, name), (o) => store.create(type, o)),
    ),
  );
  const ips = created.map((o) => (o.spec as { clusterIP: string }).clusterIP);
  assert.equal(new Set(ips).size, 4);
  assert.deepEqual((created[0]?.spec as { clusterIPs: string[] }).clusterIPs, [ips[0]]);
  await assert.rejects(
    allocator.allocate(svc({ clusterIP: ips[0] }, "e"), (o) => store.create(type, o)),
    (e: unknown) => e instanceof ClusterIpError && /already allocated/.test(e.message),
  );
  const headless = await allocator.allocate(svc({ clusterIP: "None" }, "h"), async (o) => o);
  assert.deepEqual(headless.spec, { clusterIP: "None", clusterIPs: ["None"], ipFamilyPolicy: "SingleStack" });
  await store.close();
});

test("the allocator lists Services once and follows the store: writes made elsewhere count, deletes free", async () => {
  const store = createMemoryStore();
  const allocator = new ClusterIpAllocator(store);
  const type = { group: "", resource: "services", namespaced: true };
  let lists = 0;
  const list = store.list.bind(store);
  store.list = (...args) => {
    lists++;
    return list(...args);
  };
  const create = (name: string, spec: Record<string, unknown> = { ports: [{ port: 80 }] }) =>
    allocator.allocate(svc(spec, name), (o) => store.create(type, o));
  for (let i = 0; i < 200; i++) await create(`s${i}`);
  assert.equal(lists, 1, "one list for 200 creates: the rest is the watch");

  // Written around the allocator (another replica, a restore): seen through the watch.
  await store.create(type, svc({ clusterIP: "10.96.200.1" }, "elsewhere"));
  await waitUntil(async () => {
    try {
      await create("probe", { clusterIP: "10.96.200.1" });
      return false;
    } catch (error) {
      return error instanceof ClusterIpError;
    }
  });
  // A delete frees its address.
  await store.delete(type, { namespace: "default", name: "elsewhere" });
  await waitUntil(async () => {
    try {
      await create("taker", { clusterIP: "10.96.200.1" });
      return true;
    } catch {
      return false;
    }
  });
  allocator.close();
  await store.close();
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail("the allocator did not follow the store within 1 s");
}

test("updates keep the allocated address and refuse to change it", () => {
  const current = svc({
    clusterIP: "10.96.0.9",
    clusterIPs: ["10.96.0.9"],
    ipFamilies: ["IPv4"],
    ipFamilyPolicy: "SingleStack",
  });
  const kept = keepAllocatedValues(current, svc({ ports: [{ port: 81 }] }));
  assert.deepEqual(kept.causes, []);
  assert.equal((kept.object.spec as { clusterIP: string }).clusterIP, "10.96.0.9");
  const changed = keepAllocatedValues(current, svc({ clusterIP: "10.96.0.10" }));
  assert.match(changed.causes[0]?.message ?? "", /field is immutable/);
});
