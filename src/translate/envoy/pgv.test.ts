// The PGV validator against real Envoy descriptors: every rule kind they use is handled, and
// known-bad resources fail at the right path and rule (valid generator outputs: pgv-proxyless.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import {
  create,
  getOption,
  hasOption,
  type DescMessage,
  type Message,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { ListenerFilterChainMatchPredicateSchema } from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import {
  RouteConfigurationSchema,
  type RouteConfiguration,
} from "../../gen/envoy/config/route/v3/route_pb.js";
import {
  HeaderMatcherSchema,
  InternalRedirectPolicySchema,
  WeightedClusterSchema,
  type Route,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { rules } from "../../gen/validate/validate_pb.js";
import { adsConfigSource, typeUrlOf } from "../proto.ts";
import { inspectEnvoyMessage, pgvProblems, pgvRuleKinds, validateEnvoyMessage } from "./pgv.ts";
import { assertValidEnvoy } from "./pgv-assert.ts";
import { handledRules } from "./pgv-rules.ts";
import { envoyRegistry, generatedFiles } from "./registry.ts";

const messages = [...envoyRegistry].filter((t): t is DescMessage => t.kind === "message");

test("generated descriptors keep the PGV options (protoc-gen-es embeds custom options)", () => {
  const name = ClusterSchema.field.name;
  assert.ok(hasOption(name, rules));
  const option = getOption(name, rules);
  assert.equal(option.type.case, "string");
  assert.equal(option.type.value.minLen, 1n);
});

test("the registry holds every file generated into src/gen", () => {
  const gen = join(import.meta.dirname, "..", "..", "gen");
  const onDisk = readdirSync(gen, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith("_pb.js"))
    .map((f) => relative(gen, join(gen, f)).replace(/_pb\.js$/, ".proto"))
    .sort();
  const inRegistry = generatedFiles()
    .map((f) => f.proto.name)
    .filter((n) => !n.startsWith("google/protobuf/"));
  assert.deepEqual(inRegistry, onDisk);
  assert.ok(messages.length > 400, `only ${messages.length} message types`);
});

test("coverage: every PGV rule kind in the Envoy descriptors is handled", () => {
  const used = new Map<string, string>();
  for (const desc of messages) for (const kind of pgvRuleKinds(desc)) used.set(kind, desc.typeName);
  const handled = new Set([
    "oneof.required",
    "message.disabled",
    ...Object.entries(handledRules).flatMap(([type, names]) => names.map((n) => `${type}.${n}`)),
  ]);
  const unhandled = [...used].filter(([kind]) => !handled.has(kind)).map(([k, where]) => `${k} (${where})`);
  assert.deepEqual(unhandled, []);
  const problems = messages.flatMap((desc) =>
    pgvProblems(desc).map((p) => `${desc.typeName}.${p.field}: ${p.problems.join("; ")}`),
  );
  assert.deepEqual(problems, []);
  // Not vacuous: the kinds Envoy's route/cluster/listener protos are known to use are seen.
  for (const kind of [
    "string.min_len",
    "oneof.required",
    "message.required",
    "repeated.min_items",
    "duration.gt",
  ])
    assert.ok(used.has(kind), `${kind} not found in any descriptor`);
  assert.ok(used.size >= 30, `only ${used.size} rule kinds found`);
});

// Valid baselines; each bad case breaks one thing.
type Init<D extends DescMessage> = Exclude<MessageInitShape<D>, Message>;

const routerFilter = () => ({
  name: "envoy.filters.http.router",
  configType: { case: "typedConfig" as const, value: anyPack(RouterSchema, create(RouterSchema)) },
});

function hcm(init: Init<typeof HttpConnectionManagerSchema> = {}): HttpConnectionManager {
  return create(HttpConnectionManagerSchema, {
    statPrefix: "outbound",
    routeSpecifier: { case: "rds", value: { configSource: adsConfigSource(), routeConfigName: "r" } },
    httpFilters: [routerFilter()],
    ...init,
  });
}

function listener(manager: HttpConnectionManager = hcm()): Listener {
  return create(ListenerSchema, {
    name: "greeter:50051",
    apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, manager) },
  });
}

