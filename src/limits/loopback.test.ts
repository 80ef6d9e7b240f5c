import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLoopbackAddress, loopbackGuard } from "./index.ts";

describe("isLoopbackAddress", () => {
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.3.2.1", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["::ffff:10.0.0.1", false],
    ["localhost", false],
  ];
  for (const [address, loopback] of cases) {
    it(`${address} → ${loopback}`, () => assert.equal(isLoopbackAddress(address), loopback));
  }
});

describe("loopbackGuard", () => {
  const guard = loopbackGuard("127.0.0.1", 6443);
  const cases: [string, { host?: string; origin?: string }, RegExp | undefined][] = [
    ["127.0.0.1:PORT", { host: "127.0.0.1:6443" }, undefined],
    ["localhost:PORT, any case", { host: "LocalHost:6443" }, undefined],
    ["[::1]:PORT", { host: "[::1]:6443" }, undefined],
    ["its own origin", { host: "127.0.0.1:6443", origin: "http://localhost:6443" }, undefined],
    [
      "another port",
      { host: "127.0.0.1:80" },
      /Host "127.0.0.1:80" does not name this server \(127.0.0.1:6443, localhost:6443 or \[::1\]:6443\)/,
    ],
    ["a rebound name", { host: "evil.example:6443" }, /DNS rebinding/],
    ["no Host", {}, /Host "" does not name this server/],
    [
      "a foreign origin",
      { host: "127.0.0.1:6443", origin: "http://evil.example" },
      /Origin "http:\/\/evil.example" is not this server: cross-site/,
    ],
    ["the null origin", { host: "127.0.0.1:6443", origin: "null" }, /Origin "null"/],
    ["an origin on another port", { host: "127.0.0.1:6443", origin: "http://127.0.0.1:8080" }, /cross-site/],
  ];
  for (const [name, request, refusal] of cases) {
    it(`${refusal ? "refuses" : "serves"} ${name}`, () => {
      const reason = guard(request);
      if (refusal === undefined) assert.equal(reason, undefined);
      else assert.match(reason ?? "", refusal);
    });
  }

  it("accepts the bound address when it is another loopback address", () => {
    const other = loopbackGuard("127.0.0.2", 80);
    assert.equal(other({ host: "127.0.0.2:80" }), undefined);
    assert.equal(loopbackGuard("::1", 80)({ host: "[::1]:80" }), undefined);
  });

  it("echoes a long Host only as an excerpt", () => {
    assert.ok((guard({ host: "h".repeat(100_000) }) ?? "").length < 600);
  });
});
