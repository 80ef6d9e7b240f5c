// Hostile requests at the HTTP edge, against small limits: every refusal is a Status naming its
// limit or reason, counted by limit; connections are never left waiting; unauthenticated
// loopback servers answer only requests addressed to them.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { defaultLimits, type LimitName, type Limits } from "../limits/index.ts";
import { service, servicesPath, startTestServer, type TestServer } from "./testing.ts";

const limits: Limits = {
  ...defaultLimits,
  "api.bodyBytes": 64 * 1024,
  "object.bytes": 16 * 1024,
  "object.nestingDepth": 20,
  "object.nodes": 2000,
  "object.stringLength": 4096,
  "api.patchOperations": 50,
};

function countingMetrics() {
  const counts = new Map<LimitName, number>();
  return {
    counts,
    inputRefusals: {
      inc: ({ limit }: { limit: LimitName }) => void counts.set(limit, (counts.get(limit) ?? 0) + 1),
    },
  };
}

async function start(t: { after(fn: () => unknown): void }, extra: object = {}) {
  const metrics = countingMetrics();
  const api = await startTestServer({ limits, metrics, ...extra });
  t.after(() => api.close());
  return { api, counts: metrics.counts };
}

const json = { "content-type": "application/json" };
const types = {
  json: { "content-type": "application/json-patch+json" },
  merge: { "content-type": "application/merge-patch+json" },
  apply: { "content-type": "application/apply-patch+yaml" },
};
const svc = `${servicesPath}/s`;
const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const doubling = [
  { op: "add", path: "/metadata/annotations", value: { a: "x".repeat(500) } },
  ...Array.from({ length: 20 }, (_, i) => ({
    op: "copy",
    from: "/metadata/annotations",
    path: `/metadata/annotations/c${i}`,
  })),
];
const aliasBomb =
  "spec:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";

