// Authorization (AuthorizationPolicy) as RBAC HTTP filters for both data-plane flavours.
export {
  authorizationFilters,
  rbacFilterNames,
  type AuthorizationFilters,
  type AuthorizationOptions,
} from "./filters.ts";
