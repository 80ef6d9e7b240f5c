// The dashboard's Rollout entries, from the Rollout objects as the store holds them (an informer's
// cache, wired by `serve`): status-only writes, which is how a rollout progresses, never republish
// the serving state, so the serving state's resources are not where a rollout's progress is.
// Status is whatever was written through the status subresource, so every field is read
// defensively and every string cut to an excerpt. Bounded: the most troubled rollouts first, and
// the latest analysis rounds of each.
import type { Rollout } from "../api/index.ts";
import { excerpt } from "../limits/index.ts";
import type { KubeObject } from "../store/index.ts";
import type { AnalysisRoundView, ConditionView, MeasurementView, RolloutEntry } from "./dashboard-view.ts";

export interface RolloutBounds {
  readonly rollouts: number;
  readonly roundsPerRollout: number;
}

/** Listed first when the list is cut: those that need someone, then those still moving. */
const attention: Record<string, number> = { Degraded: 0, Aborted: 1, Paused: 2, Progressing: 3 };

export function rolloutEntries(
  objects: readonly KubeObject[],
  bounds: RolloutBounds,
): { entries: [string, RolloutEntry][]; total: number } {
  const entries = objects.map(rolloutEntry);
  const rank = (e: RolloutEntry) => (e.status ? (attention[e.status.phase] ?? 4) : 3.5);
  entries.sort((a, b) => rank(a) - rank(b) || (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  return {
    total: entries.length,
    entries: entries
      .slice(0, bounds.rollouts)
      .map((e): [string, RolloutEntry] => [`rollout:${e.object}`, limitRounds(e, bounds.roundsPerRollout)]),
  };
}

function limitRounds(entry: RolloutEntry, rounds: number): RolloutEntry {
  if (!entry.status || entry.status.rounds.length <= rounds) return entry;
  return { ...entry, status: { ...entry.status, rounds: entry.status.rounds.slice(-rounds) } };
}

function rolloutEntry(object: KubeObject): RolloutEntry {
  const namespace = object.metadata.namespace ?? "default";
  const spec = (object as unknown as Partial<Rollout>).spec;
  const ref = spec?.routeRef;
  const status = record(object.status);
  const phase = text(status?.phase);
  const currentStep = count(status?.currentStep);
  // Rounds of the finished analyses, then of the running one: newest last.
  const analyses = [...list(status?.history), ...(status?.analysis === undefined ? [] : [status.analysis])];
  const rounds = analyses.flatMap((analysis) => {
    const a = record(analysis);
    return list(a?.rounds).map((r) => round(count(a?.step) ?? 0, r));
  });
  return {
    kind: "rollout",
    object: `Rollout ${namespace}/${object.metadata.name}`,
    route: `${ref?.kind ?? "?"} ${namespace}/${excerpt(String(ref?.name ?? "?"), 253)} rule ${ref?.rule ?? 0}`,
    stable: excerpt(String(spec?.stableBackend?.name ?? "?"), 253),
    canary: excerpt(String(spec?.canaryBackend?.name ?? "?"), 253),
    steps: spec?.steps?.length ?? 0,
    ...(phase === undefined || currentStep === undefined
      ? {}
      : {
          status: {
            phase,
            message: text(status?.message) ?? "",
            currentStep,
            canaryWeight: count(status?.canaryWeight) ?? 0,
            ...optional("pauseReason", text(status?.pauseReason)),
            rounds,
            roundCount: rounds.length,
            conditions: list(status?.conditions).map(condition),
          },
        }),
  };
}

function round(step: number, value: unknown): AnalysisRoundView {
  const r = record(value);
  return {
    step,
    at: text(r?.at) ?? "",
    result: text(r?.result) ?? "",
    measurements: list(r?.measurements)
      .slice(0, 8)
      .map((m): MeasurementView => {
        const v = record(m);
        const measured = v?.value;
        return {
          metric: text(v?.metric) ?? "",
          result: text(v?.result) ?? "",
          ...optional(
            "value",
            typeof measured === "number" && Number.isFinite(measured) ? measured : undefined,
          ),
          ...optional("message", text(v?.message)),
        };
      }),
  };
}

function condition(value: unknown): ConditionView {
  const c = record(value);
  return {
    type: text(c?.type) ?? "",
    status: text(c?.status) ?? "",
    reason: text(c?.reason) ?? "",
    message: text(c?.message) ?? "",
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** At most the first 64 items: status keeps ten rounds and ten analyses (src/rollout/status.ts). */
function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value.slice(0, 64) : [];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? excerpt(value, 512) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