type Case = [
  name: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  status: number,
  message: RegExp,
  limit?: LimitName,
];
const cases: Case[] = [
  [
    "deep JSON",
    "POST",
    servicesPath,
    json,
    deep(10_000),
    400,
    /the object's nesting exceeds limit object\.nestingDepth of 20/,
    "object.nestingDepth",
  ],
  [
    "a long string",
    "POST",
    servicesPath,
    json,
    JSON.stringify(service("x".repeat(5000))),
    400,
    /a string at metadata\.name exceeds limit object\.stringLength of 4096 \(found 5000\)/,
    "object.stringLength",
  ],
  [
    "many values",
    "POST",
    servicesPath,
    json,
    JSON.stringify({ ...service("n"), extra: Array(3000).fill(0) }),
    400,
    /exceeds limit object\.nodes of 2000/,
    "object.nodes",
  ],
  [
    "a large object",
    "POST",
    servicesPath,
    json,
    JSON.stringify({ ...service("b"), extra: Array(8).fill("y".repeat(3000)) }),
    413,
    /the object exceeds limit object\.bytes of 16 KiB/,
    "object.bytes",
  ],
  [
    "a large body",
    "POST",
    servicesPath,
    json,
    JSON.stringify({ x: "z".repeat(70_000) }),
    413,
    /the request body exceeds limit api\.bodyBytes of 64 KiB/,
    "api.bodyBytes",
  ],
  [
    "too many JSON patch operations",
    "PATCH",
    svc,
    types.json,
    JSON.stringify(Array(51).fill({ op: "test", path: "/kind", value: "Service" })),
    413,
    /exceeds limit api\.patchOperations of 50 \(found 51\)/,
    "api.patchOperations",
  ],
  [
    "a JSON patch that doubles by copies",
    "PATCH",
    svc,
    types.json,
    JSON.stringify(doubling),
    413,
    /the object as patched by operation \d+ exceeds limit object\.bytes/,
    "object.bytes",
  ],
  [
    "a merge patch whose result is too large",
    "PATCH",
    svc,
    types.merge,
    JSON.stringify({
      metadata: { annotations: { m1: "v".repeat(3000), m2: "v".repeat(3000), m3: "v".repeat(3000) } },
    }),
    413,
    /the patched object exceeds limit object\.bytes/,
    "object.bytes",
  ],
  [
    "an alias bomb applied",
    "PATCH",
    `${svc}?fieldManager=m`,
    types.apply,
    aliasBomb,
    400,
    /exceeds limit object\.nodes of 2000/,
    "object.nodes",
  ],
  ["deep DeleteOptions", "DELETE", svc, json, deep(100), 400, /object\.nestingDepth/, "object.nestingDepth"],
  [
    "a long invalid name, echoed shortened",
    "POST",
    servicesPath,
    json,
    JSON.stringify(service("N".repeat(4000))),
    422,
    /^Service "N{253}…\(3747 more characters\)" is invalid: \[metadata\.name: Invalid value: "N{120}…\(3880 more characters\)"/,
  ],
  [
    "invalid UTF-8",
    "POST",
    servicesPath,
    json,
    Buffer.concat([Buffer.from('{"kind":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    400,
    /the request body is not valid UTF-8/,
  ],
  [
    "a duplicate key, Strict",
    "POST",
    `${servicesPath}?fieldValidation=Strict`,
    json,
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"d","name":"e"},"spec":{"ports":[{"port":1}]}}',
    400,
    /^strict decoding error: duplicate field "metadata\.name"$/,
  ],
  [
    "an unknown field, Strict",
    "POST",
    `${servicesPath}?fieldValidation=Strict`,
    json,
    JSON.stringify(service("u", { spec: { ports: [{ port: 1 }], x0: [1] } })),
    400,
    /^strict decoding error: unknown field "spec\.x0"$/,
  ],
  [
    "a POST without Content-Type",
    "POST",
    servicesPath,
    {},
    JSON.stringify(service("c")),
    415,
    /unknown format - accepted media types include: application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf/,
  ],
  [
    "a POST as text/plain",
    "POST",
    servicesPath,
    { "content-type": "text/plain" },
    JSON.stringify(service("c")),
    415,
    /unknown format/,
  ],
  ["a PUT without Content-Type", "PUT", svc, {}, JSON.stringify(service("s")), 415, /unknown format/],
  [
    "a PATCH as application/json",
    "PATCH",
    svc,
    json,
    "{}",
    415,
    /accepted media types include: application\/json-patch\+json/,
  ],
  [
    "a DeleteOptions body as text/plain",
    "DELETE",
    svc,
    { "content-type": "text/plain" },
    "{}",
    415,
    /application\/json, application\/yaml$/,
  ],
  [
    "a PATCH of a kind that takes none: 405 before the media type",
    "PATCH",
    "/api/v1/namespaces/default/events/e",
    { "content-type": "text/plain" },
    "{}",
    405,
    /^PATCH is not supported on events$/,
  ],
];

test("refusals: a Status naming the limit or the reason, counted by limit; nothing stored", async (t) => {
  const { api, counts } = await start(t);
  assert.equal((await api.request("POST", servicesPath, { body: service("s") })).status, 201);
  const big = {
    metadata: { annotations: { b1: "b".repeat(3000), b2: "b".repeat(3000), b3: "b".repeat(3000) } },
  };
  assert.equal((await send(api, "PATCH", svc, types.merge, JSON.stringify(big))).status, 200);
  const before = (await api.request("GET", svc)).json;
  const expected = new Map<LimitName, number>();
  for (const [name, method, path, headers, body, status, message, limit] of cases) {
    const started = performance.now();
    const res = await send(api, method, path, headers, body);
    assert.equal(res.status, status, `${name}: ${res.text.slice(0, 300)}`);
    assert.equal(res.json.kind, "Status", name);
    assert.match(res.json.message, message, name);
    assert.ok(res.text.length < 3000, `${name}: a ${res.text.length}-byte reply`);
    assert.ok(performance.now() - started < 1000, `${name}: ${Math.round(performance.now() - started)} ms`);
    if (limit) expected.set(limit, (expected.get(limit) ?? 0) + 1);
  }
  assert.deepEqual(counts, expected);
  assert.deepEqual((await api.request("GET", svc)).json, before);
  assert.deepEqual(
    (await api.request("GET", servicesPath)).json.items.map(
      (i: { metadata: { name: string } }) => i.metadata.name,
    ),
    ["s"],
  );
});

test("fieldValidation Warn (the default): unknown fields and duplicates dropped, each a Warning header", async (t) => {
  const { api } = await start(t);
  const body =
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"w","name":"w"},"spec":{"ports":[{"port":1,"nodePorts":2}],"x0":[1]}}';
  const res = await send(api, "POST", servicesPath, json, body);
  assert.equal(res.status, 201, res.text);
  assert.equal(
    res.headers.get("warning"),
    '299 - "unknown field \\"spec.ports[0].nodePorts\\"", 299 - "unknown field \\"spec.x0\\"", 299 - "duplicate field \\"metadata.name\\""',
  );
  const stored = (await api.request("GET", `${servicesPath}/w`)).json;
  assert.deepEqual(stored.spec.ports, [{ port: 1, protocol: "TCP", targetPort: 1 }]);
  assert.equal(stored.spec.x0, undefined);
  const patched = await send(api, "PATCH", `${servicesPath}/w`, types.merge, '{"spec":{"x1":1}}');
  assert.equal(patched.status, 200);
  assert.equal(patched.headers.get("warning"), '299 - "unknown field \\"spec.x1\\""');
  const ignored = await send(
    api,
    "PATCH",
    `${servicesPath}/w?fieldValidation=Ignore`,
    types.merge,
    '{"spec":{"x1":1}}',
  );
  assert.equal(ignored.headers.get("warning"), null);
  assert.equal(ignored.json.spec.x1, undefined);
  const applied = await send(
    api,
    "PATCH",
    `${servicesPath}/w?fieldManager=m&fieldValidation=Strict`,
    types.apply,
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: w\nspec:\n  x2: 1\n",
  );
  assert.equal(applied.status, 400);
  assert.match(applied.json.message, /unknown field "spec\.x2"/);
});

