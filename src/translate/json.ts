// The types translators pack into Any, so resources can be printed as proto JSON (config dump).
import { createRegistry, type Registry } from "@bufbuild/protobuf";
import { file_envoy_extensions_filters_http_router_v3_router } from "../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { file_envoy_extensions_filters_http_fault_v3_fault } from "../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { file_envoy_extensions_transport_sockets_tls_v3_tls } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";

export function packedTypesRegistry(): Registry {
  return createRegistry(
    file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager,
    file_envoy_extensions_filters_http_router_v3_router,
    file_envoy_extensions_filters_http_fault_v3_fault,
    file_envoy_extensions_transport_sockets_tls_v3_tls,
  );
}
