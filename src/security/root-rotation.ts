// Root rotation with an overlap in which both roots are trusted, so that no connection fails while
// the root changes. Agents fetch the trust bundle each time they renew, at about half of a
// certificate's lifetime, so it takes up to one workload certificate lifetime (`phaseMs`) for a
// change of bundle to reach every workload. Hence three steps:
//
//   publishing  [start, start+phase)       trust {old, new}, sign with old: every workload learns
//                                          the new root while every certificate still chains to old
//   switched    [start+phase, start+2phase) trust {old, new}, sign with new: certificates from the
//                                          old root expire, all peers already trust the new one
//   done        [start+2phase, ...)        trust {new}: the old root is dropped
//
// Signing with the new root as soon as rotation starts (with both roots trusted) would break calls
// to a peer that has not yet renewed and so does not trust the new root.

export interface Rotation {
  readonly startedAt: number;
  readonly phaseMs: number;
}

export type RotationPhase = "publishing" | "switched" | "done";

export function rotationPhase(rotation: Rotation, now: number): RotationPhase {
  if (now < rotation.startedAt + rotation.phaseMs) return "publishing";
  if (now < rotation.startedAt + 2 * rotation.phaseMs) return "switched";
  return "done";
}

/** When the phase after the current one begins. */
export function nextPhaseAt(rotation: Rotation, now: number): number {
  const phase = rotationPhase(rotation, now);
  return rotation.startedAt + (phase === "publishing" ? 1 : 2) * rotation.phaseMs;
}

/**
 * When a root that lives from `notBefore` to `notAfter` should be replaced: with a fifth of its life
 * left, and never later than four workload lifetimes before it expires (the rotation takes two).
 */
export function rotationDueAt(notBefore: number, notAfter: number, workloadTtlMs: number): number {
  return notAfter - Math.max((notAfter - notBefore) / 5, 4 * workloadTtlMs);
}
