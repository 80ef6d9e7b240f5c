// What each replica tells the leader about its proxies. Every replica serves xDS, but only the
// leader writes status, so each replica publishes, per config object in its serving snapshot, the
// generation it serves and how many of its proxies run it; the leader sums the live reports.
import type { KubeObject, ResourceType } from "../store/index.ts";
import type { ProgrammedSummary, ProxyRejection } from "./route-status.ts";

export const replicaReportType: ResourceType = {
  group: "meshplane.dev",
  resource: "replicareports",
  namespaced: false,
};

/** One config object as one replica serves it. */
export interface ObjectReach {
  /** `Kind namespace/name` */
  readonly object: string;
  /** metadata.generation of the object in the replica's serving snapshot. */
  readonly generation: number;
  /** This replica's proxies that use the object and run its current resources. */
  readonly reached: number;
  /** This replica's proxies that use the object. */
  readonly total: number;
  readonly rejections: readonly ProxyRejection[];
}

export interface ReplicaReport {
  readonly replica: string;
  /** ISO time of the last write: reports older than the liveness window are ignored. */
  readonly renewTime: string;
  readonly proxies: number;
  /**
   * Where this replica's admin server listens (HOST:PORT as bound), so a client of one replica
   * can find every replica's proxies: each replica knows only its own streams.
   */
  readonly adminAddress?: string;
  /**
   * The client groups of this replica's proxies ("grpc-python/1.51"), at most `maxClientGroups`:
   * what the leader predicts client verdicts for. Absent in reports of older replicas.
   */
  readonly clients?: readonly string[];
  readonly objects: readonly ObjectReach[];
}

/** Client groups a report carries; a mesh has a handful, and a report must stay small. */
export const maxClientGroups = 64;

export function replicaReportObject(report: ReplicaReport, resourceVersion?: string): KubeObject {
  return {
    apiVersion: "meshplane.dev/v1alpha1",
    kind: "ReplicaReport",
    metadata: { name: report.replica, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: { ...report },
  };
}

export function readReplicaReport(object: KubeObject): ReplicaReport | undefined {
  const spec = object.spec as Partial<ReplicaReport> | undefined;
  if (!spec || typeof spec.replica !== "string" || !Array.isArray(spec.objects)) return undefined;
  return spec as ReplicaReport;
}

/** Reports of replicas that renewed within `livenessMs` of `now`. */
export function liveReports(
  reports: Iterable<ReplicaReport>,
  now: number,
  livenessMs: number,
): ReplicaReport[] {
  return [...reports].filter((r) => now - Date.parse(r.renewTime) <= livenessMs);
}

/**
 * The reach of config objects across live replicas, indexed once per batch of status updates.
 * A replica serving another generation counts its proxies as not reached, and as behind; a live
 * replica that does not list the object has not loaded it yet.
 */
export class ReportIndex {
  private readonly replicas: readonly ReadonlyMap<string, ObjectReach>[];

  /** The client groups connected to any live replica, each once, sorted. */
  readonly clients: readonly string[];

  constructor(reports: readonly ReplicaReport[]) {
    this.replicas = reports.map((r) => new Map(r.objects.map((o) => [o.object, o])));
    const clients = reports.flatMap((r) =>
      Array.isArray(r.clients)
        ? r.clients.slice(0, maxClientGroups).filter((c) => typeof c === "string")
        : [],
    );
    this.clients = [...new Set(clients)].sort();
  }

  /** Undefined when no replica is live. */
  summary(object: string, generation: number): ProgrammedSummary | undefined {
    if (this.replicas.length === 0) return undefined;
    let reached = 0;
    let total = 0;
    let replicasBehind = 0;
    const rejections: ProxyRejection[] = [];
    for (const objects of this.replicas) {
      const entry = objects.get(object);
      total += entry?.total ?? 0;
      if (!entry || entry.generation !== generation) {
        replicasBehind++;
        continue;
      }
      reached += entry.reached;
      rejections.push(...entry.rejections);
    }
    return { reached, total, rejections, replicasBehind };
  }
}

/** A live replica as clients see it: where to ask for its proxies. */
export interface ReplicaEntry {
  readonly replica: string;
  readonly renewTime: string;
  readonly proxies: number;
  readonly adminAddress: string | undefined;
}

/** The replicas that reported within `livenessMs`, by name, from the reports in the store. */
export async function liveReplicas(
  store: { list(type: ResourceType): Promise<{ readonly items: readonly KubeObject[] }> },
  now: number,
  livenessMs: number,
): Promise<ReplicaEntry[]> {
  const reports = (await store.list(replicaReportType)).items.flatMap((o) => readReplicaReport(o) ?? []);
  return liveReports(reports, now, livenessMs)
    .map((r) => ({
      replica: r.replica,
      renewTime: r.renewTime,
      proxies: r.proxies,
      adminAddress: r.adminAddress,
    }))
    .sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
}
