export type * from "./types.ts";
export { systemClock } from "./types.ts";
export {
  StoreError,
  StoreUnavailableError,
  isStoreError,
  qualifiedResource,
  optimisticLockMessage,
  type StoreErrorCode,
  type UnavailableReason,
  type StoreErrorDetails,
  type FieldCause,
} from "./errors.ts";
export {
  parseLabelSelector,
  matchesLabels,
  parseFieldSelector,
  parseFieldTerms,
  formatFieldTerm,
  matchesFields,
  compileFilter,
  type LabelRequirement,
  type LabelOperator,
  type FieldRequirement,
  type FieldTerm,
  type ObjectFilter,
} from "./selectors.ts";
export { createMemoryStore, type MemoryStoreOptions } from "./memory.ts";
export { openSqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
export { openEtcdStore, type EtcdStoreOptions } from "./etcd.ts";
export { serverManagedMetadata } from "./objects.ts";
