// The leader's status writer: for every route, policy and Service, conditions from the mesh
// build's issues and `Programmed` from the live replicas' reports. Runs only while this replica
// holds the lease; everything it reads comes from informers, so a new leader starts from the
// store's state and the other replicas' reports, not from anything the old leader held. What the
// connected client releases would ignore or reject is predicted from the client groups the
// replicas report (translate/clients/predict.ts) and said in `Accepted`, before any push.
import { objectRef, storedKinds } from "../api/index.ts";
import {
  Controller,
  Informer,
  objectKey,
  type ControllerMetrics,
  type EventSource,
  type InformerEvent,
} from "../controller/index.ts";
import type { MeshIssue } from "../mesh/index.ts";
import {
  clientIssues,
  clientOfGroup,
  featureUses,
  type ServingState,
  type ServingStateFeed,
} from "../pipeline/index.ts";
import type { KubeObject, ResourceStore, ResourceType } from "../store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import { reportedKinds } from "./reach.ts";
import { onlyMessagesDiffer, type Condition } from "./conditions.ts";
import { objectStatus } from "./object-status.ts";
import { liveReports, readReplicaReport, ReportIndex, replicaReportType } from "./replica-report.ts";
import { meshControllerName, routeStatus, type StatusRoute } from "./route-status.ts";

export interface StatusControllerOptions {
  readonly store: ResourceStore;
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
  /** What this replica serves: its issues are what the status reports. */
  readonly serving: ServingStateFeed;
  /** Reports older than this are from replicas that died without cleaning up. Default 15 s. */
  readonly livenessMs?: number;
  /** Least time between two status writes that only change counts. Default 5 s. */
  readonly countRefreshMs?: number;
  readonly now?: () => number;
}

const routeKinds = new Set(["HTTPRoute", "GRPCRoute"]);

export class StatusController {
  private readonly options: StatusControllerOptions;
  private readonly meshChanges = new Set<(event: InformerEvent) => void>();
  /** When each object's status was last written, to pace writes that only update counts. */
  private readonly lastWrite = new Map<string, number>();
  /** Client issues of one serving state for one set of reports (recomputed when either changes). */
  private predicted:
    { readonly serving: ServingState; readonly index: ReportIndex; readonly issues: MeshIssue[] } | undefined;

  constructor(options: StatusControllerOptions) {
    this.options = options;
    const changed = () => {
      for (const listener of this.meshChanges) listener(meshEvent);
    };
    options.serving.subscribe(changed);
    options.serving.onIssues(changed);
  }

  /** Writes status until `signal` aborts (leadership lost or shutdown). */
  async run(signal: AbortSignal): Promise<void> {
    const { store, logger } = this.options;
    const informer = (type: ResourceType, resource: string) =>
      new Informer({ store, type, logger: logger.child({ component: "status-informer", resource }) });
    const objects = new Map<string, { type: ResourceType; informer: Informer }>(
      storedKinds
        .filter((k) => reportedKinds.has(k.kind))
        .map((k) => [
          k.kind,
          {
            type: { group: k.group, resource: k.resource, namespaced: k.namespaced },
            informer: informer(k, k.resource),
          },
        ]),
    );
    const reports = informer(replicaReportType, replicaReportType.resource);
    let index: ReportIndex | undefined;
    const allKeys = () =>
      [...objects].flatMap(([kind, o]) => o.informer.list().map((obj) => `${kind}|${objectKey(obj)}`));

    const controller = new Controller({
      name: "status",
      metrics: this.options.metrics,
      logger: logger.child({ component: "status-controller" }),
      workers: 2,
      reconcile: async (key) => {
        const [kind = "", name = ""] = key.split("|");
        const entry = objects.get(kind);
        const object = entry?.informer.get(name);
        const serving = this.options.serving.current;
        if (!object) this.lastWrite.delete(`${kind}|${name}`);
        if (!entry || !object || !serving) return {};
        index ??= this.reportIndex(reports.list());
        const issues = [...serving.issues, ...this.predictedIssues(serving, index)];
        return this.reconcile(entry.type, object, issues, index);
      },
    });
    for (const [kind, { informer: source }] of objects) {
      controller.watch(source, (event) => [`${kind}|${objectKey(event.object)}`]);
    }
    controller.watch(reports, () => {
      index = undefined;
      return allKeys();
    });
    controller.watch(this.meshSource(), allKeys);

    const informers = [...[...objects.values()].map((o) => o.informer), reports];
    await Promise.all(informers.map((i) => i.start()));
    try {
      await controller.run(signal);
    } finally {
      for (const i of informers) i.stop();
    }
  }

