import assert from "node:assert/strict";
import { test } from "node:test";
import { unifiedDiff } from "./text-diff.ts";

const lines = (n: number, change?: [number, string]) =>
  Array.from({ length: n }, (_, i) => (change && change[0] === i ? change[1] : `line ${i}`)).join("\n");

const cases: { name: string; before: string; after: string; want: string }[] = [
  { name: "equal texts", before: "a\nb", after: "a\nb", want: "" },
  {
    name: "one line changed",
    before: "a\nb\nc",
    after: "a\nB\nc",
    want: "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
  },
  { name: "added to nothing", before: "", after: "a\nb", want: "@@ -0,0 +1,2 @@\n+a\n+b\n" },
  { name: "removed", before: "a\nb", after: "", want: "@@ -1,2 +0,0 @@\n-a\n-b\n" },
  {
    name: "far apart changes make two hunks with 3 lines of context",
    before: lines(20),
    after: lines(20, [2, "two"]).replace("line 17", "seventeen"),
    want:
      "@@ -1,6 +1,6 @@\n line 0\n line 1\n-line 2\n+two\n line 3\n line 4\n line 5\n" +
      "@@ -15,6 +15,6 @@\n line 14\n line 15\n line 16\n-line 17\n+seventeen\n line 18\n line 19\n",
  },
];

for (const c of cases) {
  test(`unified diff: ${c.name}`, () => assert.equal(unifiedDiff(c.before, c.after), c.want));
}
