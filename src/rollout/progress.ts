// The rollout state machine: from the Rollout (spec and status), its route and the time, what to
// write next. One transition per call; the controller writes the status first and the route after
// it, so a leader that dies in between leaves an intent the next one completes, and the route's
// recorded weights (route-weights.ts) tell the controller's own writes from anybody else's. Pure.
import { createHash } from "node:crypto";
import { parseDurationMs, type Rollout, type RolloutMetric } from "../api/index.ts";
import { mergeConditions, type DesiredCondition } from "../status/index.ts";
import type { KubeObject } from "../store/index.ts";
import { describeConditions, recordRound, startAnalysis } from "./analysis.ts";
import type { Reading } from "./judge.ts";
import {
  currentWeights,
  editedRoute,
  recordedWeights,
  routeProblem,
  weightsFor,
  type Header,
} from "./route-weights.ts";
import {
  formatMeasurements,
  maxHistory,
  programmedState,
  readStatus,
  type AnalysisProgress,
  type RolloutPhase,
  type RolloutStatus,
} from "./status.ts";

export interface ProgressInput {
  readonly rollout: Rollout;
  /** The route spec.routeRef names, as stored now; undefined when it does not exist. */
  readonly route: KubeObject | undefined;
  /** Backend Services that do not exist. */
  readonly missingBackends: readonly string[];
  readonly now: number;
  /** Readings of the analysis round now due, aligned with the step's metrics (after a `measure`). */
  readonly readings?: readonly Reading[];
}

export interface RolloutEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

export type ProgressOutput =
  /** An analysis round is due: read these metrics, then call again with the readings. */
  | { readonly kind: "measure"; readonly metrics: readonly RolloutMetric[] }
  | {
      readonly kind: "write";
      /** The status to write; undefined when it would not change. */
      readonly status: RolloutStatus | undefined;
      /** The route to write after the status, if it must change. */
      readonly route?: KubeObject;
      /** Set spec.paused (the controller pauses itself on a manual weight change). */
      readonly pause?: boolean;
      /**
       * Remove spec.promote: a promotion is a one-shot request, consumed when its step ends (or
       * stale once another step runs), so a later run of the same step index never reuses it.
       * Written before the status, so a promotion is never applied twice.
       */
      readonly clearPromote?: boolean;
      readonly events: readonly RolloutEvent[];
      /** Look again after this long even if nothing changes. */
      readonly requeueAfterMs?: number;
    };

/** Poll for `Programmed` this often while waiting (route status changes also wake the controller). */
const programmedPollMs = 1000;

