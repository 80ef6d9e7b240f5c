export type { ConfigError, ConfigSource, ConfigState } from "./config-source.ts";
export { ConfigDirSource, type ConfigDirSourceOptions } from "./yaml-dir.ts";
