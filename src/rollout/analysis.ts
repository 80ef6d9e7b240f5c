// One analysis step: rounds of measurements at an interval, counted in the Rollout's status so a
// new leader continues with the same counts. The step fails once more rounds failed than
// `failureLimit`, passes once `count` conclusive rounds were taken without that, and pauses (never
// passes) while more rounds in a row than `inconclusiveLimit` could not be judged. Pure.
import { analysisDefaults, parseDurationMs, type AnalysisStep } from "../api/index.ts";
import { judge, judgeRound, type MeasurementResult, type Reading } from "./judge.ts";
import { maxRounds, type AnalysisProgress, type Measurement } from "./status.ts";

export function intervalMs(step: AnalysisStep): number {
  return parseDurationMs(step.interval ?? analysisDefaults.interval);
}

export function startAnalysis(step: AnalysisStep, index: number, now: number): AnalysisProgress {
  return {
    step: index,
    startedAt: new Date(now).toISOString(),
    nextAt: new Date(now + intervalMs(step)).toISOString(),
    successful: 0,
    failed: 0,
    inconclusive: 0,
    rounds: [],
  };
}

/** Where an analysis stands after a round. */
export type AnalysisOutcome =
  | { readonly kind: "running"; readonly progress: AnalysisProgress }
  | { readonly kind: "inconclusive"; readonly progress: AnalysisProgress }
  | { readonly kind: "done"; readonly progress: AnalysisProgress; readonly result: "Successful" | "Failed" };

/** Judges one round (`readings` aligned with `step.metrics`) and moves the counts on. */
export function recordRound(
  step: AnalysisStep,
  progress: AnalysisProgress,
  readings: readonly Reading[],
  now: number,
): AnalysisOutcome {
  const measurements = step.metrics.map((metric, i): Measurement => {
    const reading = readings[i] ?? { error: "not measured" };
    const result = judge(metric, reading);
    return "value" in reading
      ? { metric: metric.name, result, value: reading.value }
      : { metric: metric.name, result, message: reading.error };
  });
  const result: MeasurementResult = judgeRound(measurements.map((m) => m.result));
  const next: AnalysisProgress = {
    ...progress,
    nextAt: new Date(now + intervalMs(step)).toISOString(),
    successful: progress.successful + (result === "Successful" ? 1 : 0),
    failed: progress.failed + (result === "Failed" ? 1 : 0),
    inconclusive: result === "Inconclusive" ? progress.inconclusive + 1 : 0,
    rounds: [...progress.rounds, { at: new Date(now).toISOString(), result, measurements }].slice(-maxRounds),
  };
  if (next.failed > (step.failureLimit ?? analysisDefaults.failureLimit)) {
    return { kind: "done", progress: { ...next, result: "Failed" }, result: "Failed" };
  }
  if (next.inconclusive > (step.inconclusiveLimit ?? analysisDefaults.inconclusiveLimit)) {
    return { kind: "inconclusive", progress: next };
  }
  if (next.successful + next.failed >= (step.count ?? analysisDefaults.count)) {
    return { kind: "done", progress: { ...next, result: "Successful" }, result: "Successful" };
  }
  return { kind: "running", progress: next };
}

/** The metrics' conditions, for messages: `success-rate >= 0.95`. */
export function describeConditions(step: AnalysisStep): string {
  return step.metrics
    .map((m) =>
      [
        m.successCondition === undefined ? undefined : `${m.name} ${m.successCondition.trim()} to pass`,
        m.failureCondition === undefined ? undefined : `${m.name} ${m.failureCondition.trim()} fails`,
      ]
        .filter(Boolean)
        .join(", "),
    )
    .join("; ");
}
