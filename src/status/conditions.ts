// Kubernetes status conditions (metav1.Condition) and the read-modify-write rules the Gateway API
// asks of every controller: touch only your own entries, keep lastTransitionTime while a
// condition's status does not change, and stamp observedGeneration.

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}

/** A condition as computed, before it is merged with what is stored. */
export type DesiredCondition = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/**
 * The stored conditions updated to `desired`: a condition keeps its lastTransitionTime unless its
 * status flips; conditions of other types set by others are kept.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  generation: number,
  now: string,
): Condition[] {
  const old = new Map((previous ?? []).map((c) => [c.type, c]));
  const merged = desired.map((condition): Condition => {
    const before = old.get(condition.type);
    return {
      ...condition,
      observedGeneration: generation,
      lastTransitionTime: before && before.status === condition.status ? before.lastTransitionTime : now,
    };
  });
  const desiredTypes = new Set(desired.map((c) => c.type));
  return [...merged, ...(previous ?? []).filter((c) => !desiredTypes.has(c.type))];
}

/** Equal apart from timestamps: writing would change nothing a reader cares about. */
export function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[]): boolean {
  if (!a || a.length !== b.length) return false;
  return a.every((c, i) => {
    const d = b[i] as Condition;
    return (
      c.type === d.type &&
      c.status === d.status &&
      c.reason === d.reason &&
      c.message === d.message &&
      c.observedGeneration === d.observedGeneration
    );
  });
}

/** Whether only messages differ (e.g. "reached 41 of 97" → "reached 42 of 97"), not any status or reason. */
export function onlyMessagesDiffer(a: readonly Condition[], b: readonly Condition[]): boolean {
  const key = (c: Condition) => `${c.type}\0${c.status}\0${c.reason}\0${c.observedGeneration}`;
  return a.length === b.length && a.every((c, i) => key(c) === key(b[i] as Condition));
}
