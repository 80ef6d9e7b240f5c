export { excerpt, excerptChars } from "./excerpt.ts";
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
