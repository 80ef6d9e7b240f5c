// The flow from validated configuration to what is served: each configuration state becomes a
// mesh, the mesh is cut into facets, and the facets that differ from the previous version's are
// the change set (in the keys generators record). Each result is published as one immutable
// ServingState to every subscriber (the xDS server, status, admin).
import { objectRef, type Resource } from "../api/index.ts";
import { buildMeshSnapshot, MeshFacets, type MeshIssue } from "../mesh/index.ts";
import type { Logger, Tracing } from "../telemetry/index.ts";
import { Debouncer, type DebounceOptions } from "./debounce.ts";
import { servingState, type ServingState } from "./serving-state.ts";
import { TranslationFaults } from "./translation-faults.ts";

/** Validated configuration, as a source delivers it (sources/ StoreConfigSource, ConfigDirSource). */
export interface ConfigInput {
  readonly resources: readonly Resource[];
  /** Increases with every change of `resources`. */
  readonly generation: number;
}

export interface ConfigFeed {
  current(): ConfigInput;
  onChange(listener: () => void): void;
}

/** What subscribers of published state see. */
export interface ServingStateFeed {
  /** The newest published state; undefined until the first publish. */
  readonly current: ServingState | undefined;
  /** Calls `listener` with every newly published state. */
  subscribe(listener: (state: ServingState) => void): void;
  /** Calls `listener` when the current state's issues grow (a translator fault while serving). */
  onIssues(listener: () => void): void;
}

export interface PipelineOptions {
  /** Cluster domain used in service host names, e.g. cluster.local. */
  readonly domain: string;
  /** SPIFFE trust domain of workload identities: the CA's (`serve --trust-domain`); cluster.local. */
  readonly trustDomain?: string | undefined;
  readonly logger: Logger;
  /** Starts a span per publish, linked to the writes it serves; off when undefined. */
  readonly tracing?: Tracing | undefined;
}

export class Pipeline implements ServingStateFeed {
  private state: { readonly serving: ServingState; readonly facets: MeshFacets } | undefined;
  private publishedGeneration = -1;
  private readonly listeners: ((state: ServingState) => void)[] = [];
  private readonly faults: TranslationFaults;
  private readonly options: PipelineOptions;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.faults = new TranslationFaults(options.logger.child({ component: "translate" }));
  }

  get current(): ServingState | undefined {
    return this.state?.serving;
  }

  subscribe(listener: (state: ServingState) => void): void {
    this.listeners.push(listener);
  }

  onIssues(listener: () => void): void {
    this.faults.onFault(listener);
  }

  /**
   * Publishes `feed`'s state now and after each burst of changes (debounced); returns a function
   * that stops it.
   */
  follow(feed: ConfigFeed, debounce: DebounceOptions): () => void {
    const debouncer = new Debouncer(debounce, () => this.publish(feed.current()));
    feed.onChange(() => debouncer.trigger());
    this.publish(feed.current());
    return () => debouncer.cancel();
  }

  /**
   * Builds and publishes the serving state for `config`. Skipped (undefined): a generation already
   * published, or a configuration that changes nothing generators read or status reports.
   */
  publish(config: ConfigInput): ServingState | undefined {
    if (config.generation === this.publishedGeneration) return undefined;
    this.publishedGeneration = config.generation;
    const { tracing } = this.options;
    const writes = tracing?.served(() => objectVersions(config.resources)) ?? [];
    const generation = { "meshplane.config.generation": config.generation };
    const change = tracing?.publish(writes, generation);
    const mesh = buildMeshSnapshot(config.resources, {
      domain: this.options.domain,
      trustDomain: this.options.trustDomain,
    });
    const facets = new MeshFacets(mesh);
    const previous = this.state;
    const changes = previous ? facets.changedSince(previous.facets) : undefined;
    // The same configuration again (an informer relist): nothing to serve, nothing for status.
    if (previous && changes?.size === 0 && sameStatusInputs(previous.serving, config, mesh.issues)) {
      // Reported only when a write led here (the write changed nothing served); a span never
      // ended is never exported.
      if (writes.length > 0) change?.published({ "meshplane.unchanged": true });
      return undefined;
    }
    this.faults.forget(changes);
    const serving = servingState({
      version: (previous?.serving.version ?? 0) + 1,
      resources: config.resources,
      mesh,
      facets,
      changes,
      faults: this.faults,
      trace: change,
    });
    this.state = { serving, facets };
    logIssueChanges(this.options.logger, previous?.serving.mesh.issues ?? [], mesh.issues);
    for (const listener of this.listeners) listener(serving);
    change?.published({ "meshplane.version": serving.version, "meshplane.changed": changes?.size ?? -1 });
    this.options.logger.info(
      { version: serving.version, services: mesh.services.size, changed: changes?.size ?? "all" },
      "config snapshot published",
    );
    return serving;
  }
}

/** Each object's resourceVersion, by `Kind namespace/name`: what a publish is built from. */
function objectVersions(resources: readonly Resource[]): ReadonlyMap<string, string | undefined> {
  return new Map(resources.map((r) => [objectRef(r.kind, r.metadata), r.metadata.resourceVersion]));
}

/** Whether status would report the same: the same issues, and every object at the same generation. */
function sameStatusInputs(
  previous: ServingState,
  config: ConfigInput,
  issues: readonly MeshIssue[],
): boolean {
  const key = (i: MeshIssue) => `${i.object}\0${i.field}\0${i.reason}\0${i.message}`;
  const generations = (resources: readonly Resource[]) =>
    JSON.stringify(
      resources
        .map(
          (r) => `${r.kind} ${r.metadata.namespace ?? ""}/${r.metadata.name} ${r.metadata.generation ?? 1}`,
        )
        .sort(),
    );
  return (
    JSON.stringify(previous.mesh.issues.map(key)) === JSON.stringify(issues.map(key)) &&
    generations(previous.resources) === generations(config.resources)
  );
}

function logIssueChanges(logger: Logger, before: readonly MeshIssue[], after: readonly MeshIssue[]): void {
  const key = (i: MeshIssue) => `${i.object}\0${i.field}\0${i.reason}\0${i.message}`;
  const known = new Set(before.map(key));
  for (const issue of after) {
    if (!known.has(key(issue))) logger.warn({ ...issue }, "config object not fully applied");
  }
}
