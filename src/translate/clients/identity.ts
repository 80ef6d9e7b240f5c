// Which xDS client a proxy is, from what its ADS `Node` says. Every gRPC implementation names
// itself in `user_agent_name` and its release in `user_agent_version`:
//   grpc-js-xds  "gRPC Node Pure JS"                  "1.14.1" (the grpc-js-xds package)
//   C-core       "gRPC C-core <platform>[ <Language>]" "C-core <core>[ <Language> <release>]"
//                (src/core/ext/xds/xds_client_grpc.cc). <core> is grpc_version_string(), the
//                core library's own number (29.0.0 in gRPC 1.51), not the gRPC release; the
//                release comes only with the language suffix, which wrappers build in with
//                GRPC_XDS_USER_AGENT_{NAME,VERSION}_SUFFIX. Debian's python3-grpcio 1.51.1 says
//                "gRPC C-core linux Python" / "C-core 29.0.0 Python 1.51.1"; C++ has no suffix,
//                so its release is unknown (and it gets the encodings every release accepts).
//   grpc-go      "gRPC Go"                            grpc.Version, "1.60.1"
//   grpc-java    "gRPC Java"                          "1.60.0"
//   Envoy        "envoy"                              user_agent_build_version (structured)
// The text is the proxy's to choose: it is matched, never trusted further, and what is kept of it
// is bounded.
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";

export type ClientImplementation = "grpc-js" | "grpc-core" | "grpc-go" | "grpc-java" | "envoy";

export interface ClientVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** What a proxy runs, as far as its node says. */
export interface ClientIdentity {
  readonly implementation: ClientImplementation;
  /** For C-core: the wrapping language ("Python", "Ruby", "PHP", …) when the build names it. */
  readonly language?: string;
  /** Undefined when the node gives none that reads as a release number. */
  readonly version: ClientVersion | undefined;
  /** `client_features` (at most `maxClientFeatures` of them, each at most `maxFeatureChars` long). */
  readonly features: readonly string[];
}

/** Clients send two or three features; anything beyond this many is not kept. */
export const maxClientFeatures = 16;
const maxFeatureChars = 80;
const maxLanguageChars = 16;

/** The client a node describes, or undefined when its user agent names no implementation we know. */
export function clientIdentity(node: Node | undefined): ClientIdentity | undefined {
  if (!node) return undefined;
  const name = node.userAgentName;
  const versionType = node.userAgentVersionType;
  const text = versionType.case === "userAgentVersion" ? versionType.value : "";
  const features = node.clientFeatures.slice(0, maxClientFeatures).map((f) => f.slice(0, maxFeatureChars));
  if (name === "envoy") {
    const built = versionType.case === "userAgentBuildVersion" ? versionType.value.version : undefined;
    const version = built && {
      major: built.majorNumber,
      minor: built.minorNumber,
      patch: built.patch,
    };
    return { implementation: "envoy", version: version ?? parseVersion(text), features };
  }
  const implementation = implementationNamed(name);
  if (!implementation) return undefined;
  if (implementation !== "grpc-core") return { implementation, version: parseVersion(text), features };
  const language = coreLanguage(name);
  return {
    implementation,
    ...(language ? { language } : {}),
    version: coreRelease(text, language),
    features,
  };
}

/**
 * The gRPC release of a C-core client: the wrapper's version after its language, "C-core 29.0.0
 * Python 1.51.1" → 1.51.1. C# numbers its releases 2.x for gRPC 1.x. Without a wrapper version
 * there is none: the core number is no release.
 */
function coreRelease(text: string, language: string | undefined): ClientVersion | undefined {
  const words = text.slice(0, 200).split(" ");
  if (!language || words.length < 4 || words[0] !== "C-core") return undefined;
  const release = parseVersion(words.slice(3).join(" "));
  if (release && language === "C#" && release.major === 2) return { ...release, major: 1 };
  return release;
}

