// The README's table of analysis codes is this table: a code added, or its severity, title or
// fix changed, fails here until the README says so too.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { codeSpecs } from "./codes.ts";

test("the README lists every analysis code with its severity, problem and fix", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const rows = [...readme.matchAll(/^\| `(MP\d{4})` +\| (\w+) +\| (.+?) +\| (.+?) +\|$/gm)].map((m) => ({
    code: m[1],
    severity: m[2],
    title: m[3],
    fix: m[4]?.replaceAll("\\|", "|"),
  }));
  assert.deepEqual(
    rows,
    codeSpecs.map((s) => ({ ...s })),
  );
});

test("codes are unique, in order, and never reuse a number", () => {
  const codes = codeSpecs.map((s) => s.code);
  assert.deepEqual(codes, [...new Set(codes)].sort());
});