export function progress(input: ProgressInput): ProgressOutput {
  const { rollout, route, now } = input;
  const revision = revisionOf(rollout);
  const stored = readStatus(rollout);
  const events: RolloutEvent[] = [];
  let s = stored && stored.revision === revision ? stored : initialStatus(revision, now);
  if (stored && stored.revision !== revision) {
    events.push({
      type: "Normal",
      reason: "Restarted",
      message: "the route, backends or steps changed: starting again at step 0",
    });
  }
  const write = (
    next: RolloutStatus,
    extra: { route?: KubeObject | undefined; pause?: boolean; requeueAfterMs?: number } = {},
  ): ProgressOutput => {
    const status = finish(rollout, next, undefined, now);
    const promote = rollout.spec.promote;
    return {
      kind: "write",
      status: sameStatus(stored, status) ? undefined : status,
      ...(extra.route ? { route: extra.route } : {}),
      ...(extra.pause ? { pause: true } : {}),
      ...(promote !== undefined && promote !== next.currentStep ? { clearPromote: true } : {}),
      events,
      ...(extra.requeueAfterMs === undefined ? {} : { requeueAfterMs: extra.requeueAfterMs }),
    };
  };

  const problem =
    routeProblem(rollout, route) ??
    (input.missingBackends.length > 0
      ? {
          reason: "BackendNotFound",
          message: `Service ${input.missingBackends.join(", ")} not found in namespace ${rollout.metadata.namespace ?? "default"}`,
        }
      : undefined);
  if (problem || !route) {
    const status = finish(rollout, { ...s, message: problem?.message ?? "" }, problem, now);
    return { kind: "write", status: sameStatus(stored, status) ? undefined : status, events };
  }
  const at = (time: number) => new Date(time).toISOString();
  const name = rollout.metadata.name;
  const current = currentWeights(rollout, route);
  const recorded = recordedWeights(rollout, route);
  const untouched =
    recorded === undefined || (recorded.stable === current.stable && recorded.canary === current.canary);
  const edit = (canary: number, header: Header | undefined) =>
    untouched ? editedRoute(rollout, route, weightsFor(canary), header) : undefined;

  if (rollout.spec.abort) {
    if (s.phase === "Aborted") return write(s, { route: edit(0, undefined) });
    events.push({
      type: "Warning",
      reason: "Aborted",
      message: `aborted at step ${s.currentStep} (spec.abort): all traffic back to stable ${rollout.spec.stableBackend.name}`,
    });
    const next = {
      ...s,
      phase: "Aborted" as const,
      message: "aborted: all traffic on stable",
      canaryWeight: 0,
      analysis: undefined,
      pauseReason: undefined,
    };
    delete (next as { exposedHeader?: unknown }).exposedHeader;
    return write(next, { route: edit(0, undefined) });
  }
  if (s.phase === "Aborted") {
    events.push({ type: "Normal", reason: "Restarted", message: "abort lifted: starting again at step 0" });
    s = initialStatus(revision, now);
  }
  if (s.phase === "Succeeded" || s.phase === "Degraded") {
    // Finished: complete the route write a dying leader may have left undone, never fight an edit.
    return write(s, { route: edit(s.canaryWeight, undefined) });
  }

  if (rollout.spec.paused) {
    // A pause for a manual edit keeps its reason (resume takes the weights back); any other yields to the user's.
    const reason = s.pauseReason === "ManualWeightChange" ? s.pauseReason : "UserPaused";
    const message =
      reason === "UserPaused"
        ? `paused at step ${s.currentStep} (spec.paused); resume: meshplane rollout resume ${name}`
        : s.message;
    if (s.pauseReason !== reason) events.push({ type: "Normal", reason: "Paused", message });
    return write({ ...s, phase: "Paused", pauseReason: reason, message });
  }
  if (!untouched && s.pauseReason !== "ManualWeightChange") {
    const message = `the weights of ${rollout.spec.routeRef.kind} ${route.metadata.name} rule ${rollout.spec.routeRef.rule ?? 0} were changed outside the rollout (stable ${current.stable}, canary ${current.canary}; the rollout set ${recorded?.stable}, ${recorded?.canary}): paused at step ${s.currentStep}; resume to take the weights back: meshplane rollout resume ${name}`;
    events.push({ type: "Warning", reason: "ManualWeightChange", message });
    return write({ ...s, phase: "Paused", pauseReason: "ManualWeightChange", message }, { pause: true });
  }
  if (s.pauseReason === "ManualWeightChange" || s.pauseReason === "UserPaused") {
    events.push({ type: "Normal", reason: "Resumed", message: `resumed at step ${s.currentStep}` });
    s = withoutPause({ ...s, phase: "Progressing", message: `resumed at step ${s.currentStep}` });
  }
  const take = (canary: number, header: Header | undefined) =>
    editedRoute(rollout, route, weightsFor(canary), header);

  const steps = rollout.spec.steps;
  const i = s.currentStep;
  if (i >= steps.length) {
    if (s.canaryWeight !== 100 || s.exposedHeader) {
      const next = { ...s, canaryWeight: 100, message: "all steps done: sending all traffic to the canary" };
      delete (next as { exposedHeader?: unknown }).exposedHeader;
      return write(next, { route: take(100, undefined), requeueAfterMs: 0 });
    }
    const routeWrite = take(100, undefined);
    if (routeWrite) return write(s, { route: routeWrite, requeueAfterMs: 0 });
    const programmed = programmedState(route);
    if (!programmed.done) {
      return write(
        { ...s, message: `promoting: waiting for 100% to be programmed: ${programmed.message}` },
        { requeueAfterMs: programmedPollMs },
      );
    }
    events.push({
      type: "Normal",
      reason: "Completed",
      message: `every step passed: canary ${rollout.spec.canaryBackend.name} takes all traffic (${programmed.message})`,
    });
    return write({
      ...s,
      phase: "Succeeded",
      message: `completed: canary ${rollout.spec.canaryBackend.name} at 100%`,
    });
  }
  // Keep the route at the weights the rollout wants (after a resume, or a write a dying leader left undone).
  const pending = take(s.canaryWeight, s.exposedHeader);
  const step = steps[i] as Rollout["spec"]["steps"][number];
  const advance = (reason: string, message: string, extra: Partial<RolloutStatus> = {}): ProgressOutput => {
    events.push({ type: "Normal", reason, message: `step ${i}: ${message}` });
    return write(
      {
        ...withoutPause(s),
        ...extra,
        phase: "Progressing",
        currentStep: i + 1,
        stepStartedAt: at(now),
        message: `step ${i}: ${message}`,
      },
      { requeueAfterMs: 0 },
    );
  };

  if (step.setWeight !== undefined || step.exposeByHeader !== undefined) {
    const canary = step.setWeight ?? s.canaryWeight;
    const header = step.exposeByHeader ?? s.exposedHeader;
    const what =
      step.setWeight !== undefined
        ? `canary at ${canary}%`
        : `canary exposed to requests with ${header?.name}: ${header?.value}`;
    if (
      s.canaryWeight !== canary ||
      s.exposedHeader?.name !== header?.name ||
      s.exposedHeader?.value !== header?.value
    ) {
      const next = {
        ...s,
        phase: "Progressing" as const,
        canaryWeight: canary,
        ...(header ? { exposedHeader: header } : {}),
        message: `step ${i}: setting ${what}`,
      };
      return write(next, { route: take(canary, header), requeueAfterMs: 0 });
    }
    if (pending) return write(s, { route: pending, requeueAfterMs: 0 });
    const programmed = programmedState(route);
    if (!programmed.done) {
      return write(
        { ...s, message: `step ${i}: ${what}; waiting until programmed: ${programmed.message}` },
        { requeueAfterMs: programmedPollMs },
      );
    }
    return advance("StepCompleted", `${what}, programmed (${programmed.message})`);
  }
  if (pending) return write(s, { route: pending, requeueAfterMs: 0 });

  if (step.pause) {
    if (rollout.spec.promote === i) return advance("Promoted", "pause ended by promote");
    if (step.pause.duration === undefined) {
      const message = `step ${i} pauses until promoted: meshplane rollout promote ${name}`;
      if (s.pauseReason !== "AwaitingPromotion")
        events.push({ type: "Normal", reason: "AwaitingPromotion", message });
      return write({ ...s, phase: "Paused", pauseReason: "AwaitingPromotion", message });
    }
    const due = Date.parse(s.stepStartedAt) + parseDurationMs(step.pause.duration);
    if (now >= due) return advance("StepCompleted", `paused for ${step.pause.duration}`);
    return write(
      { ...s, phase: "Progressing", message: `step ${i}: pausing until ${at(due)}` },
      { requeueAfterMs: due - now },
    );
  }

  const analysis = step.analysis;
  if (!analysis) return write(s);
  if (rollout.spec.promote === i) {
    return advance("Promoted", "analysis skipped by promote", { analysis: undefined });
  }
  let a: AnalysisProgress | undefined = s.analysis?.step === i ? s.analysis : undefined;
  if (!a) {
    // Judge only the split the proxies run: start the first interval once the weights are programmed.
    const programmed = programmedState(route);
    if (!programmed.done) {
      return write(
        {
          ...s,
          message: `step ${i}: waiting until the weights are programmed before analysis: ${programmed.message}`,
        },
        { requeueAfterMs: programmedPollMs },
      );
    }
    a = startAnalysis(analysis, i, now);
    return write(
      { ...s, analysis: a, message: `step ${i}: analysis started (${describeConditions(analysis)})` },
      { requeueAfterMs: Date.parse(a.nextAt) - now },
    );
  }
  const dueAt = Date.parse(a.nextAt);
  if (now < dueAt) return write(s, { requeueAfterMs: dueAt - now });
  if (!input.readings) return { kind: "measure", metrics: analysis.metrics };

  const outcome = recordRound(analysis, a, input.readings, now);
  const last = outcome.progress.rounds.at(-1);
  const values = last ? formatMeasurements(last.measurements) : "";
  const interval = Date.parse(outcome.progress.nextAt) - now;
  if (outcome.kind === "inconclusive") {
    const message = `step ${i}: analysis inconclusive, paused (never promoted) until the metrics can be judged; measuring again every ${Math.round(interval / 1000)}s: ${values}`;
    if (s.pauseReason !== "Inconclusive")
      events.push({ type: "Warning", reason: "AnalysisInconclusive", message });
    return write(
      { ...s, phase: "Paused", pauseReason: "Inconclusive", analysis: outcome.progress, message },
      { requeueAfterMs: interval },
    );
  }
  if (s.pauseReason === "Inconclusive") {
    events.push({
      type: "Normal",
      reason: "Resumed",
      message: `step ${i}: the metrics answer again: ${values}`,
    });
  }
  const base = withoutPause({ ...s, phase: "Progressing" as RolloutPhase });
  const summary = `${outcome.progress.successful} passed, ${outcome.progress.failed} failed; last ${values}`;
  if (outcome.kind === "running") {
    return write(
      { ...base, analysis: outcome.progress, message: `step ${i}: analysing: ${summary}` },
      { requeueAfterMs: interval },
    );
  }
  const history = [...s.history, outcome.progress].slice(-maxHistory);
  const lastAnalysis = `${outcome.result} step ${i}: ${values}`;
  if (outcome.result === "Successful") {
    return advance("AnalysisSuccessful", `analysis passed: ${summary}`, {
      analysis: undefined,
      history,
      lastAnalysis,
    });
  }
  const message = `step ${i}: analysis failed (${describeConditions(analysis)}): ${summary}; all traffic back to stable ${rollout.spec.stableBackend.name}`;
  events.push({ type: "Warning", reason: "RolledBack", message });
  const next = {
    ...base,
    phase: "Degraded" as const,
    canaryWeight: 0,
    analysis: undefined,
    history,
    lastAnalysis,
    message,
  };
  delete (next as { exposedHeader?: unknown }).exposedHeader;
  return write(next, { route: take(0, undefined) });
}

