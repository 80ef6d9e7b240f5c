// The leader's Rollout controller: a level-based reconcile per Rollout over informers on Rollouts,
// routes and Services. Each reconcile reads the Rollout and its route fresh from the store, asks
// progress.ts for the next transition, takes an analysis round when one is due, and writes with
// optimistic concurrency (a stale read loses with Conflict and is retried), the status before the
// route, so whichever replica leads next continues from what the status says. Every delay goes
// through the controller's Clock.
import { validateResource, type Rollout } from "../api/index.ts";
import { systemClock, type Clock } from "../clock/index.ts";
import {
  Controller,
  Informer,
  objectKey,
  type ControllerMetrics,
  type InformerEvent,
} from "../controller/index.ts";
import { isStoreError, type KubeObject, type ResourceStore, type ResourceType } from "../store/index.ts";
import type { Logger, MeshplaneMetrics } from "../telemetry/index.ts";
import { judge, type Reading } from "./judge.ts";
import type { MetricReader } from "./providers.ts";
import { progress, type RolloutEvent } from "./progress.ts";
import { readStatus, rolloutPhases, type RolloutStatus } from "./status.ts";

export const rolloutType: ResourceType = { group: "meshplane.dev", resource: "rollouts", namespaced: true };
const routeTypes: Readonly<Record<string, ResourceType>> = {
  GRPCRoute: { group: "gateway.networking.k8s.io", resource: "grpcroutes", namespaced: true },
  HTTPRoute: { group: "gateway.networking.k8s.io", resource: "httproutes", namespaced: true },
};
const serviceType: ResourceType = { group: "", resource: "services", namespaced: true };

export type RolloutMetrics = ControllerMetrics &
  Pick<
    MeshplaneMetrics,
    "rolloutCanaryWeight" | "rolloutStep" | "rolloutPhase" | "rolloutMeasurements" | "rolloutTransitions"
  >;

/** Where a controller's events go (the API's Events, see events.ts). */
export interface EventSink {
  record(rollout: KubeObject, event: RolloutEvent): Promise<void>;
}

export interface RolloutControllerOptions {
  readonly store: ResourceStore;
  readonly logger: Logger;
  readonly metrics: RolloutMetrics;
  readonly reader: MetricReader;
  readonly events: EventSink;
  readonly clock?: Clock;
}

export class RolloutController {
  private readonly options: RolloutControllerOptions;
  private readonly clock: Clock;