function routeConfiguration(): RouteConfiguration {
  const routes = ["/a", "/b", "/"].map((prefix) => ({
    match: { pathSpecifier: { case: "prefix" as const, value: prefix } },
    action: { case: "route" as const, value: { clusterSpecifier: { case: "cluster" as const, value: "c" } } },
  }));
  return create(RouteConfigurationSchema, {
    name: "r",
    virtualHosts: [{ name: "vh", domains: ["greeter", "greeter:50051"], routes }],
  });
}

function cluster(init: Init<typeof ClusterSchema> = {}): Cluster {
  return create(ClusterSchema, {
    name: "c",
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource() },
    connectTimeout: { seconds: 1n },
    ...init,
  });
}

function loadAssignment(): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, {
    clusterName: "c",
    endpoints: [
      {
        loadBalancingWeight: 1,
        lbEndpoints: [
          {
            hostIdentifier: {
              case: "endpoint",
              value: {
                address: {
                  address: {
                    case: "socketAddress",
                    value: { address: "10.0.0.1", portSpecifier: { case: "portValue", value: 8080 } },
                  },
                },
              },
            },
          },
        ],
      },
    ],
  });
}

test("the baselines are valid", () => {
  assertValidEnvoy([
    { schema: ListenerSchema, message: listener() },
    { schema: RouteConfigurationSchema, message: routeConfiguration() },
    { schema: ClusterSchema, message: cluster() },
    { schema: ClusterLoadAssignmentSchema, message: loadAssignment() },
  ]);
});

function firstRoute(config: RouteConfiguration, index = 0): Route {
  return config.virtualHosts[0]!.routes[index]!;
}

function routeAction(r: Route) {
  assert.equal(r.action.case, "route");
  return r.action.value;
}

interface BadCase {
  readonly name: string;
  readonly schema: DescMessage;
  readonly message: () => Message;
  /** Every violation expected, as "path rule". */
  readonly want: readonly string[];
}

