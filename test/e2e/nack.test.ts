// A config that meshplane accepts but the client rejects (NACK): an IPv4 EndpointSlice address with
// leading zeros, "127.000.000.001", is valid for Kubernetes' legacy IPv4 parser and so for
// meshplane, but grpc-js-xds rejects the ClusterLoadAssignment ("address is not a valid IPv4 or IPv6
// address"). The client must keep its last good endpoints, meshplane must record the NACK
// (/debug/syncz, meshplane_xds_nacks_total, a warn log line) and not resend; a fixed file must then
// be ACKed. Garbage such as "not-an-ip" never reaches the client: validation rejects it.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  TypeUrls,
  adminJson,
  adminText,
  assertAllOn,
  assertNoErrors,
  configErrors,
  meshYaml,
  metricLines,
  metricValue,
  parseMetrics,
  proxySync,
  startMeshFixture,
  suiteScope,
  summary,
  typeSync,
  waitFor,
  waitForAckChange,
  waitForConfigError,
  waitForNack,
  warmUp,
  weighted,
  type CallResult,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///greeter:${port}`;
const extraFile = "10-greeter-v3-slice.yaml";
const otherRouteFile = "20-other-route.yaml";
const otherTarget = `xds:///other:${port}`;

function otherRoute(backend: string): string {
  return meshYaml()
    .grpcRoute("other", { parent: "other", port, rules: [{ backendRefs: weighted({ [backend]: 1 }) }] })
    .render();
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
}

interface Conditions {
  /** metadata.generation of the object as served. */
  generation: number;
  /** By type: `status.conditions`, or a route's first parent's. */
  byType: Record<string, Condition>;
}

/** The object's conditions as the API serves them, and the generation they can be about. */
async function conditions(mesh: MeshFixture, path: string): Promise<Conditions> {
  const response = await fetch(`${mesh.meshplane.apiUrl}${path}`);
  const object = (await response.json()) as {
    metadata: { generation?: number };
    status?: { conditions?: Condition[]; parents?: { conditions: Condition[] }[] };
  };
  const list = object.status?.conditions ?? object.status?.parents?.[0]?.conditions ?? [];
  return {
    generation: object.metadata.generation ?? 1,
    byType: Object.fromEntries(list.map((c) => [c.type, c])),
  };
}

/**
 * Waits until `done` holds for the object's Programmed condition; on timeout, says what it was.
 * Programmed passes through transient states on its way (Pending while a version is in flight,
 * counts of an earlier generation), so a test waits for the state it means, never the first one.
 */
