export {
  Pipeline,
  type ConfigFeed,
  type ConfigInput,
  type PipelineOptions,
  type ServingStateFeed,
} from "./pipeline.ts";
export { servingState, type ServingState } from "./serving-state.ts";
export { TranslationFaults, translationFailedReason } from "./translation-faults.ts";
export type { DebounceOptions } from "./debounce.ts";
export type {
  GeneratedResource,
  NameList,
  Provenance,
  ProxyProfile,
  ResourceRequest,
  Translation,
} from "../translate/index.ts";
export {
  clientGroupLabel,
  clientIdentity,
  clientIssues,
  clientOfGroup,
  featureUses,
  formatClientVersion,
  type ClientIdentity,
} from "../translate/index.ts";
export type { FacetKey } from "../mesh/index.ts";
