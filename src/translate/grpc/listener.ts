// LDS for proxyless gRPC clients: one API listener per dialled target (gRFC A27). The listener
// carries an HttpConnectionManager that fetches its routes over RDS, runs the fault filter (inert
// unless a route configures it, gRFC A33) and ends in the router filter.
import { create } from "@bufbuild/protobuf";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpConnectionManager_CodecType,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { adsConfigSource, packAny } from "../proto.ts";
import { faultFilter } from "./fault.ts";

export function grpcClientListener(name: string, routeConfigName: string): Listener {
  const manager = create(HttpConnectionManagerSchema, {
    codecType: HttpConnectionManager_CodecType.AUTO,
    statPrefix: "outbound",
    routeSpecifier: { case: "rds", value: { configSource: adsConfigSource(), routeConfigName } },
    // grpc-js-xds requires the router to be the last and only terminal filter.
    httpFilters: [
      faultFilter(),
      {
        name: "envoy.filters.http.router",
        configType: { case: "typedConfig", value: packAny(RouterSchema, create(RouterSchema)) },
      },
    ],
  });
  return create(ListenerSchema, {
    name,
    apiListener: { apiListener: packAny(HttpConnectionManagerSchema, manager) },
  });
}
