import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreError } from "./errors.ts";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "./selectors.ts";

const labelParses: ReadonlyArray<readonly [string, string]> = [
  ["", ""],
  ["a=b", "a = b"],
  ["a==b", "a = b"],
  ["a!=b", "a != b"],
  ["a=", "a = "],
  ["a in (x,y)", "a in x|y"],
  ["  a   in   ( x , y )  ", "a in x|y"],
  ["a notin (x)", "a notin x"],
  ["a in (x,)", "a in x|"],
  ["a", "a exists"],
  ["!a", "a !exists"],
  ["a>1,b<-2", "a > 1; b < -2"],
  ["example.com/app=web, !k8s.io/x , z", "example.com/app = web; k8s.io/x !exists; z exists"],
];

test("label selectors parse like labels.Parse", () => {
  for (const [input, expected] of labelParses) {
    const parsed = parseLabelSelector(input)
      .map((r) => `${r.key} ${r.operator}${r.values.length ? ` ${r.values.join("|")}` : ""}`)
      .join("; ");
    assert.equal(parsed, expected, input);
  }
});

const labelErrors: readonly string[] = [
  "=b",
  "a=b=c",
  "a in x",
  "a in (x",
  "a in ()",
  "a notin",
  "a b",
  "a,",
  ",a",
  "a>b",
  "-a=b",
  "a=-b",
  `a=${"v".repeat(64)}`,
  "Bad.Prefix/a",
  "!",
  "a in (x y)",
];

test("malformed label selectors are Invalid", () => {
  for (const input of labelErrors) {
    assert.throws(
      () => parseLabelSelector(input),
      (e: unknown) => isStoreError(e, "Invalid"),
      input,
    );
  }
});

const labelMatches: ReadonlyArray<readonly [string, Record<string, string> | undefined, boolean]> = [
  ["a=b", { a: "b" }, true],
  ["a=b", { a: "c" }, false],
  ["a=b", undefined, false],
  ["a!=b", {}, true],
  ["a!=b", { a: "b" }, false],
  ["a in (x,y)", { a: "y" }, true],
  ["a in (x,y)", {}, false],
  ["a notin (x)", {}, true],
  ["a notin (x)", { a: "x" }, false],
  ["a", { a: "" }, true],
  ["!a", { a: "" }, false],
  ["a>5", { a: "10" }, true],
  ["a>5", { a: "five" }, false],
  ["a<5", {}, false],
  ["a=,b", { a: "", b: "1" }, true],
  ["constructor", {}, false],
];

test("label requirements match as Kubernetes does (negations match absent keys)", () => {
  for (const [selector, labels, expected] of labelMatches) {
    assert.equal(
      matchesLabels(parseLabelSelector(selector), labels),
      expected,
      `${selector} on ${JSON.stringify(labels)}`,
    );
  }
});

test("field selectors: operators, escapes, and supported fields only", () => {
  assert.deepEqual(parseFieldSelector("metadata.name=a,metadata.namespace!=b, metadata.name==c"), [
    { field: "metadata.name", operator: "=", value: "a" },
    { field: "metadata.namespace", operator: "!=", value: "b" },
    { field: "metadata.name", operator: "=", value: "c" },
  ]);
  assert.deepEqual(parseFieldSelector("metadata.name=a\\,b\\=c\\\\d"), [
    { field: "metadata.name", operator: "=", value: "a,b=c\\d" },
  ]);
  assert.deepEqual(parseFieldSelector(""), []);
  assert.deepEqual(parseFieldSelector("metadata.name="), [
    { field: "metadata.name", operator: "=", value: "" },
  ]);
  for (const bad of ["spec.type=x", "metadata.name", "metadata.name=a=b", "metadata.name=a\\x"]) {
    assert.throws(
      () => parseFieldSelector(bad),
      (e: unknown) => isStoreError(e, "Invalid"),
      bad,
    );
  }
  assert.throws(() => parseFieldSelector("status.phase=Running"), /field label not supported: status.phase/);
  const selector = parseFieldSelector("metadata.namespace=,metadata.name!=x");
  assert.equal(matchesFields(selector, { name: "y" }), true, "cluster-scoped objects have namespace ''");
  assert.equal(matchesFields(selector, { name: "y", namespace: "ns" }), false);
});
