// The one table of input limits. Every path by which outside input enters meshplane (API bodies,
// patches, the config directory, xDS requests) checks these at its edge, before the input costs
// memory or CPU in proportion to its size. Each limit has a default, can be changed with
// `meshplane serve --limit NAME=VALUE`, and a refusal names the limit so the operator knows which
// one to raise. The README's limits table is this table.

export type LimitUnit = "bytes" | "count";

export interface LimitSpec {
  readonly default: number;
  readonly unit: LimitUnit;
  /** What the limit bounds, for `--help`, errors and the README. */
  readonly description: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Defaults follow the Kubernetes API server where it has an equivalent (3 MiB request body,
 * 1.5 MiB stored object, 10,000 JSON patch operations) and leave headroom over what the largest
 * meshes we measure (10,000 proxies, 1,000 services in bench/) need.
 */
export const limitSpecs = {
  "api.bodyBytes": {
    default: 3 * MiB,
    unit: "bytes",
    description: "size of an API request body as received (upstream's 3 MiB)",
  },
  "object.bytes": {
    default: 1.5 * MiB,
    unit: "bytes",
    description:
      "size of one object as JSON once decoded (YAML aliases expanded) or patched, from the API or the config directory (etcd's 1.5 MiB request limit)",
  },
  "object.nestingDepth": {
    default: 100,
    unit: "count",
    description: "nesting depth of maps and lists in one object",
  },
  "object.nodes": {
    default: 200_000,
    unit: "count",
    description: "values (scalars, maps, lists) in one decoded object, aliases expanded",
  },
  "object.stringLength": {
    default: 256 * 1024,
    unit: "count",
    description: "characters in one string or key of an object (upstream's total annotation size)",
  },
  "api.patchOperations": {
    default: 10_000,
    unit: "count",
    description: "operations in one JSON patch (upstream's limit)",
  },
  "dir.fileBytes": {
    default: 16 * MiB,
    unit: "bytes",
    description: "size of one file in the config directory, checked before it is read",
  },
  "dir.files": {
    default: 10_000,
    unit: "count",
    description: "YAML files in the config directory",
  },
  "dir.objects": {
    default: 100_000,
    unit: "count",
    description: "objects in the config directory, all files together",
  },
  "xds.namesPerRequest": {
    default: 100_000,
    unit: "count",
    description:
      "resource names in one xDS request (subscribe plus unsubscribe), and names one delta stream subscribes to per type",
  },
  "xds.nameBytes": {
    default: 4 * KiB,
    unit: "bytes",
    description: "length of one xDS resource name",
  },
  "xds.nodeIdBytes": {
    default: 4 * KiB,
    unit: "bytes",
    description: "length of a proxy's node.id (and cluster)",
  },
  "xds.nodeMetadataBytes": {
    default: 64 * KiB,
    unit: "bytes",
    description: "size of a proxy's node metadata, encoded",
  },
  "xds.streamsPerConnection": {
    default: 16,
    unit: "count",
    description: "concurrent gRPC streams on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)",
  },
  "xds.streamsPerPeer": {
    default: 20_000,
    unit: "count",
    description: "open ADS streams from one remote IP address",
  },
  "xds.streams": {
    default: 50_000,
    unit: "count",
    description: "open ADS streams in total",
  },
  "xds.unknownNames": {
    default: 10_000,
    unit: "count",
    description:
      "names of resources that do not exist remembered per type and proxy group (least recently used first out)",
  },
  "ca.requestBytes": {
    default: 64 * KiB,
    unit: "bytes",
    description:
      "size of a certificate signing request body at the CA's endpoint (a P-256 CSR is under 1 KiB)",
  },
  "dashboard.clients": {
    default: 100,
    unit: "count",
    description: "open live feeds of the web dashboard (server-sent events), all pages together",
  },
  "csds.nodeMatchers": {
    default: 64,
    unit: "count",
    description: "node matchers in one CSDS request (ClientStatusRequest.node_matchers)",
  },
  "csds.responseBytes": {
    default: 16 * MiB,
    unit: "bytes",
    description: "size of one CSDS response, encoded (narrow the request with node_matchers)",
  },
} as const satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof limitSpecs;

export type Limits = Readonly<Record<LimitName, number>>;

export const limitNames = Object.keys(limitSpecs) as LimitName[];

export const defaultLimits: Limits = Object.fromEntries(
  limitNames.map((name) => [name, limitSpecs[name].default]),
) as Limits;

export function isLimitName(name: string): name is LimitName {
  return Object.hasOwn(limitSpecs, name);
}

const byteSuffixes: Record<string, number> = { "": 1, B: 1, KiB, MiB, GiB: 1024 * MiB };

/**
 * Parses `NAME=VALUE` as given to `--limit`: a count is a whole number, a size a whole number
 * with an optional binary suffix (KiB, MiB, GiB). Throws an Error that says what to write.
 */
export function parseLimitSetting(setting: string): { readonly name: LimitName; readonly value: number } {
  const at = setting.indexOf("=");
  const name = at < 0 ? setting : setting.slice(0, at);
  if (!isLimitName(name)) {
    throw new Error(`unknown limit "${name}": expected NAME=VALUE with NAME one of ${limitNames.join(", ")}`);
  }
  const text = at < 0 ? "" : setting.slice(at + 1).trim();
  const spec = limitSpecs[name];
  const match = /^(\d+)\s*([A-Za-z]*)$/.exec(text);
  const multiplier =
    match && spec.unit === "bytes" ? byteSuffixes[match[2] ?? ""] : match?.[2] ? undefined : 1;
  const value = match && multiplier !== undefined ? Number(match[1]) * multiplier : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    const form =
      spec.unit === "bytes" ? "a positive size such as 4MiB, 512KiB or 1048576" : "a positive whole number";
    throw new Error(`limit ${name}: expected ${form}, got "${text}"`);
  }
  return { name, value };
}

/** The defaults with `settings` (each `NAME=VALUE`) applied; the last setting of a name wins. */
export function limitsFrom(settings: readonly string[]): Limits {
  const limits: Record<string, number> = { ...defaultLimits };
  for (const setting of settings) {
    const { name, value } = parseLimitSetting(setting);
    limits[name] = value;
  }
  return limits as Limits;
}

/** A human form of a limit's value: `3 MiB`, `100000`. */
export function formatLimit(name: LimitName, value: number): string {
  if (limitSpecs[name].unit === "count") return String(value);
  for (const [suffix, size] of [
    ["GiB", 1024 * MiB],
    ["MiB", MiB],
    ["KiB", KiB],
  ] as const) {
    if (value >= size && value % (size / 4) === 0) return `${value / size} ${suffix}`;
  }
  return `${value} bytes`;
}

/**
 * An input refused because it exceeds a limit. `message` names the limit, what was found (when
 * known; some checks stop counting at the limit), and how to raise it.
 */
export class LimitExceededError extends Error {
  readonly limit: LimitName;
  readonly max: number;

  constructor(limit: LimitName, max: number, what: string, found?: number) {
    const seen = found === undefined ? "" : ` (found ${formatLimit(limit, found)})`;
    super(
      `${what} exceeds limit ${limit} of ${formatLimit(limit, max)}${seen}; ` +
        `an operator can raise it with \`meshplane serve --limit ${limit}=VALUE\``,
    );
    this.name = "LimitExceededError";
    this.limit = limit;
    this.max = max;
  }
}