function initialStatus(revision: string, now: number): RolloutStatus {
  return {
    observedGeneration: 0,
    phase: "Progressing",
    message: "starting",
    currentStep: 0,
    stepStartedAt: new Date(now).toISOString(),
    canaryWeight: 0,
    revision,
    history: [],
    conditions: [],
  };
}

function withoutPause(status: RolloutStatus): RolloutStatus {
  const { pauseReason: _reason, ...rest } = status;
  return rest;
}

/** What restarts a rollout when it changes: the route, the backends and the steps (not pause, abort, promote). */
export function revisionOf(rollout: Rollout): string {
  const { routeRef, stableBackend, canaryBackend, steps } = rollout.spec;
  const text = JSON.stringify({
    routeRef: { ...routeRef, rule: routeRef.rule ?? 0 },
    stableBackend,
    canaryBackend,
    steps,
  });
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The status with observedGeneration and conditions derived from its phase. */
function finish(
  rollout: Rollout,
  status: RolloutStatus,
  problem: { reason: string; message: string } | undefined,
  now: number,
): RolloutStatus {
  const generation = rollout.metadata.generation ?? 1;
  const conditions = mergeConditions(
    readStatus(rollout)?.conditions,
    desiredConditions(status, problem),
    generation,
    new Date(now).toISOString(),
  );
  return { ...status, observedGeneration: generation, conditions };
}

function desiredConditions(
  status: RolloutStatus,
  problem: { reason: string; message: string } | undefined,
): DesiredCondition[] {
  const accepted: DesiredCondition = problem
    ? { type: "Accepted", status: "False", ...problem }
    : { type: "Accepted", status: "True", reason: "Accepted", message: "route rule and backends found" };
  const progressing: DesiredCondition =
    status.phase === "Progressing"
      ? { type: "Progressing", status: "True", reason: "Progressing", message: status.message }
      : { type: "Progressing", status: "False", reason: status.phase, message: status.message };
  const paused: DesiredCondition =
    status.phase === "Paused"
      ? { type: "Paused", status: "True", reason: status.pauseReason ?? "Paused", message: status.message }
      : { type: "Paused", status: "False", reason: "NotPaused", message: "" };
  const degraded: DesiredCondition =
    status.phase === "Degraded"
      ? { type: "Degraded", status: "True", reason: "AnalysisFailed", message: status.message }
      : { type: "Degraded", status: "False", reason: "NotDegraded", message: "" };
  return [accepted, progressing, paused, degraded];
}

/** Equal as JSON whatever the key order (a stored status comes back with the store's order). */
function sameStatus(a: RolloutStatus | undefined, b: RolloutStatus): boolean {
  return a !== undefined && canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}
