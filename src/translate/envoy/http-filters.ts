// The HTTP filter lists of sidecar connection managers. Inbound, in Istio's order: end-user
// authentication (jwt_authn) first, so authorization can match what it verified, then
// authorization, then the router, which must be last.
import { create } from "@bufbuild/protobuf";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpFilterSchema,
  type HttpFilter,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { PortSecurity } from "../../mesh/security-model.ts";
import { authorizationFilters } from "../authz/index.ts";
import { packAny } from "../proto.ts";
import { jwtAuthnFilter } from "./jwt.ts";
import { routerFilterName } from "./names.ts";

/** The filters of a served port's inbound connection manager, for the port's security. */
export function inboundHttpFilters(security: PortSecurity, trustDomain: string): HttpFilter[] {
  const authentication = jwtAuthnFilter(security.jwtRules);
  const authorization = authorizationFilters(security, { flavour: "envoy", trustDomain }).filters;
  return [...(authentication ? [authentication] : []), ...authorization, routerFilter()];
}

export function routerFilter(): HttpFilter {
  return create(HttpFilterSchema, {
    name: routerFilterName,
    configType: { case: "typedConfig", value: packAny(RouterSchema, create(RouterSchema)) },
  });
}
