// The property that makes recorded dependencies safe: after every edit, the resources the cache
// maintains incrementally (keeping what read nothing that changed) equal a generation from scratch,
// byte for byte, for every proxy flavour, profile and request shape, wildcard lists included; and
// every request whose resources changed was reported as invalidated (the push index visits only
// those). Test support only.
import { toJson } from "@bufbuild/protobuf";
import { defaultLimits } from "../../limits/index.ts";
import { createMetrics, silentLogger } from "../../telemetry/index.ts";
import { blackholeCluster, clusterName, packedTypesRegistry, serviceHost } from "../../translate/index.ts";
import {
  ResourceCache,
  type ConfigSnapshot,
  type Invalidation,
  type ResolvedResources,
} from "../../xds/cache.ts";
import { TypeUrl } from "../../xds/resource-types.ts";
import { Pipeline } from "../pipeline.ts";
import type { ServingState } from "../serving-state.ts";
import type { ProxyProfile, ResourceRequest } from "../index.ts";
import { clusterIPs, random, RandomConfig, serviceNames, servicePorts } from "./random-config.ts";

const domain = "cluster.local";

export interface PropertyOptions {
  readonly seed: number;
  readonly steps: number;
  /** What the cache is given instead of each published state (a test plants a dropped dependency). */
  readonly tamper?: (state: ServingState) => ConfigSnapshot;
  /** What the cache's report of a change becomes (a test plants an unreported name). */
  readonly tamperReport?: (invalidation: Invalidation) => Invalidation;
}

export interface PropertyFailure {
  readonly seed: number;
  readonly step: number;
  readonly edits: readonly string[];
  /** Resources differed from scratch, or changed without being reported to their subscribers. */
  readonly kind: "differs" | "unreported";
  readonly mismatch: string;
}

const profiles: readonly ProxyProfile[] = [
  { flavour: "grpc", namespace: "default", instanceIps: [] },
  { flavour: "grpc", namespace: "team", instanceIps: [] },
  { flavour: "envoy", namespace: "default", instanceIps: ["10.0.0.1"] },
  { flavour: "envoy", namespace: "team", instanceIps: ["10.0.0.3", "10.0.0.2"] },
  { flavour: "envoy", namespace: "default", instanceIps: [] },
];

const hosts = serviceNames.map((s) => {
  const [namespace = "", name = ""] = s.split("/");
  return { namespace, name };
});
const clusters = [
  ...hosts.flatMap((h) => [...servicePorts, 82].map((p) => clusterName(h.namespace, h.name, p, domain))),
  clusterName("default", "gone", 80, domain),
  blackholeCluster,
  "inbound|8080||",
  "inbound|8081||",
  "PassthroughCluster",
];
const routeNames = hosts.flatMap((h) =>
  servicePorts.flatMap((p) => {
    const base = `${serviceHost(h.namespace, h.name, domain)}:${p}`;
    return [base, `${base}|consumer=default`, `${base}|consumer=team`];
  }),
);
const listenerNames = [
  ...hosts.flatMap((h) => [
    `${h.name}:80`,
    `${h.name}.${h.namespace}:81`,
    `${serviceHost(h.namespace, h.name, domain)}:80`,
  ]),
  "a",
  ...clusterIPs.map((ip) => `${ip}:80`),
  "gone:80",
  "virtualInbound",
  "virtualOutbound",
  "0.0.0.0_80",
  "0.0.0.0_81",
];

/** Every request each profile makes, named and wildcard, for every type. */
const requests: readonly [TypeUrl, ResourceRequest][] = [
  [TypeUrl.Listener, { wildcard: true, names: [] }],
  [TypeUrl.Listener, { wildcard: false, names: listenerNames }],
  [TypeUrl.RouteConfiguration, { wildcard: false, names: [...routeNames, "80", "81", "82", "15006"] }],
  [TypeUrl.RouteConfiguration, { wildcard: true, names: [] }],
  [TypeUrl.Cluster, { wildcard: true, names: [] }],
  [TypeUrl.Cluster, { wildcard: false, names: clusters }],
  [TypeUrl.ClusterLoadAssignment, { wildcard: true, names: [] }],
  [TypeUrl.ClusterLoadAssignment, { wildcard: false, names: clusters }],
];

