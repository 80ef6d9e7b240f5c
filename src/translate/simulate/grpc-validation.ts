// What a proxyless gRPC client rejects (NACKs). Validation is per resource (gRFC A46): a rejected
// resource is as good as missing for the client, the rest still apply. Rules follow gRFC A27/A28
// and grpc-js-xds 1.14 (xds-resource-type/*.ts, http-filter.ts); where releases differ, the
// client's own (client-verdicts.ts).
import { isIP } from "node:net";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { Cluster_DiscoveryType, Cluster_LbPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { RetryPolicy } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { FilterConfigSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import type { HttpConnectionManager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { ClientIdentity } from "../clients/index.ts";
import { typeUrlOf } from "../proto.ts";
import { headerMatcherKinds, headerMatcherRejection } from "./client-verdicts.ts";
import { durationToMs, faultTypeUrl, filterConfigTypeUrl } from "./fault.ts";

const routerTypeUrl = typeUrlOf(RouterSchema);
/** HTTP filters a gRPC client implements (RBAC is server-only). */
const clientFilters = new Set([routerTypeUrl, faultTypeUrl]);
const supportedPaths = new Set(["prefix", "path", "safeRegex"]);
const uint32Max = 0xffff_ffff;

export function listenerProblems(manager: HttpConnectionManager): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  manager.httpFilters.forEach((filter, i) => {
    if (names.has(filter.name)) problems.push(`duplicate HTTP filter name ${filter.name}`);
    names.add(filter.name);
    const typeUrl = filter.configType.case === "typedConfig" ? filter.configType.value.typeUrl : undefined;
    const last = i === manager.httpFilters.length - 1;
    if (typeUrl === undefined) problems.push(`HTTP filter ${filter.name} has no typed_config`);
    else if (!clientFilters.has(typeUrl) && !filter.isOptional) {
      problems.push(
        `HTTP filter ${filter.name} (${typeUrl}) is not supported by gRPC clients and not optional`,
      );
    }
    if (typeUrl === faultTypeUrl && filter.configType.case === "typedConfig") {
      const problem = faultProblem(filter.name, filter.configType.value, `HTTP filter ${filter.name}`);
      if (problem) problems.push(problem);
    }
    if (typeUrl === routerTypeUrl && !last) problems.push("the router filter is not the last HTTP filter");
    if (last && typeUrl !== routerTypeUrl) problems.push("the last HTTP filter is not the router");
  });
  if (manager.httpFilters.length === 0) problems.push("no HTTP filters: the router filter is required");
  const specifier = manager.routeSpecifier;
  if (specifier.case === "rds") {
    const source = specifier.value.configSource?.configSourceSpecifier.case;
    if (source !== "ads" && source !== "self") problems.push("rds.config_source is neither ads nor self");
  } else if (specifier.case !== "routeConfig") {
    problems.push(`route specifier ${specifier.case ?? "(unset)"} is not supported`);
  }
  return problems;
}

function overrideProblem(name: string, config: Any, where: string): string | undefined {
  let inner = config;
  let optional = false;
  if (config.typeUrl === filterConfigTypeUrl) {
    const wrapper = anyUnpack(config, FilterConfigSchema);
    if (!wrapper?.config) return `${where}: typed_per_filter_config ${name} is an empty FilterConfig`;
    inner = wrapper.config;
    optional = wrapper.isOptional;
  }
  if (inner.typeUrl === faultTypeUrl) return faultProblem(name, inner, where);
  if (inner.typeUrl === routerTypeUrl || optional) return undefined;
  return `${where}: typed_per_filter_config ${name} has unsupported type ${inner.typeUrl}`;
}

/** grpc-js-xds rejects a fault delay or abort without a percentage (fault-injection-filter.ts). */
function faultProblem(name: string, config: Any, where: string): string | undefined {
  const fault = anyUnpack(config, HTTPFaultSchema);
  if (fault?.delay && !fault.delay.percentage)
    return `${where}: fault ${name} has a delay without a percentage`;
  if (fault?.abort && !fault.abort.percentage)
    return `${where}: fault ${name} has an abort without a percentage`;
  return undefined;
}

function overridesProblems(configs: { readonly [name: string]: Any }, where: string): string[] {
  return Object.entries(configs).flatMap(([name, config]) => overrideProblem(name, config, where) ?? []);
}

function retryProblems(policy: RetryPolicy | undefined, where: string): string[] {
  if (!policy) return [];
  const problems: string[] = [];
  if ((policy.numRetries ?? 1) < 1) problems.push(`${where}: retry_policy.num_retries is 0`);
  const backoff = policy.retryBackOff;
  if (backoff) {
    const base = durationToMs(backoff.baseInterval);
    if (base === undefined) problems.push(`${where}: retry_back_off.base_interval is unset`);
    else if (base <= 0) problems.push(`${where}: retry_back_off.base_interval is not positive`);
    const max = durationToMs(backoff.maxInterval);
    if (base !== undefined && max !== undefined && max < base) {
      problems.push(`${where}: retry_back_off.max_interval is below base_interval`);
    }
  }
  return problems;
}

export function routeConfigurationProblems(
  config: RouteConfiguration,
  client: ClientIdentity | undefined,
): string[] {
  const problems: string[] = [];
  const headerMatchers = headerMatcherKinds(client);
  for (const vhost of config.virtualHosts) {
    const where = `virtual host ${vhost.name}`;
    for (const domain of vhost.domains) {
      const star = domain.indexOf("*");
      if (star !== domain.lastIndexOf("*"))
        problems.push(`${where}: domain ${domain} has more than one wildcard`);
      else if (star > 0 && star < domain.length - 1)
        problems.push(`${where}: domain ${domain} has a wildcard in the middle`);
    }
    problems.push(
      ...overridesProblems(vhost.typedPerFilterConfig, where),
      ...retryProblems(vhost.retryPolicy, where),
    );
    vhost.routes.forEach((route, index) => {
      const at = `${where} route ${route.name || `#${index}`}`;
      const match = route.match;
      if (!match) problems.push(`${at}: no match`);
      else {
        const path = match.pathSpecifier.case;
        if (path === undefined) problems.push(`${at}: no path matcher`);
        else if (!supportedPaths.has(path)) problems.push(`${at}: path matcher ${path} is not supported`);
        for (const header of match.headers) {
          const kind = header.headerMatchSpecifier.case;
          if (kind !== undefined && !headerMatchers.has(kind)) {
            problems.push(
              `${at}: header matcher ${kind} (${header.name}) ${headerMatcherRejection(client, kind)}`,
            );
          }
        }
      }
      if (route.action.case === "nonForwardingAction") return;
      if (route.action.case !== "route") {
        problems.push(`${at}: action ${route.action.case ?? "(unset)"} is not supported (only route)`);
        return;
      }
      const action = route.action.value;
      const specifier = action.clusterSpecifier;
      if (
        specifier.case !== "cluster" &&
        specifier.case !== "weightedClusters" &&
        specifier.case !== "clusterHeader"
      ) {
        problems.push(`${at}: cluster specifier ${specifier.case ?? "(unset)"} is not supported`);
      }
      problems.push(
        ...overridesProblems(route.typedPerFilterConfig, at),
        ...retryProblems(action.retryPolicy, at),
      );
      if (specifier.case === "weightedClusters") {
        const sum = specifier.value.clusters.reduce((total, c) => total + (c.weight ?? 0), 0);
        if (sum === 0) problems.push(`${at}: the weights of weighted_clusters add up to 0`);
        if (sum > uint32Max)
          problems.push(`${at}: the weights of weighted_clusters add up to more than 2^32-1`);
        for (const c of specifier.value.clusters) {
          problems.push(...overridesProblems(c.typedPerFilterConfig, `${at} weighted cluster ${c.name}`));
        }
      }
    });
  }
  return problems;
}

export function clusterProblems(cluster: Cluster): string[] {
  const problems: string[] = [];
  const discovery = cluster.clusterDiscoveryType;
  if (discovery.case === "type") {
    if (discovery.value === Cluster_DiscoveryType.EDS) {
      const source = cluster.edsClusterConfig?.edsConfig?.configSourceSpecifier.case;
      if (source !== "ads" && source !== "self")
        problems.push("EDS cluster whose eds_config is neither ads nor self");
    } else if (discovery.value !== Cluster_DiscoveryType.LOGICAL_DNS) {
      problems.push(
        `cluster type ${Cluster_DiscoveryType[discovery.value]} is not supported (EDS, LOGICAL_DNS or aggregate)`,
      );
    }
  } else if (discovery.case === "clusterType" && discovery.value.name !== "envoy.clusters.aggregate") {
    problems.push(`custom cluster type ${discovery.value.name} is not supported`);
  }
  if (
    !cluster.loadBalancingPolicy &&
    cluster.lbPolicy !== Cluster_LbPolicy.ROUND_ROBIN &&
    cluster.lbPolicy !== Cluster_LbPolicy.RING_HASH
  ) {
    problems.push(
      `lb_policy ${Cluster_LbPolicy[cluster.lbPolicy]} is not supported (ROUND_ROBIN or RING_HASH)`,
    );
  }
  return problems;
}

export function loadAssignmentProblems(assignment: ClusterLoadAssignment): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const priorities = new Set<number>();
  for (const locality of assignment.endpoints) {
    priorities.add(locality.priority);
    if (!locality.locality) problems.push("a locality entry without locality");
    for (const lb of locality.lbEndpoints) {
      const address =
        lb.hostIdentifier.case === "endpoint" ? lb.hostIdentifier.value.address?.address : undefined;
      if (address?.case !== "socketAddress") {
        problems.push("an endpoint without a socket address");
        continue;
      }
      const { address: ip, portSpecifier } = address.value;
      if (isIP(ip) === 0) problems.push(`endpoint address ${ip} is not an IP address`);
      if (portSpecifier.case !== "portValue") problems.push(`endpoint ${ip} has no port_value`);
      const key = `${ip}:${portSpecifier.value ?? ""}`;
      if (seen.has(key)) problems.push(`endpoint ${key} is listed twice`);
      seen.add(key);
    }
  }
  for (const priority of priorities) {
    if (priority > 0 && !priorities.has(priority - 1))
      problems.push(`priority ${priority} without priority ${priority - 1}`);
  }
  return problems;
}
