// Which HTTP version Envoy speaks to an upstream. gRPC needs HTTP/2 end to end; Envoy defaults
// to HTTP/1.1 upstream, so clusters of HTTP/2 ports say so through HttpProtocolOptions.
import { create } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { HttpProtocolOptionsSchema } from "../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import type { PortShape } from "../../mesh/index.ts";
import { packAny } from "../proto.ts";
import { httpProtocolOptionsName } from "./names.ts";

const http2AppProtocols = new Set(["grpc", "h2", "h2c", "http2", "kubernetes.io/h2c"]);
const http2NamePrefixes = new Set(["grpc", "h2c", "http2"]);

/**
 * Whether a Service port speaks HTTP/2: by `appProtocol`, else by the Istio port-name
 * convention `<protocol>[-<suffix>]` (`grpc-web` is HTTP/1.1, so it is checked first).
 */
export function isHttp2Port(port: Pick<PortShape, "name" | "appProtocol">): boolean {
  if (port.appProtocol !== undefined) return http2AppProtocols.has(port.appProtocol.toLowerCase());
  const name = (port.name ?? "").toLowerCase();
  if (name.startsWith("grpc-web")) return false;
  return http2NamePrefixes.has(name.split("-")[0] ?? "");
}

/** `typed_extension_protocol_options` for a cluster that must speak HTTP/2 upstream. */
export function http2ProtocolOptions(): Record<string, Any> {
  const options = create(HttpProtocolOptionsSchema, {
    upstreamProtocolOptions: {
      case: "explicitHttpConfig",
      value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } },
    },
  });
  return { [httpProtocolOptionsName]: packAny(HttpProtocolOptionsSchema, options) };
}

/**
 * For clusters whose protocol is not known here (inbound, passthrough): upstream uses what the
 * downstream used, so a gRPC call from another sidecar stays HTTP/2.
 */
export function downstreamProtocolOptions(): Record<string, Any> {
  const options = create(HttpProtocolOptionsSchema, {
    upstreamProtocolOptions: {
      case: "useDownstreamProtocolConfig",
      value: { httpProtocolOptions: {}, http2ProtocolOptions: {} },
    },
  });
  return { [httpProtocolOptionsName]: packAny(HttpProtocolOptionsSchema, options) };
}