test("anonymous: only requests addressed to this loopback server; with tokens, any Host", async (t) => {
  const { api } = await start(t);
  const port = new URL(api.url).port;
  const cases: [headers: Record<string, string>, status: number, message?: RegExp][] = [
    [{ host: `127.0.0.1:${port}` }, 200],
    [{ host: `localhost:${port}` }, 200],
    [{ host: `[::1]:${port}` }, 200],
    [{ host: `localhost:${port}`, origin: `http://localhost:${port}` }, 200],
    [
      { host: `evil.example:${port}` },
      403,
      /^Host "evil\.example:\d+" does not name this server .*DNS rebinding/,
    ],
    [
      { host: `127.0.0.1:${port}`, origin: "https://evil.example" },
      403,
      /^Origin "https:\/\/evil\.example" is not this server: cross-site requests/,
    ],
    [{ host: `127.0.0.1:${port}`, origin: "null" }, 403, /cross-site/],
  ];
  for (const [headers, status, message] of cases) {
    for (const path of ["/version", "/healthz"]) {
      const res = await send(api, "GET", path, headers);
      assert.equal(res.status, status, `${path} ${JSON.stringify(headers)}: ${res.text}`);
      if (message) assert.match(res.json.message, message);
    }
  }
  const authed = await startTestServer({ auth: { tokens: new Set(["t"]) } });
  t.after(() => authed.close());
  const res = await send(authed, "GET", "/version", {
    host: "meshplane.example:443",
    authorization: "Bearer t",
  });
  assert.equal(res.status, 200);
});

test("an over-limit body read to its end: the 413, then the next request on the connection is served", async (t) => {
  const { api } = await start(t);
  const session = await rawSession(api);
  const body = "a".repeat(80 * 1024);
  session.write(
    `POST ${servicesPath} HTTP/1.1\r\nHost: ${session.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  assert.match(await session.response(), /^HTTP\/1\.1 413 [^]*api\.bodyBytes/);
  session.write(`GET /version HTTP/1.1\r\nHost: ${session.host}\r\n\r\n`);
  assert.match(await session.response(), /^HTTP\/1\.1 200 [^]*gitVersion/);
  session.close();
});

test("refused before the body is read: the reply closes the connection", async (t) => {
  const { api } = await start(t);
  const requests = [
    `POST ${servicesPath} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`,
    `POST ${servicesPath} HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n`,
    `PATCH ${svc} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
  ];
  for (const request of requests) {
    const session = await rawSession(api);
    session.write(request.replace("\r\n", `\r\nHost: ${session.host}\r\n`));
    const reply = await session.response();
    assert.match(reply, /^HTTP\/1\.1 (413|415) /);
    assert.match(reply, /\r\nconnection: close\r\n/i, reply);
    await session.closed;
  }
});

async function send(
  api: TestServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
) {
  // fetch would set Host and Content-Type itself; a raw request sends exactly these headers.
  const session = await rawSession(api);
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = {
    host: session.host,
    ...headers,
    ...(body === undefined ? {} : { "content-length": String(bytes.length) }),
  };
  session.write(
    Buffer.concat([
      Buffer.from(
        `${method} ${path} HTTP/1.1\r\n${Object.entries(head)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("")}\r\n`,
      ),
      bytes,
    ]),
  );
  const raw = await session.response();
  session.close();
  const [headText = "", text = ""] = raw.split(/\r\n\r\n([^]*)/);
  const lines = headText.split("\r\n");
  const parsed = new Headers();
  for (const line of lines.slice(1)) {
    const at = line.indexOf(":");
    parsed.append(line.slice(0, at), line.slice(at + 1).trim());
  }
  let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: Number(lines[0]?.split(" ")[1]), headers: parsed, text, json };
}

/** A keep-alive connection read response by response (Content-Length framed, as the server sends). */
async function rawSession(api: TestServer) {
  const url = new URL(api.url);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise((resolve) => socket.once("connect", resolve));
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake?.();
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  void closed.then(() => wake?.());
  return {
    host: url.host,
    closed,
    write: (data: string | Buffer) => socket.write(data),
    close: () => socket.destroy(),
    async response(): Promise<string> {
      const deadline = Date.now() + 3000;
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        const length =
          end < 0 ? NaN : Number(/content-length: (\d+)/i.exec(buffer.subarray(0, end).toString())?.[1]);
        if (end >= 0 && buffer.length >= end + 4 + length) {
          const text = buffer.subarray(0, end + 4 + length).toString();
          buffer = buffer.subarray(end + 4 + length);
          return text;
        }
        if (socket.destroyed || Date.now() > deadline)
          throw new Error(`no complete response: ${buffer.toString().slice(0, 200)}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}
