// The metrics catalogue as Prometheus reads it: every metric, each with a sample, passes promtool.
import assert from "node:assert/strict";
import { test } from "node:test";
import { promtoolCheckMetrics, requirePromtool } from "../../test/support/promtool.ts";
import { createMetrics, silentLogger, type MeshplaneMetrics } from "../telemetry/index.ts";
import { createAdminServer } from "./index.ts";

/** Touches every catalogue metric, labelled ones with a label, so each appears with a sample. */
function exerciseAll(metrics: MeshplaneMetrics): void {
  metrics.connectedProxies.set({ protocol: "sotw" }, 2);
  metrics.connectedProxies.set({ protocol: "delta" }, 1);
  metrics.pushes.inc({ type: "Listener" });
  metrics.pushDuration.observe(0.042);
  metrics.acks.inc({ type: "Listener" });
  metrics.nacks.inc({ type: "Cluster" });
  metrics.rejectedResources.set({ type: "cds" }, 1);
  metrics.staleRequests.inc({ type: "RouteConfiguration" });
  metrics.resourceEncodes.inc({ type: "ClusterLoadAssignment" }, 3);
  metrics.configReloads.inc({ result: "applied" });
  metrics.configErrors.inc({ kind: "HTTPRoute" });
  metrics.configObjects.set({ kind: "Service" }, 4);
  metrics.inputRefusals.inc({ limit: "api.bodyBytes" });
  metrics.dashboardClients.set(1);
  metrics.dashboardUpdateDuration.observe(0.003);
  metrics.evaluations.inc({ type: "ClusterLoadAssignment" });
  metrics.controllerQueueDepth.set({ controller: "status" }, 1);
  metrics.controllerReconcileDuration.observe({ controller: "status", result: "success" }, 0.01);
  metrics.controllerReconcileErrors.inc({ controller: "status" });
  metrics.controllerRequeues.inc({ controller: "status", reason: "error" });
  metrics.caCertificatesIssued.inc();
  metrics.caSigningFailures.inc({ reason: "token_expired" });
  metrics.caCertificateExpiry.set({ role: "root", fingerprint: "0123456789abcdef" }, 2_000_000_000);
  metrics.rolloutCanaryWeight.set({ rollout: "default/greeter" }, 10);
  metrics.rolloutStep.set({ rollout: "default/greeter" }, 1);
  metrics.rolloutPhase.set({ rollout: "default/greeter", phase: "Progressing" }, 1);
  metrics.rolloutMeasurements.inc({ provider: "prometheus", result: "Successful" });
  metrics.rolloutTransitions.inc({ reason: "StepCompleted" });
}

test("promtool check metrics accepts /metrics (default process metrics included)", async (t) => {
  if (!requirePromtool(t)) return;
  const metrics = createMetrics();
  exerciseAll(metrics);
  // Guard: a metric added to the catalogue but not to exerciseAll() fails here, not silently.
  const { registry: _registry, ...catalogue } = metrics;
  for (const [field, metric] of Object.entries(catalogue)) {
    const { values } = await metric.get();
    assert.ok(values.length > 0, `${field} has no sample; add it to exerciseAll()`);
  }

  const server = createAdminServer({
    metrics,
    proxies: {
      proxies: () => [],
      configDump: () => undefined,
      rejections: () => ({ objects: [], unattributed: [] }),
      ackedCount: () => ({ subscribed: 0, acked: 0 }),
    },
    ready: () => ({ ready: true, reasons: [] }),
    configErrors: () => [],
    logger: silentLogger(),
  });
  const { port } = await server.listen("127.0.0.1", 0);
  t.after(() => server.close());
  const reply = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(reply.status, 200);
  const result = await promtoolCheckMetrics(await reply.text());
  assert.equal(result.output, "", "promtool reported lint problems");
  assert.equal(result.code, 0);
});
