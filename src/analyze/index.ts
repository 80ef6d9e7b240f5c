export { codeSpec, codeSpecs, type Code, type CodeSpec, type Severity } from "./codes.ts";
export { codeOf, finding, issueAsConfigError, sortFindings, type Finding } from "./findings.ts";
export {
  analyzeDirectory,
  analyzeFiles,
  withMeshIssues,
  type OfflineConfig,
  type OfflineOptions,
} from "./offline.ts";
export { applyChanges, diffResources, type ResourceDifference, type SubscribedProxy } from "./diff.ts";
export { unifiedDiff } from "./text-diff.ts";
