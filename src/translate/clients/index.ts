// Which xDS client a proxy runs, what each client release accepts, and the encodings that follow.
export { clientEncoding, currentEncoding, encodingKey, type ClientEncoding } from "./encoding.ts";
export {
  featureSupport,
  clientName,
  featureVerdict,
  implementationName,
  type ClientFeature,
  type FeatureVerdict,
} from "./features.ts";
export {
  clientGroupLabel,
  clientIdentity,
  clientOfGroup,
  clientSpecNames,
  ClientSpecError,
  compareVersions,
  formatVersion,
  maxClientFeatures,
  parseClientSpec,
  parseVersion,
  type ClientIdentity,
  type ClientImplementation,
  type ClientVersion,
} from "./identity.ts";
export { clientIssues, featureUses, type FeatureUse } from "./predict.ts";
