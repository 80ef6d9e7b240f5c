import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { test, type TestContext } from "node:test";
import type { ConfigError } from "../sources/config-source.ts";
import { createLogger, createMetrics, silentLogger } from "../telemetry/index.ts";
import type { NackReport, ProxyStatus, ProxyStatusSource, ResourceRejection } from "../xds/status.ts";
import { createAdminServer, type AdminServerOptions, type Readiness } from "./index.ts";
import { debugTokenCheck } from "./server.ts";

const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

const REVIEWS_CLUSTER_REJECTION: ResourceRejection = {
  type: "cds",
  resource: "outbound|8080||reviews.shop",
  rejectedHash: "h3",
  keptHash: "h2",
  error: "cluster reviews: unsupported lb_policy",
  objects: ["Service shop/reviews", "TrafficPolicy shop/reviews-lb"],
  since: "2025-01-01T00:00:05.000Z",
  count: 1,
  retryAt: "2025-01-01T00:00:05.000Z",
};

const PROXIES: readonly ProxyStatus[] = [
  {
    streamId: 7,
    protocol: "sotw",
    nodeId: "reviews-v2",
    namespace: "shop",
    userAgent: "gRPC Go/1.70.0",
    flavour: "grpc",
    instanceIps: [],
    client: {
      implementation: "grpc-go",
      language: null,
      version: "1.70.0",
      group: "grpc-go/1.70",
      features: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
    },
    connectedAt: "2025-01-01T00:00:01.000Z",
    types: [
      {
        typeUrl: CDS,
        subscribed: [],
        wildcard: true,
        sentVersion: "3",
        sentNonce: "n9",
        ackedVersion: "2",
        lastNack: {
          rejectedVersion: "3",
          nonce: "n9",
          message: "cluster reviews: unsupported lb_policy",
          code: 3,
          at: "2025-01-01T00:00:05.000Z",
        },
        nackCount: 1,
        latestVersion: "3",
        inFlight: false,
        pending: false,
        outdated: 1,
      },
    ],
    rejections: [REVIEWS_CLUSTER_REJECTION],
  },
  {
    streamId: 3,
    protocol: "sotw",
    nodeId: "frontend-1",
    namespace: "shop",
    userAgent: "gRPC Node Pure JS/1.14.1",
    flavour: "grpc",
    instanceIps: [],
    client: {
      implementation: "grpc-js",
      language: null,
      version: "1.14.1",
      group: "grpc-js/1.14",
      features: ["envoy.lb.does_not_support_overprovisioning"],
    },
    connectedAt: "2025-01-01T00:00:00.000Z",
    types: [
      {
        typeUrl: LDS,
        subscribed: ["reviews.shop:8080"],
        wildcard: false,
        sentVersion: "2",
        sentNonce: "n4",
        ackedVersion: "2",
        lastNack: null,
        nackCount: 0,
        latestVersion: "2",
        inFlight: false,
        pending: false,
        outdated: 0,
      },
    ],
    rejections: [],
  },
  // Connected, but its dump vanished (stream closing): listed in syncz, absent from config_dump.
  {
    streamId: 9,
    protocol: "sotw",
    nodeId: "leaving-1",
    namespace: "shop",
    userAgent: "envoy/1.34",
    flavour: "envoy",
    instanceIps: ["10.0.0.9"],
    client: null,
    connectedAt: "2025-01-01T00:00:02.000Z",
    types: [],
    rejections: [],
  },
];

const DUMPS = new Map<number, Record<string, Record<string, unknown>>>([
  [3, { Listener: { "reviews.shop:8080": { name: "reviews.shop:8080" } } }],
  [7, { Cluster: { "outbound|8080||reviews.shop": { name: "outbound|8080||reviews.shop" } } }],
]);

const reviewsRejection = { nodeId: "reviews-v2", streamId: 7, ...REVIEWS_CLUSTER_REJECTION };
const unattributedRejection = {
  ...reviewsRejection,
  resource: "meshplane|blackhole",
  objects: [],
};

const NACKS: NackReport = {
  objects: [
    { object: "Service shop/reviews", proxies: 1, rejections: [reviewsRejection] },
    { object: "TrafficPolicy shop/reviews-lb", proxies: 1, rejections: [reviewsRejection] },
  ],
  unattributed: [unattributedRejection],
};

