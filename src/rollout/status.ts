// A Rollout's status: everything the controller knows about its progress, so that whichever replica
// leads next continues from the same step, with the same analysis counts, and never repeats a
// promotion or skips a measurement. Plus reading whether a route's current generation is
// `Programmed` on the proxies (the status controller's condition, src/status/route-status.ts).
import type { KubeObject } from "../store/index.ts";
import { meshControllerName, type Condition } from "../status/index.ts";
import type { MeasurementResult } from "./judge.ts";

export type RolloutPhase = "Progressing" | "Paused" | "Succeeded" | "Degraded" | "Aborted";
export const rolloutPhases: readonly RolloutPhase[] = [
  "Progressing",
  "Paused",
  "Succeeded",
  "Degraded",
  "Aborted",
];

export interface Measurement {
  readonly metric: string;
  readonly result: MeasurementResult;
  readonly value?: number;
  readonly message?: string;
}

export interface AnalysisRound {
  readonly at: string;
  readonly result: MeasurementResult;
  readonly measurements: readonly Measurement[];
}

/** The analysis of one step: counts of its rounds and the latest rounds with their values. */
export interface AnalysisProgress {
  readonly step: number;
  readonly startedAt: string;
  /** When the next round is due (epoch ms as an ISO time). */
  readonly nextAt: string;
  readonly successful: number;
  readonly failed: number;
  /** Inconclusive rounds in a row; reset by a conclusive one. */
  readonly inconclusive: number;
  /** The last rounds, newest last (bounded). */
  readonly rounds: readonly AnalysisRound[];
  readonly result?: MeasurementResult;
}

export interface RolloutStatus {
  readonly observedGeneration: number;
  readonly phase: RolloutPhase;
  readonly message: string;
  /** Index of the step being run; the number of steps once every step ran. */
  readonly currentStep: number;
  readonly stepStartedAt: string;
  /** The canary's share of the rule the rollout wants now, 0–100. */
  readonly canaryWeight: number;
  /** The header the canary is exposed to, while an exposure step is in force. */
  readonly exposedHeader?: { readonly name: string; readonly value: string };
  /** Why the controller paused on its own (ManualWeightChange, Inconclusive), if it did. */
  readonly pauseReason?: string;
  /** Fingerprint of the spec's route, backends and steps: a new one restarts the rollout. */
  readonly revision: string;
  readonly analysis?: AnalysisProgress;
  /** Finished analyses, newest last (bounded). */
  readonly history: readonly AnalysisProgress[];
  /** `Successful step 1: success-rate=0.998` — for the printer column. */
  readonly lastAnalysis?: string;
  readonly conditions: readonly Condition[];
}

export const maxRounds = 10;
export const maxHistory = 10;

/** The status of a Rollout object (anything with a `status`), when the controller has written one. */
export function readStatus(object: object): RolloutStatus | undefined {
  const status = (object as { status?: unknown }).status as Partial<RolloutStatus> | undefined;
  if (!status || typeof status.phase !== "string" || typeof status.currentStep !== "number") return undefined;
  return { history: [], conditions: [], ...status } as RolloutStatus;
}

/** Whether every proxy running `route` has its current generation (Programmed=True for it). */
export function programmedState(route: KubeObject): { done: boolean; message: string } {
  const generation = route.metadata.generation ?? 1;
  const parents = ((route.status as { parents?: unknown } | undefined)?.parents ?? []) as {
    controllerName?: string;
    conditions?: Condition[];
  }[];
  const ours = parents.filter((p) => p.controllerName === meshControllerName);
  if (ours.length === 0) return { done: false, message: "the route has no status yet" };
  for (const parent of ours) {
    const programmed = parent.conditions?.find((c) => c.type === "Programmed");
    if (!programmed || programmed.observedGeneration < generation) {
      return { done: false, message: `generation ${generation} not yet reported` };
    }
    if (programmed.status !== "True") return { done: false, message: programmed.message };
  }
  const message = ours[0]?.conditions?.find((c) => c.type === "Programmed")?.message ?? "";
  return { done: true, message };
}

/** `success-rate=0.998, latency-p99=0.012` */
export function formatMeasurements(measurements: readonly Measurement[]): string {
  return measurements
    .map((m) => `${m.metric}=${m.value === undefined ? `? (${m.message ?? m.result})` : round(m.value)}`)
    .join(", ");
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
