import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LimitExceededError,
  checkObjectLimits,
  decodeJson,
  defaultLimits,
  jsonSize,
  type ObjectLimits,
} from "./index.ts";

const small: ObjectLimits = {
  "object.bytes": 100,
  "object.nestingDepth": 3,
  "object.nodes": 10,
  "object.stringLength": 8,
};

describe("jsonSize", () => {
  const values: [string, unknown][] = [
    ["a scalar", 12.5],
    ["a string", "abc"],
    ["null", null],
    ["an empty object", {}],
    ["an empty list", []],
    ["a nested value", { a: [1, "x", { b: true, c: null }], d: {} }],
  ];
  for (const [name, value] of values) {
    it(`is the compact JSON length of ${name}`, () =>
      assert.equal(jsonSize(value, 1000), JSON.stringify(value).length));
  }

  it("stops at the budget without walking the rest", () => {
    const huge = Array.from({ length: 1_000_000 }, () => ({ k: "v" }));
    const started = performance.now();
    assert.equal(jsonSize(huge, 1000), Infinity);
    assert.ok(performance.now() - started < 50, "a list far over the budget is refused by its length");
  });
});

describe("checkObjectLimits", () => {
  it("returns the size of a value within the limits, as decodeJson would count it", () => {
    const text = '{"a":[1,"xy"],"b":{"c":false}}';
    assert.equal(checkObjectLimits(decodeJson(text, small).value, small, "the object"), text.length);
  });

  const refused: [string, unknown, string, RegExp][] = [
    ["too deep", [[[[1]]]], "object.nestingDepth", /the nesting of the object at 0\.0\.0\.0/],
    ["too many values", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "object.nodes", /number of values in the object/],
    ["a long string", { a: { b: "123456789" } }, "object.stringLength", /a string at a\.b of the object/],
    ["a long key", { "123456789": 1 }, "object.stringLength", /a key at the top level/],
    [
      "too large",
      Object.fromEntries(["a", "b", "c", "d", "e"].map((k) => [k.repeat(8), "12345678"])),
      "object.bytes",
      /the object exceeds limit object.bytes of 100 bytes;/,
    ],
  ];
  for (const [name, value, limit, message] of refused) {
    it(`refuses ${name} naming ${limit}`, () =>
      assert.throws(
        () => checkObjectLimits(value, small, "the object"),
        (error: unknown) =>
          error instanceof LimitExceededError && error.limit === limit && message.test(error.message),
      ));
  }

  it("walks 100,000 levels without exhausting the stack", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(() => checkObjectLimits(deep, defaultLimits, "x"), /object\.nestingDepth of 100/);
  });
});
