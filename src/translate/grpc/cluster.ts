// CDS for proxyless gRPC: EDS clusters fetched over ADS, round robin (gRFC A27).
import { create } from "@bufbuild/protobuf";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { adsConfigSource, durationMs } from "../proto.ts";

export function edsCluster(name: string): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: name },
    connectTimeout: durationMs(5000),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  });
}
