export {
  createAdminServer,
  type AdminAddress,
  type AdminServer,
  type AdminServerOptions,
  type ProxyConfigDump,
  type Readiness,
} from "./server.ts";
export { DashboardFeed, type DashboardFeedOptions } from "./dashboard-feed.ts";
export { createDashboardServer, type DashboardServer } from "./dashboard-server.ts";
export { loadDashboardAssets, DashboardNotBuiltError } from "./dashboard-assets.ts";
export type { ObjectReachCount } from "./dashboard-entries.ts";
