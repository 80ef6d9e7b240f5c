// The dashboard's feed and server: the view built from a published serving state and proxy state,
// deltas carrying only what changed at most once per interval, bounded lists, and the server's
// access rules (tokens, the loopback guard, the dashboard.clients limit); Rollouts from a real
// informer over a store, each status write a delta with the rollout's entry.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { FakeClock } from "../clock/index.ts";
import { Informer } from "../controller/index.ts";
import { rolloutType } from "../rollout/index.ts";
import { createMemoryStore, type KubeObject } from "../store/index.ts";
import { resources, route, service } from "../mesh/testing.ts";
import { Pipeline } from "../pipeline/index.ts";
import { createMetrics, silentLogger } from "../telemetry/index.ts";
import type { NackReport, ProxyStatus, TypeSyncStatus } from "../xds/index.ts";
import { DashboardFeed } from "./dashboard-feed.ts";
import { createDashboardServer, feedPath } from "./dashboard-server.ts";
import type { DashboardEntry, DeltaMessage, SnapshotMessage } from "./dashboard-view.ts";

const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

function split(v1: number, v2: number) {
  return resources(
    service("web"),
    service("v1"),
    service("v2"),
    route("GRPCRoute", "split", [
      {
        backendRefs: [
          { name: "v1", port: 80, weight: v1 },
          { name: "v2", port: 80, weight: v2 },
        ],
      },
    ]),
  );
}

function sync(
  typeUrl: string,
  sent: string | null,
  acked: string | null,
  nackedNonce?: string,
): TypeSyncStatus {
  return {
    typeUrl,
    subscribed: [],
    wildcard: true,
    sentVersion: sent,
    sentNonce: sent === null ? null : `n-${sent}`,
    ackedVersion: acked,
    lastNack:
      nackedNonce === undefined
        ? null
        : {
            rejectedVersion: sent ?? "",
            nonce: nackedNonce,
            message: "bad",
            code: 3,
            at: "2026-01-01T00:00:00Z",
          },
    nackCount: nackedNonce === undefined ? 0 : 1,
    latestVersion: sent,
    inFlight: sent !== acked,
    pending: false,
    outdated: 0,
  };
}

function proxy(streamId: number, nodeId: string, types: TypeSyncStatus[], rejecting = false): ProxyStatus {
  return {
    streamId,
    protocol: "sotw",
    nodeId,
    namespace: "default",
    userAgent: "grpc-node-js 1.14.7",
    flavour: "grpc",
    instanceIps: [],
    client: null,
    connectedAt: "2026-01-01T00:00:00Z",
    types,
    rejections: rejecting
      ? [
          {
            type: "eds",
            resource: "outbound|80||v2.default.svc.cluster.local",
            rejectedHash: "h2",
            keptHash: "h1",
            error: "address 127.000.000.001 is not valid",
            objects: ["EndpointSlice default/v2-bad"],
            since: "2026-01-01T00:00:00Z",
            count: 1,
            retryAt: "2026-01-01T00:00:01Z",
          },
        ]
      : [],
  };
}

const nacks: NackReport = {
  objects: [
    {
      object: "EndpointSlice default/v2-bad",
      proxies: 1,
      rejections: [
        { ...proxy(2, "default/bad", [], true).rejections[0]!, nodeId: "default/bad", streamId: 2 },
      ],
    },
  ],
  unattributed: [],
};

const noRollouts = { list: () => [], onEvent: () => {} };

function feedFixture(options: { proxies?: ProxyStatus[]; rollouts?: Informer } = {}) {
  const clock = new FakeClock(1_000);
  const pipeline = new Pipeline({ domain: "cluster.local", logger: silentLogger() });
  const metrics = createMetrics({ defaultMetrics: false });
  let proxies = options.proxies ?? [
    proxy(1, "default/good", [sync(RDS, "1", "1"), sync(EDS, "1", "1")]),
    proxy(2, "default/bad", [sync(RDS, "1", "1"), sync(EDS, "1", "1")], true),
  ];
  const feed = new DashboardFeed({
    serving: pipeline,
    xds: { proxies: () => proxies, rejections: () => nacks },
    reach: () => [{ object: "GRPCRoute default/split", reached: 1, total: 2 }],
    rollouts: options.rollouts ?? noRollouts,
    metrics,
    clock,
    bounds: { proxies: 1, nackObjects: 10, rejectionsPerObject: 10, rollouts: 1, roundsPerRollout: 2 },
  });
  return { clock, pipeline, feed, metrics, setProxies: (next: ProxyStatus[]) => (proxies = next) };
}

