import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DecodeError,
  LimitExceededError,
  decodeJson,
  decodeUtf8,
  decodeYaml,
  decodeYamlDocuments,
  defaultLimits,
  type ObjectLimits,
} from "./index.ts";

const small: ObjectLimits = {
  "object.bytes": 1000,
  "object.nestingDepth": 5,
  "object.nodes": 50,
  "object.stringLength": 20,
};

const flowList = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(",")}]`;

describe("decodeJson", () => {
  const accepted: [string, string, unknown, string[]][] = [
    ["an object", '{"a":1,"b":[true,null,"x"]}', { a: 1, b: [true, null, "x"] }, []],
    ["escaped strings", '{"k\\u0061":"q\\"\\\\"}', { ka: 'q"\\' }, []],
    ["depth at the limit", "[[[[[1]]]]]", [[[[[1]]]]], []],
    [
      "duplicate keys, last kept",
      '{"a":1,"b":{"c":"x","c":"y"},"a":2}',
      { a: 2, b: { c: "y" } },
      ["b.c", "a"],
    ],
    ["escaped duplicate", '{"a":1,"\\u0061":2}', { a: 2 }, ["a"]],
    ["a duplicate inside a list", '{"l":[{"n":1,"n":2}]}', { l: [{ n: 2 }] }, ["l[0].n"]],
  ];
  for (const [name, text, value, duplicateKeys] of accepted) {
    it(`decodes ${name}`, () => assert.deepEqual(decodeJson(text, small), { value, duplicateKeys }));
  }

  const refused: [string, string, string][] = [
    ["too deep", "[[[[[[1]]]]]]", "object.nestingDepth"],
    ["too many values", flowList(60), "object.nodes"],
    ["a long string", `{"a":"${"x".repeat(21)}"}`, "object.stringLength"],
    ["a long key", `{"${"k".repeat(21)}":1}`, "object.stringLength"],
    ["too large", `[${Array.from({ length: 48 }, () => `"${"y".repeat(20)}"`).join(",")}]`, "object.bytes"],
  ];
  for (const [name, text, limit] of refused) {
    it(`refuses ${name} naming ${limit}`, () =>
      assert.throws(
        () => decodeJson(text, small),
        (error: unknown) => error instanceof LimitExceededError && error.limit === limit,
      ));
  }

  it("refuses 100,000 levels of nesting without exhausting the stack", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    assert.throws(() => decodeJson(deep, defaultLimits), /object\.nestingDepth of 100/);
  });

  it("reports a syntax error without echoing the input at length", () => {
    assert.throws(
      () => decodeJson(`{"a": ${"z".repeat(5000)}`, defaultLimits),
      (error: unknown) => error instanceof DecodeError && error.message.length < 300,
    );
  });
});

describe("decodeYaml", () => {
  it("decodes a document, reporting duplicate keys", () => {
    assert.deepEqual(decodeYaml("a: 1\nb:\n  c: x\n  c: y\n", small), {
      value: { a: 1, b: { c: "y" } },
      duplicateKeys: ["b.c"],
      line: 1,
      error: undefined,
    });
  });

  it("expands aliases within the limits", () => {
    assert.deepEqual(decodeYaml("a: &x [1, 2]\nb: *x\n", small).value, { a: [1, 2], b: [1, 2] });
  });

  const refused: [string, string, string][] = [
    // 99 aliases of a 10-item list: 12 lines of text, over 1,000 values once expanded.
    [
      "alias amplification",
      `x0: &x ${flowList(10)}\n${Array.from({ length: 9 }, (_, i) => `y${i}: *x`).join("\n")}\n`,
      "object.nodes",
    ],
    [
      "nested aliases (billion laughs)",
      "a: &a [1,1,1,1]\nb: &b [*a,*a,*a,*a]\nc: [*b,*b,*b,*b]\n",
      "object.nodes",
    ],
    ["an alias nested too deep", "a: &a [[[1]]]\nb: [[*a]]\n", "object.nestingDepth"],
    ["a long string", `a: ${"x".repeat(21)}\n`, "object.stringLength"],
    [
      "deep flow nesting, before parsing",
      `a: ${"[".repeat(10_000)}${"]".repeat(10_000)}`,
      "object.nestingDepth",
    ],
    ["more separators than values allowed, before parsing", `a: ${flowList(100)}`, "object.nodes"],
  ];
  for (const [name, text, limit] of refused) {
    it(`refuses ${name} naming ${limit}`, () =>
      assert.throws(
        () => decodeYaml(text, small),
        (error: unknown) => error instanceof LimitExceededError && error.limit === limit,
      ));
  }

  it("refuses the reported attack (99 aliases of a 1.4M-item list) in well under a second", () => {
    const attack = `spec:\n  x0: &x ${flowList(1_400_000)}\n${Array.from({ length: 99 }, (_, i) => `  y${i}: *x`).join("\n")}\n`;
    const started = performance.now();
    assert.throws(() => decodeYaml(attack, defaultLimits), /object\.nodes/);
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
  });

  it("refuses a self-referencing alias", () => {
    assert.throws(() => decodeYaml("a: &a [*a]\n", small), /the alias at a\[0\] refers to itself/);
  });

  it("reports syntax errors by line without a code frame", () => {
    assert.throws(
      () => decodeYaml("a: 1\nb: [\nsecret: hunter2\n", small),
      (error: unknown) =>
        error instanceof DecodeError && !error.message.includes("hunter2") && error.line !== undefined,
    );
  });
});

describe("decodeYamlDocuments", () => {
  it("decodes each document on its own: a bad one does not lose the others", () => {
    const documents = decodeYamlDocuments(`a: 1\n---\nb: [\n---\nc: ${"x".repeat(30)}\n---\nd: 4\n`, small);
    assert.deepEqual(
      documents.map((d) => [d.line, d.value, d.error?.constructor.name]),
      [
        [1, { a: 1 }, undefined],
        [2, undefined, "DecodeError"],
        [4, undefined, "LimitExceededError"],
        [6, { d: 4 }, undefined],
      ],
    );
  });
});

describe("decodeUtf8", () => {
  it("decodes UTF-8 and refuses invalid bytes", () => {
    assert.equal(decodeUtf8(Buffer.from("héllo"), "the body"), "héllo");
    assert.throws(
      () => decodeUtf8(Buffer.from([0x7b, 0xff, 0x7d]), "the body"),
      /the body is not valid UTF-8/,
    );
  });
});
