// Every replica publishes what its proxies run (a ReplicaReport in the store) so the leader can
// write `Programmed` for proxies connected anywhere. Written when the counts change (checked every
// `intervalMs`) and at least every `heartbeatMs`, which is how the leader tells live replicas
// from dead ones; deleted on a clean stop.
import type { ServingState, ServingStateFeed } from "../pipeline/index.ts";
import { isStoreError, type ResourceStore } from "../store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import type { NackReport, ResourceReach, ServedResource } from "../xds/index.ts";
import { objectReach } from "./reach.ts";
import {
  maxClientGroups,
  replicaReportObject,
  replicaReportType,
  type ObjectReach,
} from "./replica-report.ts";

export interface ReplicaReporterOptions {
  readonly store: ResourceStore;
  readonly replica: string;
  readonly logger: Logger;
  /** The configuration this replica serves. */
  readonly serving: ServingStateFeed;
  readonly xds: {
    readonly streamCount: number;
    clientGroups(): readonly string[];
    ackedCount(typeUrl: string, name: string): ResourceReach;
    rejections(): NackReport;
    served(): Iterable<ServedResource>;
  };
  /** This replica's admin address once it listens, published in the report. */
  readonly adminAddress?: () => string | undefined;
  readonly intervalMs?: number;
  readonly heartbeatMs?: number;
  readonly now?: () => number;
}

export class ReplicaReporter {
  private readonly options: ReplicaReporterOptions;
  private timer: NodeJS.Timeout | undefined;
  private lastObjects = "";
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();
  private serving: ServingState | undefined;

  constructor(options: ReplicaReporterOptions) {
    this.options = options;
    this.serving = options.serving.current;
    options.serving.subscribe((state) => {
      this.serving = state;
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
    void this.tick();
  }

  /** Stops reporting and removes the report, so the leader stops counting this replica at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    try {
      await this.options.store.delete(replicaReportType, { name: this.options.replica });
    } catch (error) {
      if (!isStoreError(error, "NotFound")) {
        this.options.logger.warn({ err: error }, "replica report not removed; it expires");
      }
    }
  }

  /** One round: compute, and write when changed or due. Never overlaps the previous write. */
  tick(): Promise<void> {
    this.writing = this.writing.then(() => this.report());
    return this.writing;
  }

  private async report(): Promise<void> {
    const serving = this.serving;
    if (!serving) return;
    const { xds } = this.options;
    const objects: ObjectReach[] = objectReach(
      serving.resources,
      xds.served(),
      (typeUrl, name) => xds.ackedCount(typeUrl, name),
      xds.rejections(),
    );
    const now = (this.options.now ?? Date.now)();
    const adminAddress = this.options.adminAddress?.();
    const clients = xds.clientGroups().slice(0, maxClientGroups);
    const text = JSON.stringify([adminAddress, clients, objects]);
    if (text === this.lastObjects && now - this.lastWrite < (this.options.heartbeatMs ?? 5000)) return;
    const object = replicaReportObject({
      replica: this.options.replica,
      renewTime: new Date(now).toISOString(),
      proxies: xds.streamCount,
      ...(adminAddress ? { adminAddress } : {}),
      clients,
      objects,
    });
    const type = replicaReportType;
    try {
      await this.options.store.update(type, object).catch(async (error: unknown) => {
        if (!isStoreError(error, "NotFound")) throw error;
        await this.options.store.create(type, object);
      });
      this.lastObjects = text;
      this.lastWrite = now;
    } catch (error) {
      // The store is unavailable (e.g. no etcd quorum): keep serving, report again next round.
      this.options.logger.warn({ err: error }, "replica report not written");
    }
  }
}
