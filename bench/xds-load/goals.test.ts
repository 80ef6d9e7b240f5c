// The targets table: each verdict at its boundary, and which runs a target is judged on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { goalRows, type RunFile } from "./goals.ts";
import type { Dist, Usage } from "./measure.ts";
import type { ChangeOutcome, ScenarioName, ScenarioResult } from "./scenarios.ts";

const usage = (over: Partial<Usage> = {}): Usage => ({
  wallS: 1,
  serverCpuS: 1,
  rssMB: 1,
  peakRssMB: 1,
  serverFds: 1,
  clientCpuS: 1,
  clientRssMB: 1,
  bytes: 1,
  responses: 1,
  resent: 0,
  clientErrors: 0,
  errorSamples: [],
  encodes: { eds: 1 },
  pushes: {},
  listenOverflows: 0,
  synRetrans: 0,
  ...over,
});

const p99 = (value: number): Dist => ({ count: 1, min: 0, p50: 0, p90: 0, p99: value, max: value, mean: 0 });
const change = (pushCpuS: number): ChangeOutcome => ({
  file: "f",
  expected: 100,
  holders: 100,
  seen: 100,
  latency: undefined,
  responded: 100,
  pushCpuS,
});

function result(
  target: "meshplane" | "ceiling",
  scenario: ScenarioName,
  over: Partial<ScenarioResult> = {},
): ScenarioResult {
  return { scenario, target, protocol: "sotw", ok: true, failures: [], usage: usage(), ...over };
}

/** One run in which meshplane's endpoint p99 and push CPU, and the scoped push CPU, are given. */
function run(
  mesh: { p99: number; cpu: number; scopedCpu: number; overflows?: number },
  conditions: Partial<RunFile["conditions"]> = {},
): RunFile {
  return {
    conditions: { proxies: 10_000, services: 1000, scope: 10, write: "api", connectWindow: 0, ...conditions },
    results: [
      result("meshplane", "connect", { usage: usage({ listenOverflows: mesh.overflows ?? 0 }) }),
      result("ceiling", "connect"),
      result("meshplane", "endpoint", { latency: p99(mesh.p99), changes: [change(mesh.cpu)] }),
      result("ceiling", "endpoint", { latency: p99(1000), changes: [change(1)] }),
      result("meshplane", "scoped", { changes: [change(mesh.scopedCpu)] }),
      result("ceiling", "scoped", { changes: [change(0.01)] }),
    ],
  };
}

const verdict = (runs: RunFile[], figure: string) =>
  goalRows(runs, "sotw").find((row) => row[0] === figure)?.[4];

test("each target's verdict at its boundary", () => {
  const cases: Array<[figure: string, runs: RunFile[], expected: string | undefined]> = [
    ["endpoint change: API write → ACK p99 (ms)", [run({ p99: 1200, cpu: 1, scopedCpu: 0 })], "met (1/1)"],
    [
      "endpoint change: API write → ACK p99 (ms)",
      [run({ p99: 1201, cpu: 1, scopedCpu: 0 })],
      "missed (met 0/1)",
    ],
    ["endpoint change: push CPU per change (s)", [run({ p99: 0, cpu: 1.5, scopedCpu: 0 })], "met (1/1)"],
    [
      "endpoint change: push CPU per change (s)",
      [run({ p99: 0, cpu: 1.6, scopedCpu: 0 })],
      "missed (met 0/1)",
    ],
    ["scoped change: push CPU / endpoint change's", [run({ p99: 0, cpu: 2, scopedCpu: 0.1 })], "met (1/1)"],
    [
      "scoped change: push CPU / endpoint change's",
      [run({ p99: 0, cpu: 2, scopedCpu: 0.11 })],
      "missed (met 0/1)",
    ],
    [
      "connect storm: accept-queue overflows",
      [run({ p99: 0, cpu: 1, scopedCpu: 0, overflows: 1 })],
      "missed (met 0/1)",
    ],
    [
      "endpoint change: API write → ACK p99 (ms)",
      [run({ p99: 0, cpu: 1, scopedCpu: 0 }), run({ p99: 5000, cpu: 1, scopedCpu: 0 })],
      "missed (met 1/2)",
    ],
    // Change targets are for API writes; the storm's for unpaced connects.
    [
      "endpoint change: API write → ACK p99 (ms)",
      [run({ p99: 0, cpu: 1, scopedCpu: 0 }, { write: "dir" })],
      undefined,
    ],
    [
      "connect storm: accept-queue overflows",
      [run({ p99: 0, cpu: 1, scopedCpu: 0 }, { connectWindow: 400 })],
      undefined,
    ],
    // Files from before --write renamed files into the config directory.
    [
      "endpoint change: push CPU per change (s)",
      [run({ p99: 0, cpu: 1, scopedCpu: 0 }, { write: undefined })],
      undefined,
    ],
  ];
  for (const [figure, runs, expected] of cases) {
    assert.equal(
      verdict(runs, figure),
      expected,
      `${figure} in ${JSON.stringify(runs.map((r) => r.conditions))}`,
    );
  }
});