/** Runs `steps` random edits; the first mismatch between incremental and from-scratch, if any. */
export function checkIncremental(options: PropertyOptions): PropertyFailure | undefined {
  const config = new RandomConfig(random(options.seed));
  const pipeline = new Pipeline({ domain, logger: silentLogger() });
  const incremental = cache();
  const edits: string[] = [];
  /** The version each request resolved to after the previous step. */
  const versions = new Map<string, string>();
  for (let step = 1; step <= options.steps; step++) {
    edits.push(config.edit());
    const input = { resources: config.resources, generation: step };
    // An edit that changes nothing served or reported publishes nothing: the current state stands.
    const state = (pipeline.publish(input) ?? pipeline.current) as ServingState;
    const report = incremental.setSnapshot(options.tamper ? options.tamper(state) : state);
    const invalidation = options.tamperReport ? options.tamperReport(report) : report;
    // Attached proxies keep their profile groups' memos across changes, as connected ones do.
    if (step === 1) for (const profile of profiles) incremental.attach(profile);
    const fresh = new Pipeline({ domain, logger: silentLogger() }).publish(input) as ServingState;
    const scratch = cache();
    scratch.setSnapshot(fresh);
    const mismatch = compare(incremental, scratch, { versions, invalidation, state });
    if (mismatch) return { seed: options.seed, step, edits, ...mismatch };
  }
  return undefined;
}

/** Whether a subscriber making `request` would be visited after `invalidation` (push-index.ts). */
function reported(
  invalidation: Invalidation,
  state: ConfigSnapshot,
  profile: ProxyProfile,
  typeUrl: TypeUrl,
  request: ResourceRequest,
): boolean {
  if (invalidation.everything) return true;
  if (request.wildcard) {
    return invalidation.wildcardGroups.get(typeUrl)?.has(state.profileGroup(typeUrl, profile)) ?? false;
  }
  const names = invalidation.names.get(typeUrl);
  return invalidation.everyNamed.has(typeUrl) || request.names.some((name) => names?.has(name));
}

function cache(): ResourceCache {
  const metrics = createMetrics({ defaultMetrics: false });
  return new ResourceCache({ metrics, unknownNames: defaultLimits["xds.unknownNames"] });
}

function compare(
  incremental: ResourceCache,
  scratch: ResourceCache,
  step: { versions: Map<string, string>; invalidation: Invalidation; state: ConfigSnapshot },
): Pick<PropertyFailure, "kind" | "mismatch"> | undefined {
  for (const profile of profiles) {
    for (const [typeUrl, request] of requests) {
      const key = request.wildcard ? "*" : request.names.join(",");
      const got = incremental.resolve(profile, typeUrl, request, key);
      const want = scratch.resolve(profile, typeUrl, request, key);
      const what = `${profile.flavour} proxy in ${profile.namespace} (ips ${profile.instanceIps.join(",") || "none"}), ${typeUrl.split(".").at(-1)} ${request.wildcard ? "wildcard" : "by name"}`;
      if (got.version !== want.version)
        return { kind: "differs", mismatch: `${what}:\n${difference(got, want)}` };
      const seen = `${JSON.stringify(profile)} ${typeUrl} ${key}`;
      const before = step.versions.get(seen);
      step.versions.set(seen, got.version);
      if (before === undefined || before === got.version) continue;
      if (!reported(step.invalidation, step.state, profile, typeUrl, request)) {
        return {
          kind: "unreported",
          mismatch: `${what}: its resources changed (set ${before} -> ${got.version}), but the change reported none of its names`,
        };
      }
    }
  }
  return undefined;
}

const registry = packedTypesRegistry();

function difference(got: ResolvedResources, want: ResolvedResources): string {
  const json = (r: ResolvedResources["resources"][number] | undefined) =>
    r ? JSON.stringify(toJson(r.source.schema, r.source.message, { registry })) : "(absent)";
  const names = [...new Set([...got.resources, ...want.resources].map((r) => r.name))].sort();
  return names
    .flatMap((name) => {
      const mine = got.resources.find((r) => r.name === name);
      const theirs = want.resources.find((r) => r.name === name);
      if (mine?.hash === theirs?.hash) return [];
      return [`  ${name}\n    incremental:  ${json(mine)}\n    from scratch: ${json(theirs)}`];
    })
    .join("\n");
}

/** The failure as a report: seed, step, the edits that led there, and what differed. */
export function describeFailure(failure: PropertyFailure): string {
  const recent = failure.edits.slice(-8);
  const what =
    failure.kind === "differs"
      ? "incremental resources differ from a generation from scratch"
      : "resources changed without the change reporting them to their subscribers";
  return [
    `${what} after step ${failure.step} (seed ${failure.seed})`,
    `replay: npm run test:property -- --seed ${failure.seed} --steps ${failure.step}`,
    `last edits (${recent.length} of ${failure.edits.length}):`,
    ...recent.map((edit, i) => `  ${failure.edits.length - recent.length + i + 1}. ${edit}`),
    failure.mismatch,
  ].join("\n");
}
