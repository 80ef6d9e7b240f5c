// The dashboard's view as keyed entries, built from one published serving state and the xDS
// server's proxy state. Pure. Its size is bounded whatever the mesh's: proxies are counted per
// namespace, client and state, and only the worst few hundred are listed one by one; NACKs list
// the first objects and the first rejections of each; Rollouts list the most troubled few hundred
// with their latest analysis rounds (dashboard-rollouts.ts). Services and objects are listed whole
// (a thousand Services is a few hundred KiB once, then only what changed; see dashboard-feed.ts).
import { objectRef } from "../api/index.ts";
import type { ServingState } from "../pipeline/index.ts";
import type { KubeObject } from "../store/index.ts";
import { typeShortName, typeSyncState, type NackReport, type ProxyStatus } from "../xds/index.ts";
import type {
  DashboardEntry,
  IssueView,
  NackEntry,
  ProxyEntry,
  ProxyGroupEntry,
  ProxyTypeView,
  RejectionView,
  ServiceEntry,
  SyncState,
} from "./dashboard-view.ts";
import { rolloutEntries } from "./dashboard-rollouts.ts";

/** How much of each list one view carries. */
export interface EntryBounds {
  readonly proxies: number;
  readonly nackObjects: number;
  readonly rejectionsPerObject: number;
  readonly rollouts: number;
  readonly roundsPerRollout: number;
}

export const defaultEntryBounds: EntryBounds = {
  proxies: 200,
  nackObjects: 100,
  rejectionsPerObject: 20,
  rollouts: 200,
  roundsPerRollout: 5,
};

/** "Reached N of M" per object, as status computes it (status/reach.ts), passed in by the caller. */
export interface ObjectReachCount {
  /** `Kind namespace/name` */
  readonly object: string;
  readonly reached: number;
  readonly total: number;
}

export interface EntryInputs {
  readonly state: ServingState;
  readonly proxies: readonly ProxyStatus[];
  readonly nacks: NackReport;
  readonly reach: readonly ObjectReachCount[];
  /** The Rollout objects as the store holds them, status included. */
  readonly rollouts: readonly KubeObject[];
}

/** Entries that depend only on the serving state (cached per version by the feed). */
export function serviceEntries(state: ServingState): Map<string, DashboardEntry> {
  const entries = new Map<string, DashboardEntry>();
  for (const service of state.mesh.services.values()) {
    const routes = service.ports.flatMap((port) =>
      (state.mesh.attachments.get(`${service.namespace}/${service.name}:${port.port}`) ?? []).map(
        (attachment) => ({
          object: objectRef(attachment.route.kind, attachment.route),
          port: attachment.port,
          rules: attachment.route.rules.map((rule) => ({
            index: rule.index,
            ...(rule.name === undefined ? {} : { name: rule.name }),
            backends: rule.backends.map((b) => ({
              namespace: b.namespace,
              name: b.name,
              port: b.port,
              weight: b.weight,
              ...(b.invalid === undefined ? {} : { invalid: b.invalid }),
            })),
          })),
        }),
      ),
    );
    const entry: ServiceEntry = {
      kind: "service",
      namespace: service.namespace,
      name: service.name,
      ports: service.ports.map((port) => ({
        port: port.port,
        ready: port.endpoints.filter((e) => e.ready).length,
        endpoints: port.endpoints.length,
      })),
      routes,
    };
    entries.set(`service:${service.namespace}/${service.name}`, entry);
  }
  return entries;
}

/** Every entry: the serving state's (given, cached) and the proxies', NACKs' and objects'. */
export function dashboardEntries(
  inputs: EntryInputs,
  services: ReadonlyMap<string, DashboardEntry>,
  bounds: EntryBounds = defaultEntryBounds,
): Map<string, DashboardEntry> {
  const { state } = inputs;
  const entries = new Map(services);
  const nacks = nackEntries(inputs.nacks, bounds);
  const nacking = new Map(inputs.nacks.objects.map((o) => [o.object, o.proxies]));
  const reach = new Map(inputs.reach.map((r) => [r.object, r]));
  const issues = new Map<string, IssueView[]>();
  for (const issue of state.issues) {
    const list = issues.get(issue.object) ?? [];
    list.push({
      field: issue.field,
      reason: issue.reason,
      message: issue.message,
      ...(issue.flavour === undefined ? {} : { flavour: issue.flavour }),
    });
    issues.set(issue.object, list);
  }
  for (const resource of state.resources) {
    const object = objectRef(resource.kind, {
      name: resource.metadata.name,
      namespace: resource.metadata.namespace ?? "default",
    });
    const counted = reach.get(object);
    entries.set(`object:${object}`, {
      kind: "object",
      object,
      generation: resource.metadata.generation ?? 1,
      issues: issues.get(object) ?? [],
      ...(counted ? { reach: { reached: counted.reached, total: counted.total } } : {}),
      nackingProxies: nacking.get(object) ?? 0,
    });
  }
  const proxies = proxyEntries(inputs.proxies, bounds);
  const rollouts = rolloutEntries(inputs.rollouts, bounds);
  for (const [key, entry] of [...proxies.groups, ...proxies.listed, ...nacks.entries, ...rollouts.entries])
    entries.set(key, entry);
  entries.set("meta", {
    kind: "meta",
    version: state.version,
    services: state.mesh.services.size,
    objects: state.resources.length,
    proxies: inputs.proxies.length,
    proxiesListed: proxies.listed.length,
    nackedObjects: nacks.total,
    nackedObjectsListed: nacks.entries.length,
    rollouts: rollouts.total,
    rolloutsListed: rollouts.entries.length,
  });
  return entries;
}