const fakeProxies: ProxyStatusSource = {
  proxies: () => PROXIES,
  configDump: (streamId) => DUMPS.get(streamId),
  rejections: () => NACKS,
  ackedCount: () => ({ subscribed: 0, acked: 0 }),
};

const CONFIG_ERRORS: readonly ConfigError[] = [
  {
    file: "routes/reviews.yaml",
    object: "HTTPRoute shop/reviews",
    field: "spec.rules[0].backendRefs[0].weight",
    message: "must be >= 0",
  },
  { file: "broken.yaml", object: "", field: "", message: "YAML parse error at line 3" },
];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function start(t: TestContext, overrides: Partial<AdminServerOptions> = {}) {
  const metrics = overrides.metrics ?? createMetrics({ defaultMetrics: false });
  const server = createAdminServer({
    metrics,
    proxies: fakeProxies,
    ready: () => ({ ready: true, reasons: [] }),
    configErrors: () => CONFIG_ERRORS,
    logger: silentLogger(),
    ...overrides,
  });
  const address = await server.listen("127.0.0.1", 0);
  t.after(() => server.close());
  return { server, metrics, port: address.port, address };
}

function get(port: number, path: string, method = "GET", agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

test("/healthz answers ok while the process runs", async (t) => {
  const { port } = await start(t);
  const reply = await get(port, "/healthz");
  assert.equal(reply.status, 200);
  assert.equal(reply.body, "ok\n");
  assert.equal(reply.headers["content-type"], "text/plain; charset=utf-8");
});

test("/readyz follows the ready() callback, with one reason per line", async (t) => {
  let state: Readiness = { ready: false, reasons: ["config not loaded", "xDS cache empty"] };
  const { port } = await start(t, { ready: () => state });

  let reply = await get(port, "/readyz");
  assert.equal(reply.status, 503);
  assert.equal(reply.body, "config not loaded\nxDS cache empty\n");

  state = { ready: true, reasons: [] };
  reply = await get(port, "/readyz");
  assert.equal(reply.status, 200);
  assert.equal(reply.body, "ok\n");

  state = { ready: false, reasons: [] };
  reply = await get(port, "/readyz");
  assert.equal(reply.status, 503);
  assert.equal(reply.body, "not ready\n");
});

test("/metrics serves the registry in Prometheus text format", async (t) => {
  const { port, metrics } = await start(t);
  metrics.pushes.inc({ type: "Cluster" });
  metrics.pushes.inc({ type: "Cluster" });
  const reply = await get(port, "/metrics");
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["content-type"], metrics.registry.contentType);
  assert.match(reply.body, /^# TYPE meshplane_xds_pushes_total counter$/m);
  assert.match(reply.body, /^meshplane_xds_pushes_total\{type="Cluster"\} 2$/m);
});

test("/debug/syncz lists every proxy's per-type state, sorted, filterable by node", async (t) => {
  const { port } = await start(t);
  const sorted = [PROXIES[1], PROXIES[2], PROXIES[0]];

  const all = await get(port, "/debug/syncz");
  assert.equal(all.status, 200);
  assert.equal(all.headers["content-type"], "application/json");
  assert.equal(all.body, pretty({ proxies: sorted }));

  const one = await get(port, "/debug/syncz?node=reviews-v2");
  assert.deepEqual(JSON.parse(one.body), { proxies: [PROXIES[0]] });
  assert.equal(
    JSON.parse(one.body).proxies[0].types[0].lastNack.message,
    "cluster reviews: unsupported lb_policy",
  );

  const none = await get(port, "/debug/syncz?node=nobody");
  assert.equal(none.status, 200);
  assert.deepEqual(JSON.parse(none.body), { proxies: [] });
});

test("/debug/config_dump returns what was sent per stream; unknown node is 404", async (t) => {
  const { port } = await start(t);

  const all = await get(port, "/debug/config_dump");
  assert.equal(all.status, 200);
  assert.equal(all.headers["content-type"], "application/json");
  assert.equal(
    all.body,
    pretty({
      proxies: [
        { nodeId: "frontend-1", streamId: 3, resources: DUMPS.get(3) },
        { nodeId: "reviews-v2", streamId: 7, resources: DUMPS.get(7) },
      ],
    }),
  );

  const one = await get(port, "/debug/config_dump?node=frontend-1");
  assert.deepEqual(JSON.parse(one.body), {
    proxies: [{ nodeId: "frontend-1", streamId: 3, resources: DUMPS.get(3) }],
  });

  for (const node of ["nobody", "leaving-1"]) {
    const missing = await get(port, `/debug/config_dump?node=${node}`);
    assert.equal(missing.status, 404, node);
    assert.equal(missing.headers["content-type"], "application/json");
    assert.match(JSON.parse(missing.body).error, new RegExp(node));
  }
});

test("/debug/nacks lists rejections by configuration object, filterable by object", async (t) => {
  const { port } = await start(t);
  const all = await get(port, "/debug/nacks");
  assert.equal(all.status, 200);
  assert.equal(all.headers["content-type"], "application/json");
  assert.equal(all.body, pretty(NACKS));

  const one = await get(port, `/debug/nacks?object=${encodeURIComponent("TrafficPolicy shop/reviews-lb")}`);
  assert.deepEqual(JSON.parse(one.body), {
    objects: [{ object: "TrafficPolicy shop/reviews-lb", proxies: 1, rejections: [reviewsRejection] }],
    unattributed: [],
  });
  const none = await get(port, `/debug/nacks?object=${encodeURIComponent("Service shop/other")}`);
  assert.deepEqual(JSON.parse(none.body), { objects: [], unattributed: [] });
});

test("/debug/config_errors lists the rejected files and objects", async (t) => {
  const { port } = await start(t);
  const reply = await get(port, "/debug/config_errors");
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["content-type"], "application/json");
  assert.equal(reply.body, pretty({ errors: CONFIG_ERRORS }));
});

