// Endpoint changes reach a running grpc-js-xds client through EDS: a Service with two backends
// spreads calls over both; removing one backend's endpoint from the slice file, or marking it
// `conditions: {ready: false}`, stops all traffic to it once the client has ACKed the new EDS
// version, although that backend process keeps running and would answer.
//
// The two greeters listen on different ports of 127.0.0.1. An EndpointSlice has one `ports` list
// for all its endpoints, so (as the Kubernetes EndpointSlice controller does for endpoints whose
// ports differ) each backend gets its own slice; both slices live in one file, the "slice file".
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ackedVersion,
  assertAllOn,
  assertNoErrors,
  configErrors,
  meshYaml,
  startMeshFixture,
  suiteScope,
  summary,
  waitFor,
  waitForAckChange,
  warmUp,
  type CallResult,
  type EndpointSpec,
  type MeshFixture,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///pool:${port}`;
const sliceFile = "10-pool-slices.yaml";

describe("endpoints", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;
  let a: EndpointSpec;
  let b: EndpointSpec;

  /** The slice file with the given endpoints (undefined: that backend's slice is left out). */
  function slices(first: EndpointSpec | undefined, second: EndpointSpec | undefined): string {
    const yaml = meshYaml();
    if (first) yaml.endpointSlice("pool", "pool-a", [first]);
    if (second) yaml.endpointSlice("pool", "pool-b", [second]);
    return yaml.render();
  }

  /** Applies `content` to the slice file and waits until the client ACKs the new EDS version. */
  async function editSlices(content: string, what: string): Promise<string> {
    const before = await ackedVersion(mesh.admin, mesh.nodeId, "eds");
    assert.ok(before, `the client ACKed an EDS version before "${what}" (got ${before})`);
    await mesh.config.write(sliceFile, content);
    const after = await waitForAckChange(mesh.admin, { nodeId: mesh.nodeId, type: "eds", from: before });
    const errors = await configErrors(mesh.admin);
    assert.deepEqual(
      errors,
      [],
      `${what}: the slice file is valid; /debug/config_errors: ${JSON.stringify(errors)}`,
    );
    return `EDS ${before} → ${after}`;
  }

  /**
   * Round robin only uses connected backends: after a backend is (re)added, wait until calls reach
   * both (bounded), then measure.
   */
  async function assertSpread(what: string): Promise<void> {
    let probe: CallResult | undefined;
    await waitFor(
      async () => {
        probe = await mesh.client.call({ target, calls: 20, concurrency: 2 });
        return (probe.counts.v1 ?? 0) > 0 && (probe.counts.v2 ?? 0) > 0;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `${what}: calls to reach both v1 and v2` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last probe: ${probe ? summary(probe) : "none"}`);
    });
    const result = await mesh.client.call({ target, calls: 200, concurrency: 10 });
    assertNoErrors(result, what);
    for (const backend of ["v1", "v2"]) {
      const count = result.counts[backend] ?? 0;
      assert.ok(
        count >= 60,
        `${what}: round robin over two endpoints gave ${backend} only ${count}; ${summary(result)}`,
      );
    }
  }

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/endpoints-client",
      files: ({ v1, v2 }) => {
        a = { port: v1!.port };
        b = { port: v2!.port };
        return {
          "00-pool.yaml": meshYaml().service("pool", port, []).render(),
          [sliceFile]: slices(a, b),
        };
      },
    });
    await warmUp(mesh.client, target);
  });

  test("a Service with two endpoints spreads calls over both", async () => {
    await assertSpread("two ready endpoints");
  });

  test("removing an endpoint from the slice file stops all calls to it after the EDS ACK", async () => {
    const change = await editSlices(slices(a, undefined), "v2's slice removed");
    const result = await mesh.client.call({ target, calls: 200, concurrency: 10 });
    assertAllOn(result, "v1", `after removing v2's endpoint (${change})`);

    const restored = await editSlices(slices(a, b), "v2's slice restored");
    await assertSpread(`v2's endpoint restored (${restored})`);
  });

  test("an endpoint with conditions.ready false gets no calls after the EDS ACK", async () => {
    const change = await editSlices(slices(a, { ...b, ready: false }), "v2 marked not ready");
    const result = await mesh.client.call({ target, calls: 200, concurrency: 10 });
    assertAllOn(result, "v1", `after marking v2 ready: false (${change})`);

    const ready = await editSlices(slices(a, { ...b, ready: true }), "v2 marked ready");
    await assertSpread(`v2 ready again (${ready})`);
  });
});
