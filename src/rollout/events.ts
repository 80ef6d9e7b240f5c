// Kubernetes Events for a Rollout's transitions, stored as core v1 Events (the API serves them as
// v1 and as events.k8s.io/v1, as upstream does: one object, two views), so `kubectl get events`
// and `kubectl describe rollout` show why a rollout moved, paused or rolled back. Retention is
// bounded: at most `maxPerObject` events per Rollout and none older than `ttlMs` (upstream keeps
// events for an hour by default, kube-apiserver --event-ttl).
import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "../clock/index.ts";
import { isStoreError, type KubeObject, type ResourceStore, type ResourceType } from "../store/index.ts";
import type { EventSink } from "./controller.ts";
import type { RolloutEvent } from "./progress.ts";

export const eventType: ResourceType = { group: "", resource: "events", namespaced: true };
export const reportingController = "meshplane.dev/rollout-controller";
/** Labels the events by the object they are about, so retention can list one object's events. */
export const regardingLabel = "events.meshplane.dev/regarding-uid";

export interface StoreEventSinkOptions {
  readonly store: ResourceStore;
  /** Names this replica in `reportingInstance`. */
  readonly instance: string;
  readonly clock?: Clock;
  readonly maxPerObject?: number;
  readonly ttlMs?: number;
}

export class StoreEventSink implements EventSink {
  private readonly options: StoreEventSinkOptions;
  private readonly clock: Clock;

  constructor(options: StoreEventSinkOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  async record(object: KubeObject, event: RolloutEvent): Promise<void> {
    const { store } = this.options;
    const now = new Date(this.clock.now());
    const namespace = object.metadata.namespace ?? "default";
    const uid = object.metadata.uid ?? "";
    await store.create(eventType, {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        // Upstream names events `<object>.<unique suffix>`.
        name: `${object.metadata.name}.${now.getTime().toString(16)}${randomBytes(4).toString("hex")}`,
        namespace,
        labels: uid ? { [regardingLabel]: uid } : {},
      },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace,
        uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      reason: event.reason,
      message: event.message,
      type: event.type,
      count: 1,
      firstTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z"),
      lastTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z"),
      eventTime: now.toISOString().replace("Z", "000Z"),
      source: { component: reportingController },
      reportingComponent: reportingController,
      reportingInstance: this.options.instance,
      action: event.reason,
    });
    if (uid) await this.prune(namespace, uid, now.getTime());
  }

  /** Deletes this object's events beyond the newest `maxPerObject` and those past the TTL. */
  private async prune(namespace: string, uid: string, now: number): Promise<void> {
    const { store } = this.options;
    const max = this.options.maxPerObject ?? 50;
    const ttl = this.options.ttlMs ?? 3_600_000;
    const { items } = await store.list(eventType, { namespace, labelSelector: `${regardingLabel}=${uid}` });
    const time = (e: KubeObject) => Date.parse(String(e.eventTime ?? e.lastTimestamp ?? ""));
    const newestFirst = [...items].sort((a, b) => time(b) - time(a));
    const expired = newestFirst.filter((e, i) => i >= max || now - time(e) > ttl);
    for (const e of expired) {
      try {
        await store.delete(eventType, { namespace, name: e.metadata.name ?? "" });
      } catch (error) {
        if (!isStoreError(error, "NotFound")) throw error;
      }
    }
  }
}
