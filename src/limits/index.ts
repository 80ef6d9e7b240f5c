export {
  DecodeError,
  decodeJson,
  decodeUtf8,
  decodeYaml,
  decodeYamlDocuments,
  type Decoded,
  type DecodedDocument,
  type ObjectLimits,
} from "./decode.ts";
export { excerpt, excerptChars } from "./excerpt.ts";
export { checkObjectLimits, jsonSize } from "./measure.ts";
export { isLoopbackAddress, loopbackGuard, type LoopbackGuard, type RequestOrigin } from "./loopback.ts";
export {
  LimitExceededError,
  defaultLimits,
  formatLimit,
  isLimitName,
  limitNames,
  limitSpecs,
  limitsFrom,
  parseLimitSetting,
  type LimitName,
  type LimitSpec,
  type LimitUnit,
  type Limits,
} from "./limits.ts";