  /** What the client groups connected anywhere would not apply of this serving state's mesh. */
  private predictedIssues(serving: ServingState, index: ReportIndex): readonly MeshIssue[] {
    const known = this.predicted;
    if (known?.serving === serving && known.index === index) return known.issues;
    const clients = index.clients.flatMap((group) => clientOfGroup(group) ?? []);
    const issues = clients.length === 0 ? [] : clientIssues(featureUses(serving.mesh), clients);
    this.predicted = { serving, index, issues };
    return issues;
  }

  private reportIndex(objects: readonly KubeObject[]): ReportIndex {
    const reports = objects.flatMap((o) => readReplicaReport(o) ?? []);
    const now = (this.options.now ?? Date.now)();
    return new ReportIndex(liveReports(reports, now, this.options.livenessMs ?? 15_000));
  }

  private async reconcile(
    type: ResourceType,
    object: KubeObject,
    allIssues: readonly MeshIssue[],
    index: ReportIndex,
  ): Promise<{ requeueAfterMs?: number }> {
    const ref = objectRef(object.kind, {
      name: object.metadata.name ?? "",
      namespace: object.metadata.namespace ?? "default",
    });
    const issues = allIssues.filter((i) => i.object === ref);
    const summary = index.summary(ref, object.metadata.generation ?? 1);
    const now = new Date((this.options.now ?? Date.now)()).toISOString();
    const status = routeKinds.has(object.kind)
      ? routeStatus(object as unknown as StatusRoute, issues, summary, now)
      : objectStatus(object, issues, summary, now);
    if (status) {
      // Counts move with every proxy that connects; rewrite for them at most every few seconds
      // (a storm of 10,000 proxies must not become a storm of status writes).
      const key = `${object.kind}|${objectKey(object)}`;
      const clock = this.options.now ?? Date.now;
      const sinceLast = clock() - (this.lastWrite.get(key) ?? 0);
      const minimum = this.options.countRefreshMs ?? 5_000;
      if (sinceLast < minimum && onlyMessagesDiffer(conditionsOf(object.status), conditionsOf(status))) {
        return { requeueAfterMs: minimum - sinceLast };
      }
      await this.options.store.updateStatus(type, { ...object, status });
      this.lastWrite.set(key, clock());
    }
    // Until every proxy runs it, look again even if nothing else changes.
    const done = summary !== undefined && summary.reached === summary.total && summary.replicasBehind === 0;
    return done ? {} : { requeueAfterMs: 2000 };
  }

  /** Published states (and issues found while serving) as an event source: each makes every object due. */
  private meshSource(): EventSource {
    return {
      synced: Promise.resolve(),
      list: () => [],
      onEvent: (listener) => void this.meshChanges.add(listener),
    };
  }
}

const meshObject: KubeObject = {
  apiVersion: "meshplane.dev/v1alpha1",
  kind: "MeshSnapshot",
  metadata: { name: "mesh" },
};
const meshEvent: InformerEvent = { type: "MODIFIED", object: meshObject, oldObject: meshObject };

/** Every condition meshplane wrote: `status.conditions`, and the conditions of its route parents. */
function conditionsOf(status: unknown): Condition[] {
  const s = (status ?? {}) as {
    conditions?: Condition[];
    parents?: { controllerName: string; conditions: Condition[] }[];
  };
  return [
    ...(s.conditions ?? []),
    ...(s.parents ?? []).filter((p) => p.controllerName === meshControllerName).flatMap((p) => p.conditions),
  ];
}
