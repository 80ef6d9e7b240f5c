// `--store`: where meshplane keeps its resources.
//   memory                      in-process, gone on exit (tests, demos)
//   sqlite://PATH               embedded, durable (the default: <data-dir>/meshplane.db)
//   etcd://HOST:PORT[,HOST:PORT] an etcd cluster, for several replicas
import { dirname, isAbsolute, resolve } from "node:path";
import { createMemoryStore, openEtcdStore, openSqliteStore, type ResourceStore } from "../store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import { ensurePrivateDir } from "./private-files.ts";

export type StoreLocation =
  | { readonly kind: "memory" }
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "etcd"; readonly hosts: readonly string[] };

export function parseStoreUrl(value: string, dataDir: string): StoreLocation {
  if (value === "memory") return { kind: "memory" };
  if (value.startsWith("sqlite://")) {
    const path = value.slice("sqlite://".length);
    if (!path) throw new Error(`--store ${value}: give a file, e.g. sqlite://${dataDir}/meshplane.db`);
    return { kind: "sqlite", path: isAbsolute(path) ? path : resolve(path) };
  }
  if (value.startsWith("etcd://")) {
    const hosts = value.slice("etcd://".length).split(",").filter(Boolean);
    const bad = hosts.find((h) => !/^[^\s:/]+:\d{1,5}$/.test(h));
    if (hosts.length === 0 || bad !== undefined) {
      throw new Error(
        `--store ${value}: expected etcd://HOST:PORT[,HOST:PORT...]${bad ? `; "${bad}" is not HOST:PORT` : ""}`,
      );
    }
    return { kind: "etcd", hosts };
  }
  throw new Error(`--store ${value}: expected memory, sqlite://PATH or etcd://HOST:PORT[,HOST:PORT...]`);
}

export function defaultStoreUrl(dataDir: string): string {
  return `sqlite://${resolve(dataDir, "meshplane.db")}`;
}

export async function openStore(location: StoreLocation, logger: Logger): Promise<ResourceStore> {
  switch (location.kind) {
    case "memory":
      return createMemoryStore();
    case "sqlite":
      ensurePrivateDir(dirname(location.path));
      return openSqliteStore({ path: location.path });
    case "etcd":
      return openEtcdStore({
        hosts: location.hosts.map((h) => `http://${h}`),
        logger: logger.child({ component: "etcd" }),
      });
  }
}