async function waitForProgrammed(
  mesh: MeshFixture,
  path: string,
  done: (programmed: Condition, generation: number) => boolean,
  what: string,
): Promise<Condition> {
  let last: Conditions | undefined;
  return waitFor(
    async () => {
      last = await conditions(mesh, path);
      const programmed = last.byType.Programmed;
      return programmed && done(programmed, last.generation) ? programmed : undefined;
    },
    { timeoutMs: 15_000, message: what },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen: ${JSON.stringify(last)}`);
  });
}

const servicePath = "/api/v1/namespaces/default/services/greeter";
const otherRoutePath = "/apis/gateway.networking.k8s.io/v1/namespaces/default/grpcroutes/other";
const rejectedByClient = /rejected by 1: default\/nack-client: .*127\.000\.000\.001/;

describe("NACK", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;
  let v3Port: number;

  /** A third endpoint for `greeter` (the v3 backend's port) at `address`, in its own slice. */
  function v3Slice(address: string): string {
    return meshYaml()
      .endpointSlice("greeter", "greeter-3", [{ address, port: v3Port }])
      .render();
  }

  async function callBackends(what: string): Promise<CallResult> {
    const result = await mesh.client.call({ target, calls: 200, concurrency: 10 });
    assertNoErrors(result, what);
    return result;
  }

  async function eds() {
    return typeSync(await proxySync(mesh.admin, mesh.nodeId), "eds");
  }

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2", "v3"],
      nodeId: "default/nack-client",
      files: ({ v1, v2, v3 }) => {
        v3Port = v3!.port;
        // No route: calls to greeter go round robin over greeter's own endpoints. `other` is
        // routed, and must keep taking config while greeter's endpoints are rejected.
        return {
          "00-greeter.yaml": meshYaml()
            .service("greeter", port, [{ port: v1!.port }, { port: v2!.port }])
            .service("other", port, [{ port: v1!.port }, { port: v2!.port }])
            .service("greeter-v1", port, [{ port: v1!.port }])
            .service("greeter-v2", port, [{ port: v2!.port }])
            .render(),
          [otherRouteFile]: otherRoute("greeter-v1"),
        };
      },
    });
    await warmUp(mesh.client, target);
    // Round robin uses connected endpoints only: wait until both answer.
    await waitFor(
      async () => {
        const probe = await mesh.client.call({ target, calls: 20, concurrency: 2 });
        return (probe.counts.v1 ?? 0) > 0 && (probe.counts.v2 ?? 0) > 0;
      },
      { timeoutMs: 10_000, message: "calls to reach both v1 and v2" },
    );
  });

  test('"not-an-ip" is rejected by validation with its field; nothing is pushed', async (t) => {
    const before = await eds();
    await mesh.config.write(extraFile, v3Slice("not-an-ip"));
    const errors = await waitForConfigError(
      mesh.admin,
      (e) => e.file === extraFile,
      `an error for ${extraFile} in /debug/config_errors`,
    );
    const entry = errors.find((e) => e.file === extraFile)!;
    t.diagnostic(`config error for "not-an-ip": ${JSON.stringify(entry)}`);
    assert.equal(entry.object, "EndpointSlice default/greeter-3", `object of ${JSON.stringify(entry)}`);
    assert.match(entry.field, /^endpoints\[0\]\.addresses\[0\]$/, `field of ${JSON.stringify(entry)}`);
    assert.match(entry.message, /not-an-ip/, `message of ${JSON.stringify(entry)}`);

    const result = await callBackends('after the "not-an-ip" edit');
    assert.deepEqual(Object.keys(result.counts).sort(), ["v1", "v2"], `still v1 and v2: ${summary(result)}`);
    const after = await eds();
    assert.equal(
      after?.sentVersion,
      before?.sentVersion,
      `no EDS push: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
    );
    assert.equal(after?.lastNack ?? null, null, `no NACK: ${JSON.stringify(after)}`);
  });

  test('"127.000.000.001" is accepted by meshplane, NACKed by the client, which keeps its last good endpoints', async (t) => {
    const before = await eds();
    assert.ok(before?.ackedVersion, `EDS ACKed before the edit: ${JSON.stringify(before)}`);
    await mesh.config.write(extraFile, v3Slice("127.000.000.001"));

    const nacked = await waitForNack(mesh.admin, { nodeId: mesh.nodeId, type: "eds" });
    const state = JSON.stringify(nacked);
    t.diagnostic(`EDS NACK: ${JSON.stringify(nacked.lastNack)}`);
    assert.equal(nacked.typeUrl, TypeUrls.eds, state);
    assert.match(nacked.lastNack?.message ?? "", /not a valid IPv4/, `NACK text: ${state}`);
    assert.match(
      nacked.lastNack?.message ?? "",
      /127\.000\.000\.001/,
      `NACK text names the address: ${state}`,
    );
    assert.equal(
      nacked.ackedVersion,
      before.ackedVersion,
      `the client still runs the version it ACKed before: ${state}`,
    );
    assert.equal(
      nacked.lastNack?.rejectedVersion,
      nacked.sentVersion,
      `the rejected version is the one sent: ${state}`,
    );
    assert.notEqual(nacked.sentVersion, before.ackedVersion, `a new EDS version was sent: ${state}`);

    const errors = await configErrors(mesh.admin);
    assert.deepEqual(
      errors,
      [],
      `meshplane accepts leading zeros (as Kubernetes does): ${JSON.stringify(errors)}`,
    );
    const logged = await mesh.meshplane.waitForLog(
      (line) =>
        line.msg === "proxy rejected configuration (NACK)" &&
        line.node === mesh.nodeId &&
        line.type === "eds",
      5_000,
      "the NACK warn log line",
    );
    assert.equal(logged.level, "warn", JSON.stringify(logged));

    const text = await adminText(mesh.admin, "/metrics");
    const nacks = metricValue(parseMetrics(text), "meshplane_xds_nacks_total", { type: "eds" }) ?? 0;
    assert.ok(
      nacks >= 1,
      `meshplane_xds_nacks_total{type="eds"} >= 1; /metrics has:\n${metricLines(text, "meshplane_xds_nacks_total")}`,
    );

    const result = await callBackends("after the NACK");
    assert.deepEqual(
      Object.keys(result.counts).sort(),
      ["v1", "v2"],
      `the client keeps its last good endpoints (v1 and v2, not v3): ${summary(result)}`,
    );
    for (const backend of ["v1", "v2"]) {
      assert.ok((result.counts[backend] ?? 0) >= 60, `still split across v1 and v2: ${summary(result)}`);
    }
    const after = await eds();
    assert.deepEqual(
      { sent: after?.sentVersion, acked: after?.ackedVersion, nackCount: after?.nackCount },
      { sent: nacked.sentVersion, acked: before.ackedVersion, nackCount: nacked.nackCount },
      `the rejected version is not resent and nothing else happened: ${JSON.stringify(after)}`,
    );
  });

  test("the rejection is isolated: other config keeps flowing, and the blamed objects say why", async () => {
    await warmUp(mesh.client, otherTarget);
    const nacks = await adminJson<{ objects: { object: string; rejections: { error: string }[] }[] }>(
      mesh.admin,
      "/debug/nacks",
    );
    assert.deepEqual(
      nacks.objects.map((o) => o.object).sort(),
      ["EndpointSlice default/greeter-3", "Service default/greeter"],
      `the NACK is traced to the Service and the slice with the address: ${JSON.stringify(nacks)}`,
    );

    // Status: the blamed Service says which proxy refused it and why. Between the push and the
    // NACK, a replica report says "reached 0 of 1" with no rejection yet (Pending); from the NACK
    // on, the proxy's rejection makes it Invalid.
    const invalid = await waitForProgrammed(
      mesh,
      servicePath,
      (p) => p.reason === "Invalid",
      "Programmed reason Invalid on Service default/greeter",
    );
    assert.equal(invalid.status, "False", JSON.stringify(invalid));
    assert.match(invalid.message, rejectedByClient, JSON.stringify(invalid));

    // Another route changes while greeter's endpoints are held back: the client gets it.
    assertAllOn(await mesh.client.call({ target: otherTarget, calls: 20 }), "v1", "other before its edit");
    await mesh.config.write(otherRouteFile, otherRoute("greeter-v2"));
    await waitFor(
      async () => {
        const r = await mesh.client.call({ target: otherTarget, calls: 20 });
        return r.counts.v2 === 20;
      },
      { timeoutMs: 15_000, message: "the edited route of another Service to reach the client" },
    );

    // The edited route is programmed at its new generation; the Service stays Invalid, since the
    // proxy still rejects its endpoints and has accepted no newer ones.
    await waitForProgrammed(
      mesh,
      otherRoutePath,
      (p, generation) =>
        p.status === "True" &&
        p.observedGeneration === generation &&
        /reached 1 of 1 connected proxies/.test(p.message),
      "Programmed=True, reached 1 of 1, at the new generation of GRPCRoute default/other",
    );
    const service = (await conditions(mesh, servicePath)).byType.Programmed;
    assert.deepEqual(
      { status: service?.status, reason: service?.reason },
      { status: "False", reason: "Invalid" },
      `still Invalid after other config flowed: ${JSON.stringify(service)}`,
    );
    assert.match(service?.message ?? "", rejectedByClient, JSON.stringify(service));
  });

  test("fixing the address gets a new version ACKed, and v3 receives calls", async () => {
    const before = await eds();
    assert.ok(before?.lastNack, `still NACKed before the fix: ${JSON.stringify(before)}`);
    await mesh.config.write(extraFile, v3Slice("127.0.0.1"));
    const acked = await waitForAckChange(mesh.admin, {
      nodeId: mesh.nodeId,
      type: "eds",
      from: before.ackedVersion,
      failOnNack: false,
    });
    const after = await eds();
    const state = JSON.stringify(after);
    assert.equal(after?.ackedVersion, acked, state);
    assert.equal(after?.sentVersion, acked, `the client ACKed the newest version sent: ${state}`);
    assert.notEqual(
      acked,
      before.lastNack.rejectedVersion,
      `the fixed version differs from the rejected one: ${state}`,
    );

    let probe: CallResult | undefined;
    await waitFor(
      async () => {
        probe = await mesh.client.call({ target, calls: 30, concurrency: 3 });
        assertNoErrors(probe, "after the fix");
        return ["v1", "v2", "v3"].every((b) => (probe!.counts[b] ?? 0) > 0);
      },
      { timeoutMs: 10_000, message: "calls to reach v1, v2 and v3 after the fix" },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last probe: ${probe ? summary(probe) : "none"}`);
    });
    await waitForProgrammed(
      mesh,
      servicePath,
      (p) => p.status === "True" && /reached 1 of 1/.test(p.message),
      "Programmed=True again on Service default/greeter after the fix",
    );
  });
});
