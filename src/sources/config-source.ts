// The contract between configuration sources and the xDS pipeline.
import type { Resource } from "../api/index.ts";
import type { LimitName } from "../limits/index.ts";

/** One rejected file or object, precise enough to fix without guessing. */
export interface ConfigError {
  /** Path of the file, relative to the config directory. */
  readonly file: string;
  /** `Kind namespace/name`, or "" when the file as a whole could not be read or parsed. */
  readonly object: string;
  /** Field path in Kubernetes notation (spec.rules[0].backendRefs[0].weight), or "". */
  readonly field: string;
  readonly message: string;
  /** The input limit the file or object was refused by, when that is why. */
  readonly limit?: LimitName;
  /** A mesh issue's Gateway API condition reason (BackendNotFound, ...), when the mesh found it. */
  readonly reason?: string;
  /** Set when only one data-plane flavour is affected (a mesh issue about proxyless gRPC). */
  readonly flavour?: "grpc" | "envoy";
}

/** What a source currently holds: every object in force, and every error against it. */
export interface ConfigState {
  readonly resources: readonly Resource[];
  readonly errors: readonly ConfigError[];
  /** Increases on every applied change; lets consumers skip work when nothing changed. */
  readonly generation: number;
}

export interface ConfigSource {
  /** Loads once and starts watching; resolves after the first load (even with errors). */
  start(): Promise<ConfigState>;
  current(): ConfigState;
  /** Called after each reload that changed the resources or the errors. */
  onChange(listener: (state: ConfigState) => void): void;
  stop(): Promise<void>;
}
