// The rollout's edits of a route, and nothing else: the weights of the stable and canary backendRefs
// of one rule, and (for header exposure) one extra rule of its own, recognised by its name. Every
// other field of the route stays as its owner wrote it. Each write also records the weights in an
// annotation on the route, in the same update, so a later difference between the two can only be
// somebody else's edit (the manual change that pauses a rollout). Pure.
import type { KubeObject } from "../store/index.ts";
import type { Rollout } from "../api/index.ts";

export const weightsAnnotation = "rollout.meshplane.dev/weights";

export interface Weights {
  readonly stable: number;
  readonly canary: number;
}

export interface Header {
  readonly name: string;
  readonly value: string;
}

type Json = Record<string, unknown>;
interface BackendRefLike {
  name?: unknown;
  namespace?: unknown;
  weight?: unknown;
  [field: string]: unknown;
}
interface RuleLike {
  name?: unknown;
  matches?: Json[];
  backendRefs?: BackendRefLike[];
  [field: string]: unknown;
}

/** Why the rollout cannot run against `route`, as a reason and a message; undefined when it can. */
export function routeProblem(
  rollout: Rollout,
  route: KubeObject | undefined,
): { reason: string; message: string } | undefined {
  const { routeRef, stableBackend, canaryBackend } = rollout.spec;
  const ruleIndex = routeRef.rule ?? 0;
  const where = `${routeRef.kind} ${rollout.metadata.namespace ?? "default"}/${routeRef.name}`;
  if (!route)
    return { reason: "RouteNotFound", message: `${where} does not exist; create it or fix spec.routeRef` };
  const rules = rulesOf(route);
  const rule = rules[ruleIndex];
  if (!rule || rule.name === exposureRuleName(rollout)) {
    return {
      reason: "RuleNotFound",
      message: `${where} has ${rules.length} rule(s); spec.routeRef.rule ${ruleIndex} names none`,
    };
  }
  for (const [field, backend] of [
    ["stableBackend", stableBackend.name],
    ["canaryBackend", canaryBackend.name],
  ] as const) {
    const matches = (rule.backendRefs ?? []).filter((ref) => isLocal(ref, route) && ref.name === backend);
    if (matches.length !== 1) {
      return {
        reason: "BackendNotInRule",
        message: `spec.${field}: ${where} rule ${ruleIndex} has ${matches.length} backendRef(s) named ${backend}; list it once (with weight: 0 for a canary not yet live)`,
      };
    }
  }
  return undefined;
}

/** The rule's current weights of the two backends (Gateway API: an unset weight is 1). */
export function currentWeights(rollout: Rollout, route: KubeObject): Weights {
  const rule = rulesOf(route)[rollout.spec.routeRef.rule ?? 0];
  const weight = (name: string) => {
    const ref = (rule?.backendRefs ?? []).find((r) => isLocal(r, route) && r.name === name);
    return typeof ref?.weight === "number" ? ref.weight : 1;
  };
  return { stable: weight(rollout.spec.stableBackend.name), canary: weight(rollout.spec.canaryBackend.name) };
}

/**
 * The weights this rollout last wrote into the route, when it wrote any. Recorded by backend name,
 * so a rollout whose stable and canary swap roles (the next release) still reads them right.
 */
export function recordedWeights(rollout: Rollout, route: KubeObject): Weights | undefined {
  const raw = route.metadata.annotations?.[weightsAnnotation];
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as { rollout?: unknown; weights?: Record<string, unknown> };
    if (parsed.rollout !== rollout.metadata.name) return undefined;
    const stable = parsed.weights?.[rollout.spec.stableBackend.name];
    const canary = parsed.weights?.[rollout.spec.canaryBackend.name];
    return typeof stable === "number" && typeof canary === "number" ? { stable, canary } : undefined;
  } catch {
    return undefined;
  }
}

/** Canary percentage → the two weights (they sum to 100, so percentages read as weights). */
export function weightsFor(canaryPercent: number): Weights {
  return { stable: 100 - canaryPercent, canary: canaryPercent };
}

/** The header exposure rule this rollout adds, if any, as it is in the route. */
export function exposedHeader(rollout: Rollout, route: KubeObject): Header | undefined {
  const rule = rulesOf(route).find((r) => r.name === exposureRuleName(rollout));
  const header = (rule?.matches?.[0]?.headers as Json[] | undefined)?.at(-1);
  return header ? { name: String(header.name), value: String(header.value) } : undefined;
}

/**
 * The route with the rule's two weights set to `weights`, the exposure rule present exactly when
 * `header` is given, and the weights recorded; undefined when the route already is so.
 */
export function editedRoute(
  rollout: Rollout,
  route: KubeObject,
  weights: Weights,
  header: Header | undefined,
): KubeObject | undefined {
  const current = currentWeights(rollout, route);
  const recorded = recordedWeights(rollout, route);
  const exposed = exposedHeader(rollout, route);
  if (
    current.stable === weights.stable &&
    current.canary === weights.canary &&
    recorded?.stable === weights.stable &&
    recorded.canary === weights.canary &&
    exposed?.name === header?.name &&
    exposed?.value === header?.value
  ) {
    return undefined;
  }
  const copy = structuredClone(route);
  const ruleIndex = rollout.spec.routeRef.rule ?? 0;
  const ownName = exposureRuleName(rollout);
  const spec = copy.spec as { rules: RuleLike[] };
  const rule = spec.rules[ruleIndex] as RuleLike;
  for (const ref of rule.backendRefs ?? []) {
    if (!isLocal(ref, copy)) continue;
    if (ref.name === rollout.spec.stableBackend.name) ref.weight = weights.stable;
    if (ref.name === rollout.spec.canaryBackend.name) ref.weight = weights.canary;
  }
  spec.rules = spec.rules.filter((r) => r.name !== ownName);
  if (header) spec.rules.push(exposureRule(rollout, rule, ownName, header));
  copy.metadata.annotations = {
    ...copy.metadata.annotations,
    [weightsAnnotation]: JSON.stringify({
      rollout: rollout.metadata.name,
      weights: {
        [rollout.spec.stableBackend.name]: weights.stable,
        [rollout.spec.canaryBackend.name]: weights.canary,
      },
    }),
  };
  return copy;
}

/**
 * The managed rule's matches, each also requiring the header, sent only to the canary. More
 * header matches make it the more specific rule (Gateway API precedence), so it wins.
 */
function exposureRule(rollout: Rollout, rule: RuleLike, name: string, header: Header): RuleLike {
  const canary = (rule.backendRefs ?? []).find((r) => r.name === rollout.spec.canaryBackend.name);
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  const { name: _name, matches: _matches, backendRefs: _backends, ...rest } = structuredClone(rule);
  return {
    name,
    ...rest,
    matches: matches.map((m) => ({
      ...structuredClone(m),
      headers: [...((m.headers as Json[] | undefined) ?? []), { type: "Exact", ...header }],
    })),
    backendRefs: [{ ...structuredClone(canary), weight: 1 }],
  };
}

export function exposureRuleName(rollout: Rollout): string {
  return `rollout-${rollout.metadata.name}-canary`.slice(0, 253);
}

function rulesOf(route: KubeObject): RuleLike[] {
  const rules = (route.spec as { rules?: unknown } | undefined)?.rules;
  return Array.isArray(rules) ? (rules as RuleLike[]) : [];
}

/** Rollouts name backends in their own namespace, which is the route's. */
function isLocal(ref: BackendRefLike, route: KubeObject): boolean {
  return ref.namespace === undefined || ref.namespace === (route.metadata.namespace ?? "default");
}