  constructor(options: RolloutControllerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  /** Runs rollouts until `signal` aborts (leadership lost or shutdown). */
  async run(signal: AbortSignal): Promise<void> {
    const { store, logger } = this.options;
    const informer = (type: ResourceType) =>
      new Informer({
        store,
        type,
        logger: logger.child({ component: "rollout-informer", resource: type.resource }),
      });
    const rollouts = informer(rolloutType);
    const routes = Object.entries(routeTypes).map(([kind, type]) => ({ kind, informer: informer(type) }));
    const services = informer(serviceType);
    const controller = new Controller({
      name: "rollout",
      metrics: this.options.metrics,
      logger: logger.child({ component: "rollout-controller" }),
      clock: this.clock,
      reconcile: (key, runSignal) => this.reconcile(key, runSignal),
    });
    /** Rollouts in the object's namespace that `refers` to it. */
    const referring = (refers: (spec: Rollout["spec"], name: string) => boolean) => (event: InformerEvent) =>
      rollouts
        .list()
        .filter(
          (r) =>
            r.metadata.namespace === event.object.metadata.namespace &&
            refers(r.spec as Rollout["spec"], event.object.metadata.name ?? ""),
        )
        .map(objectKey);
    controller.watch(rollouts);
    for (const { kind, informer: source } of routes) {
      controller.watch(
        source,
        referring((spec, name) => spec?.routeRef?.kind === kind && spec.routeRef.name === name),
      );
    }
    controller.watch(
      services,
      referring((spec, name) => spec?.stableBackend?.name === name || spec?.canaryBackend?.name === name),
    );
    const all = [rollouts, services, ...routes.map((r) => r.informer)];
    await Promise.all(all.map((i) => i.start()));
    try {
      await controller.run(signal);
    } finally {
      for (const i of all) i.stop();
    }
  }

  private async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const [namespace = "", name = ""] = key.split("/");
    const { store, metrics } = this.options;
    const object = await getOrUndefined(store, rolloutType, namespace, name);
    if (!object) {
      this.forget(key);
      return {};
    }
    const valid = validateResource(object);
    // The API and the config directory validate every write; a stored invalid object waits for a fix.
    if (!valid.ok || valid.resource.kind !== "Rollout") return {};
    const rollout = valid.resource;
    const routeType = routeTypes[rollout.spec.routeRef.kind] as ResourceType;
    const route = await getOrUndefined(store, routeType, namespace, rollout.spec.routeRef.name);
    const missingBackends: string[] = [];
    for (const backend of [rollout.spec.stableBackend.name, rollout.spec.canaryBackend.name]) {
      if (!(await getOrUndefined(store, serviceType, namespace, backend))) missingBackends.push(backend);
    }
    const input = { rollout, route, missingBackends, now: this.clock.now() };
    let out = progress(input);
    if (out.kind === "measure") {
      const measured = out.metrics;
      const readings = await Promise.all(
        measured.map((metric) => this.options.reader.read(metric, rollout.spec.canaryBackend.name, signal)),
      );
      if (signal.aborted) return {};
      out = progress({ ...input, now: this.clock.now(), readings });
      for (const [i, metric] of out.kind === "write" ? measured.entries() : []) {
        const provider = metric.prometheus ? "prometheus" : "web";
        metrics.rolloutMeasurements.inc({ provider, result: judge(metric, readings[i] as Reading) });
      }
    }
    if (out.kind === "measure") throw new Error("an analysis round was due twice in one reconcile");

    let current: KubeObject = object;
    if (out.pause || out.clearPromote) {
      const spec = { ...(object.spec as Record<string, unknown>) };
      if (out.clearPromote) delete spec.promote;
      if (out.pause) spec.paused = true;
      current = await store.update(rolloutType, { ...object, spec });
    }
    if (out.status) current = await store.updateStatus(rolloutType, { ...current, status: out.status });
    // The status write commits the transition: its events now, even if the route write below loses
    // a race (a status writer updated the route) and is redone from the status on the retry.
    for (const event of out.events) {
      metrics.rolloutTransitions.inc({ reason: event.reason });
      this.options.logger.info({ rollout: key, reason: event.reason }, event.message);
      await this.options.events
        .record(current, event)
        .catch((error: unknown) =>
          this.options.logger.warn({ rollout: key, err: error }, "could not record an event"),
        );
    }
    this.observe(key, out.status ?? readStatus(object));
    if (out.route) await store.update(routeType, out.route);
    return out.requeueAfterMs === undefined ? {} : { requeueAfterMs: Math.max(0, out.requeueAfterMs) };
  }

  private observe(key: string, status: RolloutStatus | undefined): void {
    if (!status) return;
    const { metrics } = this.options;
    metrics.rolloutCanaryWeight.set({ rollout: key }, status.canaryWeight);
    metrics.rolloutStep.set({ rollout: key }, status.currentStep);
    for (const phase of rolloutPhases)
      metrics.rolloutPhase.set({ rollout: key, phase }, phase === status.phase ? 1 : 0);
  }

  private forget(key: string): void {
    const { metrics } = this.options;
    metrics.rolloutCanaryWeight.remove({ rollout: key });
    metrics.rolloutStep.remove({ rollout: key });
    for (const phase of rolloutPhases) metrics.rolloutPhase.remove({ rollout: key, phase });
  }
}

async function getOrUndefined(
  store: ResourceStore,
  type: ResourceType,
  namespace: string,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await store.get(type, { namespace, name });
  } catch (error) {
    if (isStoreError(error, "NotFound")) return undefined;
    throw error;
  }
}