const severity: Record<SyncState, number> = { NACKED: 0, STALE: 1, "NOT SENT": 2, SYNCED: 3 };

function worst(states: Iterable<SyncState>): SyncState {
  let found: SyncState = "SYNCED";
  for (const state of states) if (severity[state] < severity[found]) found = state;
  return found;
}

function shortType(typeUrl: string): string {
  return typeShortName[typeUrl as keyof typeof typeShortName] ?? typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}

function proxyEntries(
  proxies: readonly ProxyStatus[],
  bounds: EntryBounds,
): { groups: [string, ProxyGroupEntry][]; listed: [string, ProxyEntry][] } {
  const groups = new Map<string, { namespace: string; client: string; counts: Record<SyncState, number> }>();
  const all: ProxyEntry[] = [];
  for (const proxy of proxies) {
    // The CLI's states (meshplane proxy-status), from the xDS server's own definition.
    const types: ProxyTypeView[] = proxy.types.map((sync) => ({
      type: shortType(sync.typeUrl),
      state: typeSyncState(sync, proxy.rejections).state,
      ackedVersion: sync.ackedVersion,
      sentVersion: sync.sentVersion,
    }));
    const state = worst(types.map((t) => t.state));
    // The client group meshplane recognised (grpc-js/1.14), else the user agent as sent.
    const client = proxy.client?.group ?? (proxy.userAgent || "unknown");
    const key = `${proxy.namespace}\0${client}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        namespace: proxy.namespace,
        client,
        counts: { NACKED: 0, STALE: 0, "NOT SENT": 0, SYNCED: 0 },
      };
      groups.set(key, group);
    }
    group.counts[state] += 1;
    all.push({
      kind: "proxy",
      nodeId: proxy.nodeId,
      streamId: proxy.streamId,
      namespace: proxy.namespace,
      client,
      protocol: proxy.protocol,
      state,
      types,
    });
  }
  all.sort(
    (a, b) =>
      severity[a.state] - severity[b.state] ||
      (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.streamId - b.streamId),
  );
  return {
    groups: [...groups.values()].map((g): [string, ProxyGroupEntry] => [
      `proxyGroup:${g.namespace}/${g.client}`,
      { kind: "proxyGroup", namespace: g.namespace, client: g.client, counts: g.counts },
    ]),
    listed: all.slice(0, bounds.proxies).map((p): [string, ProxyEntry] => [`proxy:${p.streamId}`, p]),
  };
}

function nackEntries(
  report: NackReport,
  bounds: EntryBounds,
): { entries: [string, NackEntry][]; total: number } {
  const rejection = (r: NackReport["unattributed"][number]): RejectionView => ({
    nodeId: r.nodeId,
    type: r.type,
    resource: r.resource,
    error: r.error,
    since: r.since,
    count: r.count,
  });
  const objects = [...report.objects];
  if (report.unattributed.length > 0) {
    objects.push({
      object: "(unattributed)",
      proxies: new Set(report.unattributed.map((r) => r.streamId)).size,
      rejections: report.unattributed,
    });
  }
  // The objects that hurt the most proxies first.
  objects.sort((a, b) => b.proxies - a.proxies || (a.object < b.object ? -1 : 1));
  return {
    total: objects.length,
    entries: objects.slice(0, bounds.nackObjects).map((o): [string, NackEntry] => [
      `nack:${o.object}`,
      {
        kind: "nack",
        object: o.object,
        proxies: o.proxies,
        rejections: o.rejections.slice(0, bounds.rejectionsPerObject).map(rejection),
        rejectionCount: o.rejections.length,
      },
    ]),
  };
}
