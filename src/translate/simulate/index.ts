// Traffic simulation over generated xDS: which listener, virtual host, route and clusters a
// request hits, and why.
export { simulateRequest } from "./simulate.ts";
export { authorizationText, backendAuthorizationText, explainText, routeLabel } from "./explain.ts";
export {
  simulateAuthorization,
  type AuthorizationReport,
  type AuthorizationRequest,
} from "./authorization.ts";
export {
  authorizeBackends,
  type BackendAuthorization,
  type Caller,
  type GenerateFor,
} from "./authorize-backends.ts";
export { collectResources, type GenerateResources } from "./resources.ts";
export { routeOrigin } from "./routes.ts";
export type * from "./types.ts";
