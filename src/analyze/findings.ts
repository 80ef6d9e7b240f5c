// Every problem meshplane finds in configuration, as one finding with a stable code. The server
// reports the same problems at /debug/config_errors (ConfigError); this is their classification,
// used for offline and live analysis alike.
import type { MeshIssue } from "../mesh/index.ts";
import type { ConfigError } from "../sources/index.ts";
import { codeSpec, type Code, type Severity } from "./codes.ts";

export interface Finding {
  readonly code: Code;
  readonly severity: Severity;
  /** `Kind namespace/name`, or "" for a file as a whole. */
  readonly object: string;
  readonly field: string;
  /** The config file, when the problem came from one. */
  readonly file: string;
  readonly message: string;
  readonly fix: string;
}

/** Mesh-level problems (a missing backend, an unknown parent) are reported like config errors. */
export function issueAsConfigError(issue: MeshIssue): ConfigError {
  return {
    file: "",
    object: issue.object,
    field: issue.field,
    message: `${issue.reason}: ${issue.message}`,
    reason: issue.reason,
    ...(issue.flavour ? { flavour: issue.flavour } : {}),
  };
}

/** Gateway API condition reasons of mesh issues, by code. */
const reasonCodes: Readonly<Record<string, Code>> = {
  BackendNotFound: "MP0201",
  InvalidKind: "MP0202",
  NoMatchingParent: "MP0203",
  TargetNotFound: "MP0204",
  Conflicted: "MP0205",
  UnsupportedValue: "MP0206",
  IncompatibleFilters: "MP0208",
  TranslationFailed: "MP0209",
};

export function codeOf(error: ConfigError): Code {
  if (error.reason !== undefined) {
    if (error.flavour !== undefined) return "MP0207";
    return reasonCodes[error.reason] ?? "MP0299";
  }
  if (error.limit !== undefined) return "MP0102";
  // The texts below are written by sources/ (yaml-dir.ts, dir-sync.ts) and api/validate.ts;
  // findings.test.ts produces each from real input, so a reworded message fails there.
  if (error.message.startsWith("defined twice:")) return "MP0103";
  if (/^not (written to|deleted from) the store:/.test(error.message)) return "MP0106";
  if (error.object === "") return "MP0101";
  if (error.field === "kind" && error.message.startsWith("unsupported kind")) return "MP0104";
  return "MP0105";
}

export function finding(error: ConfigError): Finding {
  const spec = codeSpec(codeOf(error));
  return {
    code: spec.code as Code,
    severity: spec.severity,
    object: error.object,
    field: error.field,
    file: error.file,
    message: error.message,
    fix: spec.fix,
  };
}

/** Errors first, then by object, field and code, so output and tests are stable. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const rank = (f: Finding) => (f.severity === "error" ? 0 : 1);
  const key = (f: Finding) => [f.object, f.field, f.code, f.file, f.message].join("\0");
  return [...findings].sort((a, b) => rank(a) - rank(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
