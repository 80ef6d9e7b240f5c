import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { clientVersion, describeServer, serverUrl } from "./version.ts";

test("clientVersion is the version in meshplane's package.json", () => {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  assert.equal(clientVersion(), version);
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

test("describeServer says what /version answers, or why there is no answer", async (t) => {
  const server = createServer((req, res) => {
    if (req.url === "/version") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ major: "1", minor: "32", gitVersion: "v1.32.0-meshplane" }));
    } else {
      res.statusCode = 401;
      res.end();
    }
  });
  const url = await listen(server);
  t.after(() => server.close());
  // A port that was free a moment ago: nothing listens there.
  const closed = createServer();
  const closedUrl = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));

  const cases = [
    { name: "a server", url, line: `${url} serves Kubernetes API v1.32.0-meshplane`, reached: true },
    {
      name: "trailing slash",
      url: `${url}/`,
      line: `${url}/ serves Kubernetes API v1.32.0-meshplane`,
      reached: true,
    },
    {
      name: "/version refused",
      url: `${url}/prefix`,
      line: `${url}/prefix answered /version with HTTP 401`,
      reached: false,
    },
    { name: "nothing listening", url: closedUrl, line: /not reachable: .*ECONNREFUSED/, reached: false },
  ];
  for (const c of cases) {
    const result = await describeServer(c.url);
    if (typeof c.line === "string") assert.equal(result.line, c.line, c.name);
    else assert.match(result.line, c.line, c.name);
    assert.equal(result.reached, c.reached, c.name);
  }
});

test("--server takes http and https URLs only", () => {
  const cases = [
    { value: "http://127.0.0.1:15012", ok: true },
    { value: "https://meshplane.example:6443/", ok: true },
    { value: "127.0.0.1:15012", ok: false },
    { value: "ftp://127.0.0.1", ok: false },
    { value: "", ok: false },
  ];
  for (const c of cases) {
    if (c.ok) assert.equal(serverUrl(c.value), c.value);
    else assert.throws(() => serverUrl(c.value), /expected an http:\/\/ or https:\/\/ URL/, c.value);
  }
});
