// What the dashboard's feed carries: the view as keyed entries, so that an update is the entries
// that changed (a delta) and a new or lagging page gets them all (a snapshot). Types only, shared
// with the front end (dashboard/), which imports them with `import type`.
// A new view is one more entry kind and one more panel; nothing else in the feed changes (Rollouts
// were added that way).

/** Per proxy, the worst state over its xDS types, in the CLI's vocabulary (`meshplane proxy-status`). */
export type SyncState = "NACKED" | "STALE" | "NOT SENT" | "SYNCED";

/** Totals, and how much of each list the feed carries (lists are bounded; see dashboard-entries.ts). */
export interface MetaEntry {
  readonly kind: "meta";
  /** The serving state's version: what the xDS server serves. */
  readonly version: number;
  readonly services: number;
  readonly objects: number;
  readonly proxies: number;
  /** Proxies listed one by one (the worst states first); the rest are only counted in groups. */
  readonly proxiesListed: number;
  readonly nackedObjects: number;
  readonly nackedObjectsListed: number;
  readonly rollouts: number;
  /** Rollouts listed (the most troubled first); the rest are only counted. */
  readonly rolloutsListed: number;
}

export interface BackendView {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  readonly weight: number;
  /** Why the backend gets no traffic (its share fails), as the mesh reports it. */
  readonly invalid?: string;
}

export interface RouteRuleView {
  readonly index: number;
  readonly name?: string;
  readonly backends: readonly BackendView[];
}

export interface RouteView {
  /** `GRPCRoute namespace/name` */
  readonly object: string;
  readonly port: number;
  readonly rules: readonly RouteRuleView[];
}

/** One Service: its ports' endpoints and the routes attached to it (GAMMA parentRefs). */
export interface ServiceEntry {
  readonly kind: "service";
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly { readonly port: number; readonly ready: number; readonly endpoints: number }[];
  readonly routes: readonly RouteView[];
}

export interface IssueView {
  readonly field: string;
  readonly reason: string;
  readonly message: string;
  readonly flavour?: string;
}

/** One configuration object: its issues and, for the kinds status reports on, where it is programmed. */
export interface ObjectEntry {
  readonly kind: "object";
  /** `Kind namespace/name` */
  readonly object: string;
  readonly generation: number;
  readonly issues: readonly IssueView[];
  /** This replica's proxies that run what the object feeds (ACKed), of those meant to. */
  readonly reach?: { readonly reached: number; readonly total: number };
  /** Proxies that rejected something built from the object. */
  readonly nackingProxies: number;
}

/** Proxies of one namespace and client implementation, counted by state. */
export interface ProxyGroupEntry {
  readonly kind: "proxyGroup";
  readonly namespace: string;
  /** The client group (`grpc-js/1.14`), or the user agent when meshplane does not know the client. */
  readonly client: string;
  readonly counts: Readonly<Record<SyncState, number>>;
}

export interface ProxyTypeView {
  /** lds, rds, cds, eds, ... */
  readonly type: string;
  readonly state: SyncState;
  readonly ackedVersion: string | null;
  readonly sentVersion: string | null;
}

export interface ProxyEntry {
  readonly kind: "proxy";
  readonly nodeId: string;
  readonly streamId: number;
  readonly namespace: string;
  readonly client: string;
  readonly protocol: string;
  readonly state: SyncState;
  readonly types: readonly ProxyTypeView[];
}

export interface RejectionView {
  readonly nodeId: string;
  readonly type: string;
  readonly resource: string;
  /** The proxy's error about the resource (an escaped excerpt, as the xDS server keeps it). */
  readonly error: string;
  readonly since: string;
  readonly count: number;
}

/** Rejections blamed on one configuration object (`(unattributed)` for resources built from none). */
export interface NackEntry {
  readonly kind: "nack";
  readonly object: string;
  readonly proxies: number;
  /** The first rejections (bounded); `rejectionCount` says how many there are. */
  readonly rejections: readonly RejectionView[];
  readonly rejectionCount: number;
}

export interface MeasurementView {
  readonly metric: string;
  /** Successful, Failed or Inconclusive, as the rollout controller judged the value. */
  readonly result: string;
  readonly value?: number;
  readonly message?: string;
}

export interface AnalysisRoundView {
  /** The step whose analysis ran the round. */
  readonly step: number;
  readonly at: string;
  readonly result: string;
  readonly measurements: readonly MeasurementView[];
}

export interface ConditionView {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** One Rollout as its controller last wrote its status (src/rollout/status.ts). */
export interface RolloutEntry {
  readonly kind: "rollout";
  /** `Rollout namespace/name` */
  readonly object: string;
  /** `GRPCRoute namespace/name rule 0` */
  readonly route: string;
  readonly stable: string;
  readonly canary: string;
  readonly steps: number;
  /** Undefined until the controller writes a status (or when it is not one it wrote). */
  readonly status?: {
    readonly phase: string;
    readonly message: string;
    /** Index of the step being run; `steps` once every step ran. */
    readonly currentStep: number;
    readonly canaryWeight: number;
    readonly pauseReason?: string;
    /** The latest analysis rounds, newest last (bounded); `roundCount` says how many status holds. */
    readonly rounds: readonly AnalysisRoundView[];
    readonly roundCount: number;
    readonly conditions: readonly ConditionView[];
  };
}

export type DashboardEntry =
  MetaEntry | ServiceEntry | ObjectEntry | ProxyGroupEntry | ProxyEntry | NackEntry | RolloutEntry;

/** `event: snapshot`: every entry, by key. */
export interface SnapshotMessage {
  readonly entries: Readonly<Record<string, DashboardEntry>>;
}

/** `event: delta`: entries added or changed since the previous message, and keys removed. */
export interface DeltaMessage {
  readonly set: Readonly<Record<string, DashboardEntry>>;
  readonly remove: readonly string[];
}