const bad: BadCase[] = [
  {
    name: "Cluster with an empty name",
    schema: ClusterSchema,
    message: () => cluster({ name: "" }),
    want: ["name string.min_len"],
  },
  {
    name: "zero connect_timeout (gt 0)",
    schema: ClusterSchema,
    message: () => cluster({ connectTimeout: { seconds: 0n, nanos: 0 } }),
    want: ["connect_timeout duration.gt"],
  },
  {
    name: "negative connect_timeout",
    schema: ClusterSchema,
    message: () => cluster({ connectTimeout: { seconds: -2n, nanos: 0 } }),
    want: ["connect_timeout duration.gt"],
  },
  {
    name: "malformed Duration (mixed signs)",
    schema: ClusterSchema,
    message: () => cluster({ connectTimeout: { seconds: 1n, nanos: -5 } }),
    want: ["connect_timeout duration.valid"],
  },
  {
    name: "undefined discovery type (enum defined_only, inside a oneof)",
    schema: ClusterSchema,
    message: () => cluster({ clusterDiscoveryType: { case: "type", value: 42 as Cluster_DiscoveryType } }),
    want: ["type enum.defined_only"],
  },
  {
    name: "healthy panic threshold above 100% (double lte, nested)",
    schema: ClusterSchema,
    message: () => cluster({ commonLbConfig: { healthyPanicThreshold: { value: 150 } } }),
    want: ["common_lb_config.healthy_panic_threshold.value double.lte"],
  },
  {
    name: "least-request choice_count 1 (UInt32Value gte 2)",
    schema: ClusterSchema,
    message: () => cluster({ lbConfig: { case: "leastRequestLbConfig", value: { choiceCount: 1 } } }),
    want: ["least_request_lb_config.choice_count uint32.gte"],
  },
  {
    name: "metadata with an empty filter name (map keys)",
    schema: ClusterSchema,
    message: () => cluster({ metadata: { filterMetadata: { "": {} } } }),
    want: ['metadata.filter_metadata[""] map.keys.string.min_len'],
  },
  {
    name: "typed extension config without typed_config (any.required)",
    schema: ClusterSchema,
    message: () => cluster({ typedDnsResolverConfig: { name: "dns" } }),
    want: ["typed_dns_resolver_config.typed_config any.required"],
  },
  {
    name: "virtual host without domains",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      config.virtualHosts[0]!.domains = [];
      return config;
    },
    want: ["virtual_hosts[0].domains repeated.min_items"],
  },
  {
    name: "domain with a newline (items, lenient header value)",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      config.virtualHosts[0]!.domains.push("evil\nhost");
      return config;
    },
    want: ["virtual_hosts[0].domains[2] repeated.items.string.well_known_regex"],
  },
  {
    name: "header matcher name with a newline",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      firstRoute(config, 2).match!.headers.push(
        create(HeaderMatcherSchema, {
          name: "x-user\n",
          headerMatchSpecifier: { case: "presentMatch", value: true },
        }),
      );
      return config;
    },
    want: ["virtual_hosts[0].routes[2].match.headers[0].name string.well_known_regex"],
  },
  {
    name: "route without an action (oneof required)",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      firstRoute(config).action = { case: undefined };
      return config;
    },
    want: ["virtual_hosts[0].routes[0].action oneof.required"],
  },
  {
    name: "route match without a path specifier",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      firstRoute(config).match!.pathSpecifier = { case: undefined };
      return config;
    },
    want: ["virtual_hosts[0].routes[0].match.path_specifier oneof.required"],
  },
  {
    name: "path_separated_prefix ending in '/' (RE2 pattern)",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      firstRoute(config).match!.pathSpecifier = { case: "pathSeparatedPrefix", value: "/api/" };
      return config;
    },
    want: ["virtual_hosts[0].routes[0].match.path_separated_prefix string.pattern"],
  },
  {
    name: "weighted clusters with no clusters",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      routeAction(firstRoute(config, 1)).clusterSpecifier = {
        case: "weightedClusters",
        value: create(WeightedClusterSchema, { clusters: [] }),
      };
      return config;
    },
    want: ["virtual_hosts[0].routes[1].route.weighted_clusters.clusters repeated.min_items"],
  },
  {
    name: "duplicate header in response_headers_to_copy (repeated unique)",
    schema: RouteConfigurationSchema,
    message: () => {
      const config = routeConfiguration();
      routeAction(firstRoute(config)).internalRedirectPolicy = create(InternalRedirectPolicySchema, {
        responseHeadersToCopy: ["x-a", "x-b", "x-a"],
      });
      return config;
    },
    want: [
      "virtual_hosts[0].routes[0].route.internal_redirect_policy.response_headers_to_copy[2] repeated.unique",
    ],
  },
  {
    name: "HCM with an empty stat_prefix",
    schema: HttpConnectionManagerSchema,
    message: () => hcm({ statPrefix: "" }),
    want: ["stat_prefix string.min_len"],
  },
  {
    name: "HCM inside the listener's Any, empty stat_prefix and no route specifier",
    schema: ListenerSchema,
    message: () => listener(hcm({ statPrefix: "", routeSpecifier: { case: undefined } })),
    want: [
      "api_listener.api_listener.route_specifier oneof.required",
      "api_listener.api_listener.stat_prefix string.min_len",
    ],
  },
  {
    name: "Router inside HCM inside Listener: unknown strict_check_headers value (Any in Any)",
    schema: ListenerSchema,
    message: () => {
      const router = create(RouterSchema, {
        strictCheckHeaders: ["x-envoy-upstream-rq-timeout-ms", "x-bogus"],
      });
      const filter = {
        name: "router",
        configType: { case: "typedConfig" as const, value: anyPack(RouterSchema, router) },
      };
      return listener(hcm({ httpFilters: [filter] }));
    },
    want: [
      "api_listener.api_listener.http_filters[0].typed_config.strict_check_headers[1] repeated.items.string.in",
    ],
  },
  {
    name: "Any whose bytes do not decode as its type",
    schema: ListenerSchema,
    message: () =>
      create(ListenerSchema, {
        name: "l",
        apiListener: {
          apiListener: {
            typeUrl: typeUrlOf(HttpConnectionManagerSchema),
            value: new Uint8Array([0xff, 0xff]),
          } as Any,
        },
      }),
    want: ["api_listener.api_listener any.decode"],
  },
  {
    name: "endpoint port above 65535",
    schema: ClusterLoadAssignmentSchema,
    message: () => {
      const cla = loadAssignment();
      const endpoint = cla.endpoints[0]!.lbEndpoints[0]!.hostIdentifier;
      assert.equal(endpoint.case, "endpoint");
      const address = endpoint.value.address!.address;
      assert.equal(address.case, "socketAddress");
      address.value.portSpecifier = { case: "portValue", value: 70000 };
      return cla;
    },
    want: ["endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value uint32.lte"],
  },
  {
    name: "locality with weight 0 (UInt32Value gte 1) and an empty address",
    schema: ClusterLoadAssignmentSchema,
    message: () => {
      const cla = loadAssignment();
      cla.endpoints[0]!.loadBalancingWeight = 0;
      const endpoint = cla.endpoints[0]!.lbEndpoints[0]!.hostIdentifier;
      assert.equal(endpoint.case, "endpoint");
      const address = endpoint.value.address!.address;
      assert.equal(address.case, "socketAddress");
      address.value.address = "";
      return cla;
    },
    want: [
      "endpoints[0].load_balancing_weight uint32.gte",
      "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address string.min_len",
    ],
  },
  {
    name: "filter chain match predicate any_match false (bool const true)",
    schema: ListenerFilterChainMatchPredicateSchema,
    message: () =>
      create(ListenerFilterChainMatchPredicateSchema, { rule: { case: "anyMatch", value: false } }),
    want: ["any_match bool.const"],
  },
];