test("/debug/replicas lists the live replicas and their admin addresses; without a store it is 404", async (t) => {
  const replicas = [
    { replica: "r1", renewTime: "2025-01-01T00:00:00.000Z", proxies: 2, adminAddress: "127.0.0.1:1" },
  ];
  const { port } = await start(t, { replicas: async () => replicas });
  const reply = await get(port, "/debug/replicas");
  assert.equal(reply.status, 200);
  assert.equal(reply.body, pretty({ replicas }));
  const { port: bare } = await start(t);
  assert.equal((await get(bare, "/debug/replicas")).status, 404);
});

test("/debug/resources serves the configuration objects being served; 503 before the first publish", async (t) => {
  const state: { served?: { version: number; domain: string; objects: unknown[] } } = {};
  const { port } = await start(t, { resources: () => state.served });
  assert.equal((await get(port, "/debug/resources")).status, 503);
  state.served = {
    version: 4,
    domain: "cluster.local",
    objects: [{ kind: "Service", metadata: { name: "a" } }],
  };
  const reply = await get(port, "/debug/resources");
  assert.equal(reply.status, 200);
  assert.equal(reply.body, pretty(state.served));
});

test("methods other than GET are 405 with an Allow header", async (t) => {
  const { port } = await start(t);
  for (const method of ["POST", "PUT", "DELETE", "HEAD"]) {
    const reply = await get(port, "/debug/config_dump", method);
    assert.equal(reply.status, 405, method);
    assert.equal(reply.headers["allow"], "GET");
    if (method !== "HEAD") assert.deepEqual(JSON.parse(reply.body).allowed, ["GET"]);
  }
});

test("unknown paths are 404 JSON; the query string does not change routing", async (t) => {
  const { port } = await start(t);
  for (const path of ["/nope", "/healthz/", "//x/healthz", "/debug"]) {
    const reply = await get(port, path);
    assert.equal(reply.status, 404, path);
    assert.equal(reply.headers["content-type"], "application/json");
    assert.equal(typeof JSON.parse(reply.body).error, "string");
  }
  assert.equal((await get(port, "/healthz?verbose=1")).status, 200);
});

test("a failing collaborator gives 500 JSON and the server keeps serving", async (t) => {
  const { port } = await start(t, {
    proxies: {
      proxies: () => {
        throw new Error("boom");
      },
      configDump: () => undefined,
      rejections: () => ({ objects: [], unattributed: [] }),
      ackedCount: () => ({ subscribed: 0, acked: 0 }),
    },
  });
  const reply = await get(port, "/debug/syncz");
  assert.equal(reply.status, 500);
  assert.match(JSON.parse(reply.body).error, /\/debug\/syncz/);
  assert.equal((await get(port, "/healthz")).status, 200);
});