function parseFrame(frame: string): { event: string; data: unknown } {
  const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
  const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "null") as unknown;
  return { event, data };
}

test("the feed: a snapshot of the view, then one delta per interval with only what changed", async () => {
  const { clock, pipeline, feed, metrics } = feedFixture();
  pipeline.publish({ resources: split(90, 10), generation: 1 });
  const deltas: DeltaMessage[] = [];
  const watching = feed.watch((frame) => deltas.push(parseFrame(frame).data as DeltaMessage));
  const snapshot = parseFrame(watching.snapshot);
  assert.equal(snapshot.event, "snapshot");
  const entries = (snapshot.data as SnapshotMessage).entries;
  const web = entries["service:default/web"] as Extract<DashboardEntry, { kind: "service" }>;
  assert.deepEqual(
    web.routes.map((r) => [r.object, r.rules[0]?.backends.map((b) => `${b.name}=${b.weight}`)]),
    [["GRPCRoute default/split", ["v1=90", "v2=10"]]],
  );
  assert.deepEqual(entries["object:GRPCRoute default/split"], {
    kind: "object",
    object: "GRPCRoute default/split",
    generation: 1,
    issues: [],
    reach: { reached: 1, total: 2 },
    nackingProxies: 0,
  });
  assert.deepEqual(entries["proxyGroup:default/grpc-node-js 1.14.7"], {
    kind: "proxyGroup",
    namespace: "default",
    client: "grpc-node-js 1.14.7",
    counts: { NACKED: 1, STALE: 0, "NOT SENT": 0, SYNCED: 1 },
  });
  // Bounded to one listed proxy: the worst.
  assert.deepEqual(
    Object.values(entries)
      .filter((e): e is Extract<DashboardEntry, { kind: "proxy" }> => e.kind === "proxy")
      .map((e) => [e.nodeId, e.state]),
    [["default/bad", "NACKED"]],
  );
  const nack = entries["nack:EndpointSlice default/v2-bad"] as Extract<DashboardEntry, { kind: "nack" }>;
  assert.deepEqual(
    nack.rejections.map((r) => [r.nodeId, r.type, r.error]),
    [["default/bad", "eds", "address 127.000.000.001 is not valid"]],
  );
  assert.equal((entries.meta as Extract<DashboardEntry, { kind: "meta" }>).proxiesListed, 1);

  // Two publishes within one interval: one delta, with the route's Service and the new generation.
  await clock.advance(300);
  assert.equal(deltas.length, 0, "nothing changed, nothing sent");
  pipeline.publish({ resources: split(50, 50), generation: 2 });
  pipeline.publish({ resources: split(30, 70), generation: 3 });
  await clock.advance(250);
  assert.equal(deltas.length, 1);
  const delta = deltas[0]!;
  assert.deepEqual(Object.keys(delta.set).sort(), ["meta", "service:default/web"]);
  const changed = delta.set["service:default/web"] as Extract<DashboardEntry, { kind: "service" }>;
  assert.deepEqual(
    changed.routes[0]?.rules[0]?.backends.map((b) => b.weight),
    [30, 70],
  );
  assert.deepEqual(delta.remove, []);
  // The snapshot a new page gets is the view after the delta.
  const again = parseFrame(feed.snapshot()).data as SnapshotMessage;
  assert.deepEqual(again.entries["service:default/web"], changed);

  const builds = (await metrics.dashboardUpdateDuration.get()).values.find((v) =>
    v.metricName?.endsWith("_count"),
  )?.value;
  assert.ok((builds ?? 0) >= 2, `builds counted: ${builds}`);
  watching.stop();
  assert.equal(clock.pendingTimers, 0, "nobody watches: no timers");
});

test("the feed samples proxy state while watched, and removes entries that went away", async () => {
  const { clock, pipeline, feed, setProxies } = feedFixture();
  pipeline.publish({ resources: split(90, 10), generation: 1 });
  const deltas: DeltaMessage[] = [];
  const watching = feed.watch((frame) => deltas.push(parseFrame(frame).data as DeltaMessage));
  // The good proxy now known by its client group (grpc-js/1.14), the bad one gone.
  const known = {
    ...proxy(1, "default/good", [sync(RDS, "1", "1"), sync(EDS, "1", "1")]),
    client: {
      implementation: "grpc-js",
      language: null,
      version: "1.14.7",
      group: "grpc-js/1.14",
      features: [],
    },
  };
  setProxies([known]);
  await clock.advance(1_000);
  assert.equal(deltas.length, 1);
  assert.deepEqual(
    [...deltas[0]!.remove].sort(),
    ["proxy:2", "proxyGroup:default/grpc-node-js 1.14.7"],
    "the NACKing proxy left, and its group (by user agent) with it",
  );
  assert.deepEqual(Object.keys(deltas[0]!.set).sort(), [
    "meta",
    "proxy:1",
    "proxyGroup:default/grpc-js/1.14",
  ]);
  setProxies([]);
  await clock.advance(1_000);
  assert.deepEqual([...(deltas[1]?.remove ?? [])].sort(), ["proxy:1", "proxyGroup:default/grpc-js/1.14"]);
  watching.stop();
});

