export {
  createAdminServer,
  type AdminAddress,
  type AdminServer,
  type AdminServerOptions,
  type ProxyConfigDump,
  type Readiness,
} from "./server.ts";