test("each request is logged at debug with method, path, status and duration", async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => lines.push(line) } });
  const { port } = await start(t, { logger });
  await get(port, "/debug/config_errors?x=1");
  await get(port, "/nope", "POST");

  const logged = lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry["msg"] === "admin request");
  assert.equal(logged.length, 2);
  assert.deepEqual(
    logged.map(({ level, method, path, status }) => ({ level, method, path, status })),
    [
      { level: "debug", method: "GET", path: "/debug/config_errors", status: 200 },
      { level: "debug", method: "POST", path: "/nope", status: 404 },
    ],
  );
  for (const entry of logged) assert.equal(typeof entry["durationMs"], "number");
});

test("listen on a taken port rejects with an error naming the address", async (t) => {
  const { port } = await start(t);
  const second = createAdminServer({
    metrics: createMetrics({ defaultMetrics: false }),
    proxies: fakeProxies,
    ready: () => ({ ready: true, reasons: [] }),
    configErrors: () => [],
    logger: silentLogger(),
  });
  await assert.rejects(second.listen("127.0.0.1", port), (err: Error) => {
    assert.equal(
      err.message,
      `admin server cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
    );
    assert.equal((err.cause as NodeJS.ErrnoException).code, "EADDRINUSE");
    return true;
  });
  await second.close(); // never listened: resolves at once
});

test("listen resolves with the bound address when given port 0", async (t) => {
  const { address } = await start(t);
  assert.equal(address.host, "127.0.0.1");
  assert.ok(address.port > 0);
});

test("close() returns promptly with an idle keep-alive client connected", async (t) => {
  const { server, port } = await start(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  await get(port, "/healthz", "GET", agent);
  await get(port, "/healthz", "GET", agent);
  assert.equal(Object.values(agent.freeSockets).flat().length, 1, "the client holds an idle socket");

  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
  await server.close(); // idempotent
});

test("close() cuts a connection stuck mid-request after the grace period", async (t) => {
  const { server, port } = await start(t, { closeGraceMs: 200 });
  const socket = connect(port, "127.0.0.1");
  t.after(() => socket.destroy());
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"); // headers never finish
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));

  const started = Date.now();
  await server.close();
  const took = Date.now() - started;
  assert.ok(took >= 150 && took < 2_000, `close took ${took} ms`);
  await ended;
});

test("on loopback, only requests addressed to this server: a web page cannot reach it by DNS rebinding", async (t) => {
  const { port } = await start(t);
  const cases: [headers: Record<string, string>, status: number][] = [
    [{ host: `127.0.0.1:${port}` }, 200],
    [{ host: `localhost:${port}` }, 200],
    [{ host: `[::1]:${port}` }, 200],
    [{ host: `evil.example:${port}` }, 403],
    [{ host: `127.0.0.1:${port}`, origin: "http://evil.example" }, 403],
  ];
  for (const [headers, status] of cases) {
    for (const path of ["/healthz", "/debug/config_dump"]) {
      const reply = await new Promise<Reply>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(reply.status, status, `${path} ${JSON.stringify(headers)}`);
      if (status === 403) assert.match(JSON.parse(reply.body).error, /DNS rebinding|cross-site/);
    }
  }
});

test("off loopback, /debug/* needs a known bearer token; probes and metrics do not", () => {
  const open = debugTokenCheck(undefined);
  assert.match(open(undefined) ?? "", /--admin-token-file, or bind --admin-address to 127.0.0.1/);
  assert.match(open("Bearer anything") ?? "", /--admin-token-file/);
  const check = debugTokenCheck(new Set(["s3cret-token", "other"]));
  assert.equal(check("Bearer s3cret-token"), undefined);
  assert.equal(check("Bearer other"), undefined);
  assert.equal(check("bearer other"), undefined, "the scheme is case-insensitive");
  for (const header of [
    undefined,
    "",
    "Bearer",
    "Bearer s3cret",
    "Bearer s3cret-token2",
    "Basic s3cret-token",
  ]) {
    const refusal = check(header);
    assert.match(refusal ?? "", /Authorization: Bearer <token>/, String(header));
    assert.ok(!refusal?.includes("s3cret"), "the refusal never names a token");
  }
});
