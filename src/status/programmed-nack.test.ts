// Programmed through a NACK, as this replica would report it for one Service whose endpoints a
// proxy rejects: Pending only while a version is in flight, then Invalid for as long as the proxy
// rejects and has not accepted a newer version, whatever else is pushed meanwhile (re-offers
// after backoff, other resources of the type, another type), until a newer version is ACKed.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { validateResource } from "../api/index.ts";
import { FakeClock } from "../clock/index.ts";
import { listenerSnapshot, sotwStream, startTestServer } from "../xds/ads-test-client.ts";
import { TypeUrl, type XdsServer } from "../xds/index.ts";
import { objectReach } from "./reach.ts";
import { programmedCondition } from "./route-status.ts";

const node = { id: "proxy-1", metadata: { NAMESPACE: "default" } };
const names = ["a", "b"];
const validated = validateResource({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "a" },
  spec: { ports: [{ port: 50051 }] },
});
if (!validated.ok) throw new Error(JSON.stringify(validated.errors));
const service = validated.resource;
// Names no resource, so every resource the response changed is blamed: `a` alone.
const invalidAddress = "address is not a valid IPv4 or IPv6 address: 127.000.000.001";

/** Programmed of `Service default/a` from this server's counts and rejections, as one line. */
function programmed(server: XdsServer): string {
  const [reach] = objectReach(
    [service],
    server.served(),
    (t, n) => server.ackedCount(t, n),
    server.rejections(),
  );
  assert.ok(reach);
  const c = programmedCondition(true, { ...reach, replicasBehind: 0 });
  return `${c.status}/${c.reason}: ${c.message}`;
}

const programmedAll = "True/Programmed: reached 1 of 1 connected proxies";
const pending = "False/Pending: reached 0 of 1 connected proxies";
const invalid = `False/Invalid: reached 0 of 1 connected proxies; rejected by 1: proxy-1: ${invalidAddress}`;

test("Programmed stays Invalid while a proxy rejects and has not accepted a newer version", async (t) => {
  const clock = new FakeClock(Date.parse("2025-01-01T00:00:00.000Z"));
  const env = await startTestServer(t, listenerSnapshot(1, { a: 1, b: 1 }), {
    now: () => new Date(clock.now()),
    timers: clock,
    backoff: { initialMs: 1000, maxMs: 60_000 },
  });
  const { server } = env;
  const stream = sotwStream(env.connect());
  /** ACKs `r`, or NACKs it with `error`, and waits until the server has taken the answer in. */
  const answer = async (r: DiscoveryResponse, error?: string) => {
    stream.send({
      typeUrl: r.typeUrl,
      resourceNames: names,
      ...(error ? { errorDetail: { code: 14, message: error } } : { versionInfo: r.versionInfo }),
      responseNonce: r.nonce,
    });
    const taken = () => {
      const type = server.proxies()[0]?.types.find((s) => s.typeUrl === r.typeUrl);
      return error ? type?.lastNack?.nonce === r.nonce : type?.ackedVersion === r.versionInfo;
    };
    for (let waited = 0; !taken(); waited += 5) {
      assert.ok(waited < 2000, `the answer to ${r.typeUrl} ${r.nonce} taken in within 2 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  /** The next EDS response; CDS responses on the way (another type, pushed first) are ACKed. */
  const nextEds = async () => {
    for (;;) {
      const r = await stream.next();
      if (r.typeUrl === TypeUrl.ClusterLoadAssignment) return r;
      await answer(r);
    }
  };
  let version = 1;
  const change = (a: number, b = 1) => server.setSnapshot(listenerSnapshot(++version, { a, b }));
  const steps: [string, string][] = [];
  const step = (what: string) => steps.push([what, programmed(server)]);

  stream.send({ node, typeUrl: TypeUrl.Cluster, resourceNames: names });
  await answer(await stream.next());
  stream.send({ node, typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names });
  await answer(await nextEds());
  step("the first version ACKed");

  await change(2);
  const broken = await nextEds();
  step("a broken version in flight");
  await answer(broken, invalidAddress);
  step("NACKed");

  await change(3);
  const again = await nextEds();
  step("a newer version offered at once (the first rejection costs no wait), in flight");
  await answer(again, invalidAddress);
  step("NACKed again: newer versions wait 1 s");

  await change(4);
  await answer(await stream.next()); // CDS only: EDS holds a back
  assert.ok(await stream.quiet(100), "a's newer version waits out the backoff");
  step("a newer version held back");
  await change(4, 2);
  const other = await nextEds();
  step("b's change in flight, with a's last good version");
  await answer(other);
  step("b's change ACKed");

  await clock.advance(1000);
  const retried = await nextEds();
  step("the held-back version offered after the backoff, in flight");
  await answer(retried);
  assert.ok(await stream.quiet(100));
  step("ACKed");

  assert.deepEqual(steps, [
    ["the first version ACKed", programmedAll],
    ["a broken version in flight", pending],
    ["NACKed", invalid],
    ["a newer version offered at once (the first rejection costs no wait), in flight", invalid],
    ["NACKed again: newer versions wait 1 s", invalid],
    ["a newer version held back", invalid],
    ["b's change in flight, with a's last good version", invalid],
    ["b's change ACKed", invalid],
    ["the held-back version offered after the backoff, in flight", invalid],
    ["ACKed", programmedAll],
  ]);
});
