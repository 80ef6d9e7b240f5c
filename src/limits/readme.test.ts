// The README's limits table is this table: a limit added, renamed or given another default fails
// here until the README says so too.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { formatLimit, limitNames, limitSpecs } from "./index.ts";

test("the README lists every input limit with its default and description", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const rows = new Map(
    [...readme.matchAll(/^\| `([a-zA-Z.]+)` +\| ([^|]+?) +\| (.+?) +\|$/gm)].map((m) => [
      m[1] ?? "",
      [m[2], m[3]],
    ]),
  );
  for (const name of limitNames) {
    assert.deepEqual(
      rows.get(name),
      [formatLimit(name, limitSpecs[name].default), limitSpecs[name].description],
      name,
    );
  }
  assert.deepEqual(
    [...rows.keys()].filter((name) => name.includes(".") && !limitNames.includes(name as never)),
    [],
  );
});
