// How one measured value is judged against a metric's conditions, and how a round of measurements
// (one per metric) is judged. The rules are Argo Rollouts' AnalysisRun rules: a failure condition
// that holds fails; a success condition that holds succeeds; with only one condition set, the other
// outcome is its negation; with both set and neither holding, the measurement is inconclusive.
// A value that could not be taken (provider unreachable, no data) is inconclusive, never a pass.
import { conditionPattern } from "../api/index.ts";

export type MeasurementResult = "Successful" | "Failed" | "Inconclusive";

/** A value, or why there is none. */
export type Reading = { readonly value: number } | { readonly error: string };

const conditionSyntax = new RegExp(conditionPattern);

/** Whether `value` satisfies a condition such as `>= 0.95` (validated against conditionPattern). */
export function holds(condition: string, value: number): boolean {
  if (!conditionSyntax.test(condition)) throw new Error(`invalid condition ${JSON.stringify(condition)}`);
  const [, op, number] = /^\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$/.exec(condition) as unknown as [
    string,
    string,
    string,
  ];
  const bound = Number(number);
  switch (op) {
    case "<":
      return value < bound;
    case "<=":
      return value <= bound;
    case ">":
      return value > bound;
    case ">=":
      return value >= bound;
    case "==":
      return value === bound;
    default:
      return value !== bound;
  }
}

export interface Conditions {
  readonly successCondition?: string | undefined;
  readonly failureCondition?: string | undefined;
}

export function judge(conditions: Conditions, reading: Reading): MeasurementResult {
  if ("error" in reading || !Number.isFinite(reading.value)) return "Inconclusive";
  const { value } = reading;
  const failed =
    conditions.failureCondition === undefined ? undefined : holds(conditions.failureCondition, value);
  const succeeded =
    conditions.successCondition === undefined ? undefined : holds(conditions.successCondition, value);
  if (failed === true) return "Failed";
  if (succeeded === true) return "Successful";
  if (succeeded === false && failed === undefined) return "Failed";
  if (failed === false && succeeded === undefined) return "Successful";
  return "Inconclusive";
}

/** A round fails if any metric failed, is inconclusive if any was (and none failed), else succeeds. */
export function judgeRound(results: readonly MeasurementResult[]): MeasurementResult {
  if (results.includes("Failed")) return "Failed";
  if (results.includes("Inconclusive")) return "Inconclusive";
  return "Successful";
}
