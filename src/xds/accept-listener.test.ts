// The xDS listening socket: the backlog the kernel applies (checked with `ss`, which reports a
// listener's accept-queue length as Send-Q), the somaxconn cap and its log line, an address in
// use, ADS over an injected connection, and a close that ends a connected stream and frees the port.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultLimits } from "../limits/index.ts";
import { createLogger, createMetrics, silentLogger, type Logger } from "../telemetry/index.ts";
import { packedTypesRegistry } from "../translate/index.ts";
import { effectiveBacklog, readSomaxconn } from "./accept-listener.ts";
import { clusterSnapshot, rawClient, sotwStream } from "./ads-test-client.ts";
import { TypeUrl } from "./resource-types.ts";
import { XdsServer } from "./server.ts";

test("effectiveBacklog: the request, capped by somaxconn when known", () => {
  const cases: Array<[requested: number, somaxconn: number | undefined, expected: number]> = [
    [4096, 4096, 4096],
    [4096, 128, 128],
    [100, 4096, 100],
    [4096, undefined, 4096],
  ];
  for (const [requested, somaxconn, expected] of cases) {
    assert.equal(
      effectiveBacklog(requested, somaxconn),
      expected,
      `${requested} with somaxconn ${somaxconn}`,
    );
  }
});

test("readSomaxconn: a positive integer, or undefined when missing or unreadable", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "somaxconn-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[content: string | undefined, expected: number | undefined]> = [
    ["4096\n", 4096],
    ["128", 128],
    ["0\n", undefined],
    ["many\n", undefined],
    [undefined, undefined],
  ];
  for (const [i, [content, expected]] of cases.entries()) {
    const path = join(dir, `case-${i}`);
    if (content !== undefined) writeFileSync(path, content);
    assert.equal(readSomaxconn(path), expected, JSON.stringify(content));
  }
});

async function start(t: TestContext, acceptBacklog: number | undefined, logger: Logger = silentLogger()) {
  const server = new XdsServer({
    limits: defaultLimits,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    controlPlaneId: "test",
    jsonRegistry: packedTypesRegistry(),
    ...(acceptBacklog ? { acceptBacklog } : {}),
  });
  await server.setSnapshot(clusterSnapshot(1, { a: 1 }));
  const { port } = await server.listen("127.0.0.1", 0);
  t.after(() => server.close(100));
  return { server, port };
}

/** The accept-queue length of the listener on 127.0.0.1:port, as `ss` reports it (Send-Q). */
function listenBacklog(port: number): number | undefined {
  try {
    const out = execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8", timeout: 5000 });
    const fields = out.trim().split(/\s+/);
    return fields[0] === "LISTEN" ? Number(fields[2]) : undefined;
  } catch {
    return undefined;
  }
}

const hasSs = (() => {
  try {
    execFileSync("ss", ["-V"], { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
})();

for (const requested of [1000, undefined]) {
  test(
    `the xDS port listens with ${requested ?? "the default"} backlog, not Node's 511`,
    { skip: !hasSs && "needs ss (iproute2)" },
    async (t) => {
      const { port } = await start(t, requested);
      const expected = effectiveBacklog(requested ?? 4096, readSomaxconn());
      assert.equal(listenBacklog(port), expected, `ss -ltn Send-Q of 127.0.0.1:${port}`);
    },
  );
}

test(
  "a backlog above net.core.somaxconn is capped, and the log line says to what",
  { skip: !(readSomaxconn() && (readSomaxconn() as number) < 65535) && "somaxconn unreadable" },
  async (t) => {
    const somaxconn = readSomaxconn() as number;
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const { port } = await start(t, somaxconn + 1, logger);
    const line = lines.find((l) => String(l.msg).includes("somaxconn"));
    assert.ok(line, `a log line about somaxconn: ${JSON.stringify(lines)}`);
    assert.equal(line.level, "warn");
    assert.equal(line.backlog, somaxconn);
    assert.equal(line.requested, somaxconn + 1);
    if (hasSs) assert.equal(listenBacklog(port), somaxconn, "the kernel applies the cap");
  },
);

test("an address in use: the error names the address and says it is in use", async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen({ host: "127.0.0.1", port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as { port: number }).port;
  const server = new XdsServer({
    limits: defaultLimits,
    metrics: createMetrics({ defaultMetrics: false }),
    logger: silentLogger(),
    controlPlaneId: "test",
    jsonRegistry: packedTypesRegistry(),
  });
  await assert.rejects(server.listen("127.0.0.1", port), {
    message: `xDS server cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
  });
  assert.equal(server.serving, false);
  await server.close(100);
});

test("ADS works over an injected connection; close ends the stream and frees the port", async (t) => {
  const { server, port } = await start(t, 64);
  const client = rawClient(port);
  t.after(() => client.close());
  const stream = sotwStream(client);
  stream.send({ node: { id: "proxy-1" }, typeUrl: TypeUrl.Cluster, resourceNames: [] });
  const first = await stream.next();
  assert.equal(first.resources.length, 1, "the wildcard CDS response arrives through the injected socket");
  assert.equal(server.streamCount, 1);

  const started = performance.now();
  await server.close(2000);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1500, `close with a connected stream took ${elapsed.toFixed(0)} ms`);
  assert.equal(server.serving, false);
  const again = createServer();
  await new Promise<void>((resolve, reject) => {
    again.once("error", reject);
    again.listen({ host: "127.0.0.1", port, exclusive: true }, resolve);
  });
  await new Promise<void>((resolve) => again.close(() => resolve()));
});
