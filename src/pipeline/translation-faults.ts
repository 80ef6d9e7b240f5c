// Translator faults (a bug in meshplane, or input no check caught) found while serving: the
// resource is left out and the objects it read are told, through the same issues as mesh
// problems. A fault stands until one of the facets the resource read changes; the resource is then
// generated again (the cache drops it on the same condition) and, if it fails again, reported again.
import type { FacetKey, MeshIssue } from "../mesh/index.ts";
import type { Provenance } from "../translate/index.ts";
import type { Logger } from "../telemetry/index.ts";

export const translationFailedReason = "TranslationFailed";

interface Fault {
  readonly issues: readonly MeshIssue[];
  readonly reads: ReadonlySet<FacetKey>;
}

export class TranslationFaults {
  private readonly faults = new Map<string, Fault>();
  private readonly listeners: (() => void)[] = [];
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Calls `listener` whenever a fault is recorded (issues changed after a publish). */
  onFault(listener: () => void): void {
    this.listeners.push(listener);
  }

  record(typeUrl: string, group: string, name: string, failure: Error, provenance: Provenance): void {
    const type = typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
    const message = `${type} ${name} could not be generated (${failure.message}) and is left out; this is a meshplane bug, please report it`;
    const issues = provenance.objects.map((object): MeshIssue => ({
      object,
      field: "",
      reason: translationFailedReason,
      message,
    }));
    this.logger.error({ err: failure, type, name, group, objects: provenance.objects }, "translation failed");
    this.faults.set(`${typeUrl}\t${group}\t${name}`, { issues, reads: provenance.reads });
    for (const listener of this.listeners) listener();
  }

  /** Drops the faults whose inputs changed (all, when `changes` is undefined). */
  forget(changes: ReadonlySet<FacetKey> | undefined): void {
    for (const [key, fault] of this.faults) {
      if (!changes || [...fault.reads].some((read) => changes.has(read))) this.faults.delete(key);
    }
  }

  issues(): MeshIssue[] {
    const seen = new Set<string>();
    return [...this.faults.values()]
      .flatMap((fault) => fault.issues)
      .filter((issue) => {
        const key = `${issue.object}\0${issue.message}`;
        return seen.has(key) ? false : (seen.add(key), true);
      });
  }
}