function implementationNamed(name: string): ClientImplementation | undefined {
  if (name === "gRPC Node Pure JS") return "grpc-js";
  if (name === "gRPC Go") return "grpc-go";
  if (name === "gRPC Java") return "grpc-java";
  if (name.startsWith("gRPC C-core")) return "grpc-core";
  return undefined;
}

/** "gRPC C-core linux Python" → "Python": the words after the platform. */
function coreLanguage(name: string): string | undefined {
  const words = name.split(" ").slice(3).join(" ");
  return /^[A-Za-z+#]+$/.test(words) && words.length <= maxLanguageChars ? words : undefined;
}

/** The first `major.minor[.patch]` in `text`. */
export function parseVersion(text: string): ClientVersion | undefined {
  const match = /(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?/.exec(text.slice(0, 200));
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

export function compareVersions(a: ClientVersion, b: ClientVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(version: ClientVersion, patch = true): string {
  return `${version.major}.${version.minor}${patch ? `.${version.patch}` : ""}`;
}

/**
 * The client group a proxy belongs to, as people and `--client` name it: implementation (the
 * C-core wrapper's language when known) and minor release, e.g. "grpc-python/1.51",
 * "grpc-core/1.51" (a C-core build that does not say its language), "grpc-js/1.14".
 */
export function clientGroupLabel(client: ClientIdentity): string {
  const name =
    client.implementation === "grpc-core" && client.language
      ? `grpc-${client.language.toLowerCase().replace("#", "sharp")}`
      : client.implementation;
  return client.version ? `${name}/${formatVersion(client.version, false)}` : name;
}

/** Names `--client` accepts for C-core: every language that wraps it. */
const coreLanguages: ReadonlyMap<string, string> = new Map([
  ["grpc-core", ""],
  ["grpc-c++", "C++"],
  ["grpc-cpp", "C++"],
  ["grpc-python", "Python"],
  ["grpc-ruby", "Ruby"],
  ["grpc-php", "PHP"],
  ["grpc-csharp", "C#"],
  ["grpc-objc", "ObjC"],
]);

const otherNames: ReadonlyMap<string, ClientImplementation> = new Map([
  ["grpc-js", "grpc-js"],
  ["grpc-node", "grpc-js"],
  ["grpc-go", "grpc-go"],
  ["grpc-java", "grpc-java"],
]);

/** Every implementation name `parseClientSpec` accepts, for help texts. */
export const clientSpecNames: readonly string[] = [...otherNames.keys(), ...coreLanguages.keys()];

/** `--client` names an implementation we do not know, or a version that is not one. */
export class ClientSpecError extends Error {
  override readonly name = "ClientSpecError";
}

/**
 * A client group as written on the command line: `NAME/VERSION`, e.g. `grpc-python/1.51` or
 * `grpc-go/1.60.1`. The version is required: what a client accepts depends on it.
 */
export function parseClientSpec(spec: string): ClientIdentity {
  const [name = "", versionText = "", ...rest] = spec.trim().toLowerCase().split("/");
  const version = parseVersion(versionText);
  if (rest.length > 0 || !version || !/^\d+\.\d+(\.\d+)?$/.test(versionText)) {
    throw new ClientSpecError(
      `--client ${spec}: expected NAME/VERSION such as grpc-python/1.51 or grpc-js/1.14.1`,
    );
  }
  const language = coreLanguages.get(name);
  if (language !== undefined) {
    return { implementation: "grpc-core", ...(language ? { language } : {}), version, features: [] };
  }
  const implementation = otherNames.get(name);
  if (!implementation) {
    throw new ClientSpecError(`--client ${spec}: ${name} is not one of ${clientSpecNames.join(", ")}`);
  }
  return { implementation, version, features: [] };
}

/**
 * The client of a group label (`clientGroupLabel`), as far as the label tells: release to the
 * minor. Undefined for labels without a version, and for Envoy, which has no gRPC releases.
 */
export function clientOfGroup(label: string): ClientIdentity | undefined {
  try {
    return parseClientSpec(label);
  } catch (error) {
    if (error instanceof ClientSpecError) return undefined;
    throw error;
  }
}