for (const c of bad) {
  test(`rejects: ${c.name}`, () => {
    const got = validateEnvoyMessage(c.schema, c.message()).map((v) => `${v.path} ${v.rule}`);
    assert.deepEqual(got.sort(), [...c.want].sort());
  });
}

test("violations say what was expected and what was found", () => {
  const [violation] = validateEnvoyMessage(ClusterSchema, cluster({ connectTimeout: { seconds: -2n } }));
  assert.deepEqual(violation, {
    path: "connect_timeout",
    rule: "duration.gt",
    message: "must be greater than 0s, got -2s",
  });
});

test("an Any of a type the registry does not know is a note, not a violation", () => {
  const message = create(ListenerSchema, {
    name: "l",
    apiListener: { apiListener: { typeUrl: "type.googleapis.com/acme.Unknown", value: new Uint8Array() } },
  });
  const report = inspectEnvoyMessage(ListenerSchema, message);
  assert.deepEqual(report.violations, []);
  assert.deepEqual(
    report.notes.map((n) => `${n.path} ${n.rule}`),
    ["api_listener.api_listener any.unknown_type"],
  );
  assert.throws(() => assertValidEnvoy([{ schema: ListenerSchema, message }]), /any\.unknown_type/);
});

test("assertValidEnvoy names the resource, path and rule", () => {
  assert.throws(
    () => assertValidEnvoy([{ schema: ClusterSchema, message: cluster({ name: "" }), name: "c" }]),
    /envoy\.config\.cluster\.v3\.Cluster "c" name: string\.min_len: must be at least 1 characters long, got ""/,
  );
});

test("large resources validate in linear time", () => {
  const config = routeConfiguration();
  const template = firstRoute(config);
  config.virtualHosts[0]!.routes = Array.from({ length: 20_000 }, () => template);
  const started = performance.now();
  const violations = validateEnvoyMessage(RouteConfigurationSchema, config);
  // Compare the count, not the arrays: a diff of thousands of entries is itself quadratic.
  assert.equal(violations.length, 0, JSON.stringify(violations.slice(0, 3)));
  // Generous: ~20k routes take tens of milliseconds; quadratic behaviour would take minutes.
  assert.ok(performance.now() - started < 10_000);
});
