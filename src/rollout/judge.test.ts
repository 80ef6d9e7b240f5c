// How values are judged against conditions (Argo Rollouts' rules), and how rounds combine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { holds, judge, judgeRound, type Reading } from "./judge.ts";

test("conditions compare the value with a number", () => {
  const cases: [condition: string, value: number, expected: boolean][] = [
    [">= 0.95", 0.95, true],
    [">= 0.95", 0.9499, false],
    ["> 0.95", 0.95, false],
    ["< 1e-3", 0.0005, true],
    ["<= -1", -1, true],
    ["== 1", 1, true],
    ["!= 1", 1, false],
    ["  >0.5  ", 0.6, true],
  ];
  for (const [condition, value, expected] of cases) {
    assert.equal(holds(condition, value), expected, `${condition} of ${value}`);
  }
  assert.throws(() => holds("result > 1", 2), /invalid condition/);
});

test("a measurement passes, fails or is inconclusive", () => {
  const v = (value: number): Reading => ({ value });
  const cases: [
    name: string,
    success: string | undefined,
    failure: string | undefined,
    reading: Reading,
    expected: string,
  ][] = [
    ["success holds", ">= 0.95", undefined, v(0.99), "Successful"],
    ["only success, not holding: fails", ">= 0.95", undefined, v(0.7), "Failed"],
    ["only failure, not holding: passes", undefined, "> 0.5", v(0.1), "Successful"],
    ["failure holds", undefined, "> 0.5", v(0.9), "Failed"],
    ["failure wins over success", "> 0", "> 0.5", v(0.9), "Failed"],
    ["both set, neither holds", ">= 0.95", "< 0.5", v(0.8), "Inconclusive"],
    ["no value", ">= 0.95", undefined, { error: "ECONNREFUSED" }, "Inconclusive"],
    ["NaN is no value", ">= 0.95", undefined, v(Number.NaN), "Inconclusive"],
  ];
  for (const [name, successCondition, failureCondition, reading, expected] of cases) {
    assert.equal(judge({ successCondition, failureCondition }, reading), expected, name);
  }
});

test("a round fails if any metric fails, else is inconclusive if any is", () => {
  assert.equal(judgeRound(["Successful", "Successful"]), "Successful");
  assert.equal(judgeRound(["Successful", "Inconclusive"]), "Inconclusive");
  assert.equal(judgeRound(["Inconclusive", "Failed"]), "Failed");
});
