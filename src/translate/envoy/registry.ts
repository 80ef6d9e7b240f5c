// Every generated Envoy/xDS type, for unpacking google.protobuf.Any wherever it appears (typed
// filter configs, transport sockets, extension configs). proto/generate.ts generates the roots
// below with all their imports, so walking the roots' imports reaches every generated file.
import { createRegistry, type DescFile, type Registry } from "@bufbuild/protobuf";
import { file_envoy_config_cluster_v3_cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { file_envoy_config_endpoint_v3_endpoint } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { file_envoy_config_listener_v3_listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { file_envoy_config_route_v3_route } from "../../gen/envoy/config/route/v3/route_pb.js";
import { file_envoy_extensions_filters_http_fault_v3_fault } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { file_envoy_extensions_filters_http_jwt_authn_v3_config } from "../../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { file_envoy_extensions_filters_http_rbac_v3_rbac } from "../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import { file_envoy_extensions_filters_http_router_v3_router } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { file_envoy_extensions_filters_listener_original_dst_v3_original_dst } from "../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { file_envoy_extensions_filters_listener_tls_inspector_v3_tls_inspector } from "../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js";
import { file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy } from "../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { file_envoy_extensions_transport_sockets_tls_v3_secret } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { file_envoy_extensions_transport_sockets_tls_v3_tls } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { file_envoy_extensions_upstreams_http_v3_http_protocol_options } from "../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { file_envoy_service_discovery_v3_ads } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import { file_envoy_service_discovery_v3_discovery } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { file_envoy_service_status_v3_csds } from "../../gen/envoy/service/status/v3/csds_pb.js";

/** The root files of proto/generate.ts (`protoFiles`); keep the two lists equal. */
const generatedRoots: readonly DescFile[] = [
  file_envoy_service_discovery_v3_ads,
  file_envoy_service_discovery_v3_discovery,
  file_envoy_config_listener_v3_listener,
  file_envoy_config_route_v3_route,
  file_envoy_config_cluster_v3_cluster,
  file_envoy_config_endpoint_v3_endpoint,
  file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager,
  file_envoy_extensions_filters_http_router_v3_router,
  file_envoy_extensions_filters_http_fault_v3_fault,
  file_envoy_extensions_filters_http_rbac_v3_rbac,
  file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy,
  file_envoy_extensions_filters_listener_original_dst_v3_original_dst,
  file_envoy_extensions_upstreams_http_v3_http_protocol_options,
  file_envoy_extensions_transport_sockets_tls_v3_tls,
  file_envoy_extensions_transport_sockets_tls_v3_secret,
  file_envoy_service_status_v3_csds,
  file_envoy_extensions_filters_listener_tls_inspector_v3_tls_inspector,
  file_envoy_extensions_filters_http_jwt_authn_v3_config,
];

/** The roots and everything they import, each file once, sorted by proto file name. */
export function generatedFiles(): DescFile[] {
  const files = new Map<string, DescFile>();
  const pending = [...generatedRoots];
  for (let file = pending.pop(); file; file = pending.pop()) {
    if (files.has(file.proto.name)) continue;
    files.set(file.proto.name, file);
    pending.push(...file.dependencies);
  }
  return [...files.values()].sort((a, b) => (a.proto.name < b.proto.name ? -1 : 1));
}

/** Messages, enums and extensions of every generated file, google.protobuf well-known types included. */
export const envoyRegistry: Registry = createRegistry(...generatedFiles());
