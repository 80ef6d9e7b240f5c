// /metrics of a running meshplane after real traffic: the exposition passes `promtool check
// metrics`, and the core xDS series have sane values while a grpc-js-xds client is connected.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { promtoolCheckMetrics, requirePromtool } from "../support/promtool.ts";
import {
  adminText,
  assertAllOn,
  greeterMesh,
  metricLines,
  metricValue,
  parseMetrics,
  startMeshFixture,
  suiteScope,
  waitFor,
  waitForInSync,
  warmUp,
  type MeshFixture,
  type Sample,
} from "./support/index.ts";

const target = "xds:///greeter-v1:50051";

describe("metrics", { timeout: 60_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;
  let text: string;
  let samples: Sample[];

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/metrics-client",
      files: ({ v1, v2 }) => ({ "mesh.yaml": greeterMesh({ v1Port: v1!.port, v2Port: v2!.port }).render() }),
    });
    await warmUp(mesh.client, target);
    assertAllOn(
      await mesh.client.call({ target, calls: 100, concurrency: 10 }),
      "v1",
      "traffic to greeter-v1",
    );
    await waitForInSync(mesh.admin, mesh.nodeId);
    text = await adminText(mesh.admin, "/metrics");
    samples = parseMetrics(text);
  });

  test("promtool check metrics accepts /metrics of the running meshplane", async (t) => {
    if (!requirePromtool(t)) return;
    const { code, output } = await promtoolCheckMetrics(text);
    assert.equal(code, 0, `promtool check metrics exited ${code}:\n${output}`);
    assert.equal(output.trim(), "", `promtool check metrics reported problems:\n${output}`);
  });

  test("the core xDS series exist with sane values while the client is connected", () => {
    const value = (name: string, labels: Record<string, string> = {}) => {
      const found = metricValue(samples, name, labels);
      assert.ok(
        found !== undefined,
        `${name}${JSON.stringify(labels)} is missing; /metrics has:\n${metricLines(text, name)}`,
      );
      return found;
    };
    const show = (name: string) => `\n${metricLines(text, name)}`;

    const connected = value("meshplane_xds_connected_proxies", { protocol: "sotw" });
    assert.ok(
      connected >= 1,
      `connected_proxies{protocol="sotw"} = ${connected}${show("meshplane_xds_connected_proxies")}`,
    );
    for (const type of ["lds", "rds", "cds", "eds"]) {
      const acks = value("meshplane_xds_acks_total", { type });
      assert.ok(acks > 0, `acks_total{type="${type}"} = ${acks}${show("meshplane_xds_acks_total")}`);
      const pushes = value("meshplane_xds_pushes_total", { type });
      assert.ok(
        pushes >= acks,
        `pushes_total{type="${type}"} = ${pushes} < acks ${acks}${show("meshplane_xds_pushes_total")}`,
      );
    }
    const nacks = samples.filter((s) => s.name === "meshplane_xds_nacks_total" && s.value > 0);
    assert.deepEqual(nacks, [], `no NACKs in a clean run${show("meshplane_xds_nacks_total")}`);
    const pushDurations = value("meshplane_xds_push_duration_seconds_count");
    assert.ok(pushDurations >= 1, `push_duration_seconds_count = ${pushDurations}`);
    // greeterMesh: greeter, greeter-v1, greeter-v2, four slices and one GRPCRoute.
    for (const [kind, count] of [
      ["Service", 3],
      ["EndpointSlice", 4],
      ["GRPCRoute", 1],
    ] as const) {
      assert.equal(
        value("meshplane_config_objects", { kind }),
        count,
        `config_objects{kind="${kind}"}${show("meshplane_config_objects")}`,
      );
    }
    const applied = value("meshplane_config_reloads_total", { result: "applied" });
    assert.ok(
      applied >= 1,
      `config_reloads_total{result="applied"} = ${applied}${show("meshplane_config_reloads_total")}`,
    );
  });

  test("connected_proxies drops back to 0 when the client leaves", async () => {
    assert.equal(await mesh.client.stop(), 0, "the client exits cleanly");
    let last = "";
    await waitFor(
      async () => {
        last = await adminText(mesh.admin, "/metrics");
        return metricValue(parseMetrics(last), "meshplane_xds_connected_proxies", { protocol: "sotw" }) === 0;
      },
      { timeoutMs: 10_000, message: "meshplane_xds_connected_proxies to drop to 0" },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${metricLines(last, "meshplane_xds_connected_proxies")}`);
    });
  });
});
