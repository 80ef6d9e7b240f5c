// Status of the other objects whose resources reach proxies: meshplane policies (Accepted and
// Programmed) and Services (Programmed, next to whatever else their status holds). Pure.
import type { MeshIssue } from "../mesh/index.ts";
import { mergeConditions, sameConditions, type Condition, type DesiredCondition } from "./conditions.ts";
import { flavourName, programmedCondition, type ProgrammedSummary } from "./route-status.ts";

export interface StatusObject {
  readonly kind: string;
  readonly metadata: { readonly generation?: number };
  readonly status?: unknown;
}

/** The object's new `status`, or undefined when nothing but timestamps would change. */
export function objectStatus(
  object: StatusObject,
  issues: readonly MeshIssue[],
  programmed: ProgrammedSummary | undefined,
  now: string,
): Record<string, unknown> | undefined {
  const previous = (object.status ?? {}) as { conditions?: Condition[] } & Record<string, unknown>;
  const desired: DesiredCondition[] = [];
  let accepted = true;
  if (object.kind !== "Service") {
    const general = issues.find((i) => i.flavour === undefined);
    const limits = issues.filter((i) => i.flavour !== undefined);
    accepted = general === undefined;
    const note = limits.map((i) => `${flavourName(i)}: ${i.field}: ${i.message}`).join("; ");
    desired.push(
      general
        ? {
            type: "Accepted",
            status: "False",
            reason: general.reason,
            message: `${general.field}: ${general.message}`,
          }
        : {
            type: "Accepted",
            status: "True",
            reason: "Accepted",
            message: note ? `Accepted; not applied for ${note}` : "Accepted",
          },
    );
  }
  desired.push(programmedCondition(accepted, programmed));
  const ours = new Set(desired.map((c) => c.type));
  const before = previous.conditions?.filter((c) => ours.has(c.type));
  const merged = mergeConditions(previous.conditions, desired, object.metadata.generation ?? 1, now);
  if (
    sameConditions(
      before,
      merged.filter((c) => ours.has(c.type)),
    )
  )
    return undefined;
  return { ...previous, conditions: merged };
}
