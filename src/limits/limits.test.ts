import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LimitExceededError,
  defaultLimits,
  excerpt,
  formatLimit,
  limitNames,
  limitsFrom,
  parseLimitSetting,
} from "./index.ts";

describe("limit settings", () => {
  const cases: [string, string, number][] = [
    ["api.bodyBytes=4MiB", "api.bodyBytes", 4 * 1024 * 1024],
    ["api.bodyBytes=512KiB", "api.bodyBytes", 512 * 1024],
    ["api.bodyBytes=1048576", "api.bodyBytes", 1048576],
    ["xds.namesPerRequest=500", "xds.namesPerRequest", 500],
    ["dir.fileBytes=1GiB", "dir.fileBytes", 1024 ** 3],
  ];
  for (const [setting, name, value] of cases) {
    it(`parses ${setting}`, () => assert.deepEqual(parseLimitSetting(setting), { name, value }));
  }

  const refused: [string, RegExp][] = [
    ["api.nope=1", /unknown limit "api.nope": expected NAME=VALUE with NAME one of api.bodyBytes, /],
    ["api.bodyBytes", /limit api.bodyBytes: expected a positive size such as 4MiB/],
    ["api.bodyBytes=4MB", /expected a positive size such as 4MiB, 512KiB or 1048576, got "4MB"/],
    ["api.bodyBytes=0", /expected a positive size/],
    ["xds.namesPerRequest=10KiB", /limit xds.namesPerRequest: expected a positive whole number, got "10KiB"/],
    ["xds.namesPerRequest=-1", /expected a positive whole number/],
    ["xds.namesPerRequest=99999999999999999999", /expected a positive whole number/],
  ];
  for (const [setting, message] of refused) {
    it(`refuses ${setting}`, () => assert.throws(() => parseLimitSetting(setting), message));
  }

  it("applies settings over the defaults, the last one winning", () => {
    const limits = limitsFrom(["object.nodes=10", "object.nodes=20"]);
    assert.equal(limits["object.nodes"], 20);
    assert.equal(limits["api.bodyBytes"], defaultLimits["api.bodyBytes"]);
  });

  it("every limit has a positive default and a description", () => {
    for (const name of limitNames) {
      assert.ok(defaultLimits[name] > 0, name);
    }
  });
});

describe("limit errors", () => {
  it("name the limit, the value found and how to raise it", () => {
    const error = new LimitExceededError(
      "api.bodyBytes",
      3 * 1024 * 1024,
      "the request body",
      5 * 1024 * 1024,
    );
    assert.equal(
      error.message,
      "the request body exceeds limit api.bodyBytes of 3 MiB (found 5 MiB); an operator can raise it with `meshplane serve --limit api.bodyBytes=VALUE`",
    );
    assert.equal(error.limit, "api.bodyBytes");
  });

  it("format sizes in binary units when exact to a quarter", () => {
    assert.equal(formatLimit("object.bytes", 1.5 * 1024 * 1024), "1.5 MiB");
    assert.equal(formatLimit("object.bytes", 1000), "1000 bytes");
    assert.equal(formatLimit("object.nodes", 200000), "200000");
  });
});

describe("excerpt", () => {
  const cases: [string, number, string][] = [
    ["short", 10, "short"],
    ["a\nb\tc\u0000d", 20, "a\\nb\\tc\\u0000d"],
    ["x".repeat(30), 10, `${"x".repeat(10)}…(20 more characters)`],
    ["root:$6$hash\u2028", 20, "root:$6$hash\\u2028"],
  ];
  for (const [text, max, expected] of cases) {
    it(`shortens and escapes ${JSON.stringify(text.slice(0, 12))}`, () =>
      assert.equal(excerpt(text, max), expected));
  }
});
