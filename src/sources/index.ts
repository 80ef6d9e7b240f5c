export type { ConfigError, ConfigSource, ConfigState } from "./config-source.ts";
export { ConfigDirSource, type ConfigDirSourceOptions } from "./yaml-dir.ts";
export { StoreConfigSource } from "./store-source.ts";
export { ConfigDirSync, managedByLabel, managedByValue, type SyncResult } from "./dir-sync.ts";