function rolloutObject(name: string): KubeObject {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name, namespace: "default" },
    spec: {
      routeRef: { kind: "GRPCRoute", name: "split" },
      stableBackend: { name: "v1" },
      canaryBackend: { name: "v2" },
      steps: [{ setWeight: 20 }, { analysis: { metrics: [{ name: "sr" }] } }, { setWeight: 60 }],
    },
  };
}

/** A round of analysis as the rollout controller writes it (src/rollout/status.ts). */
const analysisRound = (at: string, value: number) => ({
  at,
  result: value >= 0.95 ? "Successful" : "Failed",
  measurements: [{ metric: "sr", result: value >= 0.95 ? "Successful" : "Failed", value }],
});

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("a Rollout's status write is a delta with its entry: phase, step, weight, latest rounds, conditions", async (t) => {
  const store = createMemoryStore();
  const informer = new Informer({ store, type: rolloutType, logger: silentLogger() });
  t.after(() => informer.stop());
  await store.create(rolloutType, rolloutObject("checkout"));
  await store.create(rolloutType, rolloutObject("billing"));
  await informer.start();
  const { clock, pipeline, feed } = feedFixture({ rollouts: informer });
  pipeline.publish({ resources: split(90, 10), generation: 1 });
  const deltas: DeltaMessage[] = [];
  const watching = feed.watch((frame) => deltas.push(parseFrame(frame).data as DeltaMessage));
  const snapshot = (parseFrame(watching.snapshot).data as SnapshotMessage).entries;
  // Bounded to one: neither has a status yet, so by name.
  assert.deepEqual(snapshot["rollout:Rollout default/billing"], {
    kind: "rollout",
    object: "Rollout default/billing",
    route: "GRPCRoute default/split rule 0",
    stable: "v1",
    canary: "v2",
    steps: 3,
  });
  assert.equal(snapshot["rollout:Rollout default/checkout"], undefined);
  const meta = snapshot.meta as Extract<DashboardEntry, { kind: "meta" }>;
  assert.deepEqual([meta.rollouts, meta.rolloutsListed], [2, 1]);

  // checkout fails its analysis: Degraded, so it is the one listed now, with its last two rounds.
  const current = await store.get(rolloutType, { namespace: "default", name: "checkout" });
  await store.updateStatus(rolloutType, {
    ...current,
    status: {
      observedGeneration: 1,
      phase: "Degraded",
      message: "Failed step 1: sr=0.5",
      currentStep: 1,
      stepStartedAt: "2026-01-01T00:00:00Z",
      canaryWeight: 0,
      revision: "r1",
      history: [
        {
          step: 1,
          startedAt: "2026-01-01T00:00:00Z",
          nextAt: "2026-01-01T00:00:30Z",
          successful: 1,
          failed: 2,
          inconclusive: 0,
          rounds: [
            analysisRound("2026-01-01T00:00:10Z", 0.99),
            analysisRound("2026-01-01T00:00:20Z", 0.6),
            analysisRound("2026-01-01T00:00:30Z", 0.5),
          ],
          result: "Failed",
        },
      ],
      conditions: [
        {
          type: "Degraded",
          status: "True",
          reason: "AnalysisFailed",
          message: "Failed step 1: sr=0.5",
          observedGeneration: 1,
          lastTransitionTime: "2026-01-01T00:00:30Z",
        },
      ],
    },
  });
  await until("the informer has the status", () =>
    (informer.get("default/checkout")?.status as { phase?: string } | undefined)?.phase === "Degraded"
      ? true
      : undefined,
  );
  await clock.advance(250);
  assert.equal(deltas.length, 1, "one delta for the status write");
  const delta = deltas[0]!;
  assert.deepEqual(Object.keys(delta.set), ["rollout:Rollout default/checkout"], "only the rollout changed");
  assert.deepEqual(delta.remove, ["rollout:Rollout default/billing"]);
  const entry = delta.set["rollout:Rollout default/checkout"] as Extract<DashboardEntry, { kind: "rollout" }>;
  assert.deepEqual(entry.status, {
    phase: "Degraded",
    message: "Failed step 1: sr=0.5",
    currentStep: 1,
    canaryWeight: 0,
    rounds: [
      {
        step: 1,
        at: "2026-01-01T00:00:20Z",
        result: "Failed",
        measurements: [{ metric: "sr", result: "Failed", value: 0.6 }],
      },
      {
        step: 1,
        at: "2026-01-01T00:00:30Z",
        result: "Failed",
        measurements: [{ metric: "sr", result: "Failed", value: 0.5 }],
      },
    ],
    roundCount: 3,
    conditions: [
      { type: "Degraded", status: "True", reason: "AnalysisFailed", message: "Failed step 1: sr=0.5" },
    ],
  });

  // A status that is not the controller's (written by hand through the subresource) is not
  // trusted: without a step index there is no status to show.
  const again = await store.get(rolloutType, { namespace: "default", name: "checkout" });
  await store.updateStatus(rolloutType, {
    ...again,
    status: { phase: "x".repeat(10_000), currentStep: -1, conditions: "no" },
  });
  await until("the informer has the odd status", () =>
    (informer.get("default/checkout")?.status as { currentStep?: number } | undefined)?.currentStep === -1
      ? true
      : undefined,
  );
  await clock.advance(250);
  const odd = deltas[1]?.set["rollout:Rollout default/billing"] as
    Extract<DashboardEntry, { kind: "rollout" }> | undefined;
  assert.equal(odd?.status, undefined, "no status to show: the list is by name again");
  watching.stop();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body, or for a feed its first frame. */
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
          if (res.headers["content-type"] === "text/event-stream" && body.includes("\n\n")) {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            req.destroy();
          }
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

async function startServer(t: TestContext, tokens: ReadonlySet<string> | undefined, maxClients = 10) {
  const { pipeline, feed, metrics } = feedFixture();
  pipeline.publish({ resources: split(90, 10), generation: 1 });
  const server = createDashboardServer({
    feed,
    assets: new Map([
      [
        "/",
        {
          contentType: "text/html; charset=utf-8",
          body: Buffer.from("<!doctype html><title>m</title>"),
          immutable: false,
        },
      ],
    ]),
    tokens,
    tls: undefined,
    maxClients,
    metrics,
    logger: silentLogger(),
  });
  const url = await server.listen("127.0.0.1", 0);
  t.after(() => server.close(100));
  return { port: Number(new URL(url).port), metrics };
}

test("with tokens, the page is public and the feed needs a bearer token", async (t) => {
  const { port } = await startServer(t, new Set(["s3cret-token"]));
  const page = await get(port, "/");
  assert.equal(page.status, 200);
  assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/);
  const anonymous = await get(port, feedPath);
  assert.equal(anonymous.status, 401);
  const wrong = await get(port, feedPath, { authorization: "Bearer nope" });
  assert.equal(wrong.status, 401);
  assert.doesNotMatch(wrong.body, /s3cret/);
  const feed = await get(port, feedPath, { authorization: "Bearer s3cret-token" });
  assert.equal(feed.status, 200);
  assert.equal(feed.headers["content-type"], "text/event-stream");
  assert.match(feed.body, /^event: snapshot\ndata: \{"entries":\{.*"service:default\/web"/);
  assert.equal((await get(port, "/debug/config_dump")).status, 404, "only the page and its feed");
});

test("without tokens, on loopback: requests must name this server (DNS rebinding guard)", async (t) => {
  const { port } = await startServer(t, undefined);
  assert.equal((await get(port, "/")).status, 200);
  const rebound = await get(port, feedPath, { host: `evil.example:${port}` });
  assert.equal(rebound.status, 403);
  const crossSite = await get(port, feedPath, { origin: "http://evil.example" });
  assert.equal(crossSite.status, 403);
});

test("dashboard.clients caps the open feeds; a refusal names the limit and is counted", async (t) => {
  const { port, metrics } = await startServer(t, undefined, 1);
  const held = new Promise<void>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: feedPath, headers: { host: `127.0.0.1:${port}` } },
      (res) => {
        res.once("data", () => resolve());
      },
    );
    req.on("error", reject);
    t.after(() => req.destroy());
    req.end();
  });
  await held;
  assert.equal((await metrics.dashboardClients.get()).values[0]?.value, 1);
  const refused = await get(port, feedPath);
  assert.equal(refused.status, 503);
  assert.match(refused.body, /dashboard\.clients/);
  const refusals = (await metrics.inputRefusals.get()).values.find(
    (v) => v.labels.limit === "dashboard.clients",
  );
  assert.equal(refusals?.value, 1);
});
