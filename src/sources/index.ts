export type { ConfigError, ConfigSource, ConfigState } from "./config-source.ts";
export { assembleFiles, ConfigDirSource, type ConfigDirSourceOptions } from "./yaml-dir.ts";
export { parseConfigFile, type FileResult } from "./config-file.ts";
export { StoreConfigSource } from "./store-source.ts";
export {
  ConfigDirSync,
  fieldManager,
  managedByLabel,
  managedByValue,
  type ObjectWriter,
  type SyncResult,
} from "./dir-sync.ts";
export { storeWriter } from "./store-writer.ts";
