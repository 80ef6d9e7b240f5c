// `meshplane explain`: which listener, route, rule and clusters one request reaches, and why,
// computed from the xDS meshplane would send to that caller (translate/simulate). Config comes
// from a YAML directory or from a running meshplane's API.
import { isIP } from "node:net";
import { resolve } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { objectRef, storedKinds, validateResource, type Resource } from "../api/index.ts";
import { ApiClientError } from "../apiserver/index.ts";
import { apiClientFromKubeconfig, KubeconfigError } from "./kubeconfig-client.ts";
import {
  attachmentKey,
  buildMeshSnapshot,
  MeshFacets,
  type MeshIssue,
  type MeshSnapshot,
} from "../mesh/index.ts";
import { ConfigDirSource } from "../sources/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { trustDomainOption } from "./security.ts";
import {
  clientIssues,
  clientSpecNames,
  ClientSpecError,
  featureUses,
  generateResources,
  MeshView,
  parseClientSpec,
  resolveTarget,
  type ClientIdentity,
  type ProxyProfile,
} from "../translate/index.ts";
import {
  authorizeBackends,
  backendAuthorizationText,
  collectResources,
  explainText,
  simulateRequest,
  type Caller,
  type SimulationFlavour,
} from "../translate/simulate/index.ts";

type ServicePortRef = NonNullable<ReturnType<typeof resolveTarget>>;

/** The command could not run as asked: bad flags, or config that cannot be read. */
class UsageError extends Error {
  override readonly name = "UsageError";
}

interface ExplainOptions {
  target: string;
  grpcMethod?: string;
  path?: string;
  method?: string;
  header?: [string, string][];
  namespace: string;
  flavour: SimulationFlavour;
  client?: ClientIdentity;
  from?: string;
  sourceIp?: string;
  requestPrincipal?: string;
  serverFlavour?: SimulationFlavour;
  configDir?: string;
  kubeconfig?: string;
  dataDir: string;
  domain: string;
  trustDomain: string;
  output: "text" | "json";
}

/** `--client NAME/VERSION`, as commander parses an argument (a usage error when it is not one). */
export function clientArgument(value: string): ClientIdentity {
  try {
    return parseClientSpec(value);
  } catch (error) {
    if (error instanceof ClientSpecError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function header(value: string, previous: [string, string][] | undefined): [string, string][] {
  const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected NAME=VALUE, got "${value}"`);
  return [...(previous ?? []), [match[1] as string, match[2] as string]];
}

export function registerExplain(program: Command): void {
  program
    .command("explain")
    .description(
      "show which route, rule and clusters a request reaches, and why (simulated on the generated xDS)",
    )
    .requiredOption("--target <host:port>", "what the caller dials, e.g. greeter:50051")
    .option("--grpc-method <path>", "a gRPC call: /package.Service/Method")
    .option("--path <path>", "an HTTP request path, query string included (/items?id=1)")
    .option("--method <method>", "HTTP method (Envoy); gRPC calls are always POST")
    .option("-H, --header <name=value>", "a request header or gRPC metadata entry (repeatable)", header)
    .option(
      "--namespace <ns>",
      "the caller's namespace: short names and consumer routes depend on it",
      "default",
    )
    .addOption(
      new Option("--flavour <flavour>", "the caller's data plane").choices(["grpc", "envoy"]).default("grpc"),
    )
    .option(
      "--client <name/version>",
      `the proxyless client release to predict for (what it NACKs or ignores, and the encoding meshplane sends it), e.g. grpc-python/1.51 or grpc-js/1.14.1; names: ${clientSpecNames.join(", ")}. Without it: the rules every gRPC client shares`,
      clientArgument,
    )
    .option(
      "--from <spiffe-id>",
      "the caller's identity (its mTLS certificate); without it, a plaintext caller",
    )
    .option("--source-ip <ip>", "the caller's address, for ipBlocks conditions")
    .option("--request-principal <iss/sub>", "the end user of a validated JWT (Envoy servers)")
    .addOption(
      new Option("--server-flavour <flavour>", "the called servers' data plane (default: --flavour)").choices(
        ["grpc", "envoy"],
      ),
    )
    .option("--config-dir <dir>", "read config from a directory of YAML instead of a running meshplane")
    .option("--kubeconfig <file>", "the running meshplane's API (default: <data-dir>/kubeconfig)")
    .option("--data-dir <dir>", "the data directory of the running meshplane", ".meshplane")
    .option("--domain <domain>", "cluster domain in service host names", "cluster.local")
    .addOption(trustDomainOption("SPIFFE trust domain, as `meshplane serve --trust-domain`"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    // Usage errors exit 2, so scripts can tell them from "the request would fail" (1).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (options: ExplainOptions) => {
      try {
        const code = await explain(options);
        process.exitCode = code;
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`meshplane explain: ${error.message}\n`);
        process.exitCode = 2;
      }
    });
}

async function explain(options: ExplainOptions): Promise<number> {
  const request = requestOf(options);
  const caller = callerOf(options);
  const { resources, errors } = await loadResources(options);
  for (const error of errors) process.stderr.write(`warning: ${error}\n`);
  const mesh = buildMeshSnapshot(resources, { domain: options.domain, trustDomain: options.trustDomain });
  const { flavour, namespace } = options;
  if (options.client && flavour !== "grpc") throw new UsageError("--client is for --flavour grpc");
  const profile: ProxyProfile = {
    namespace,
    flavour,
    instanceIps: [],
    ...(options.client && { client: options.client }),
  };
  const xds = collectResources(
    (typeUrl, names) => generateResources(mesh, profile, typeUrl, names),
    flavour,
    [options.target],
  );
  const view = new MeshView(new MeshFacets(mesh), profile, ["namespace"]);
  const ref = resolveTarget(view, options.target, namespace);
  const result = simulateRequest(
    xds,
    { ...request, destinationIp: ref?.service.clusterIP },
    flavour,
    options.client,
  );
  const authorization = authorizeBackends(
    view,
    result,
    caller,
    options.serverFlavour ?? flavour,
    (serverProfile, typeUrl, names) => generateResources(mesh, serverProfile, typeUrl, names),
  );
  const issues: MeshIssue[] = ref
    ? relevantIssues(mesh, ref, flavour, options.client)
    : [
        {
          object: `target ${options.target}`,
          field: "",
          reason: "NotFound",
          message: `${options.target} is no Service port seen from namespace ${namespace}`,
        },
      ];
  issues.push(...authorization.flatMap((a) => a.issues));
  if (options.output === "json") {
    process.stdout.write(`${JSON.stringify({ simulation: result, authorization, issues }, null, 2)}\n`);
  } else {
    const authz = authorization.map(backendAuthorizationText).join("");
    process.stdout.write(explainText(result) + authz + issuesText(issues));
  }
  const denied = authorization.some((a) => a.report?.decision !== "allowed");
  return result.outcome === "failed" || denied ? 1 : 0;
}

/** The caller as the server's authorization sees it. */
function callerOf(options: ExplainOptions): Caller {
  const { from, sourceIp, requestPrincipal } = options;
  if (from !== undefined && !/^spiffe:\/\/[^/]+\/./.test(from)) {
    throw new UsageError(`--from ${from}: expected a SPIFFE ID, spiffe://<trust-domain>/ns/<ns>/sa/<sa>`);
  }
  if (sourceIp !== undefined && isIP(sourceIp) === 0)
    throw new UsageError(`--source-ip ${sourceIp}: not an IP address`);
  const slash = requestPrincipal?.lastIndexOf("/") ?? -1;
  if (requestPrincipal !== undefined && slash < 1) {
    throw new UsageError(`--request-principal ${requestPrincipal}: expected <issuer>/<subject>`);
  }
  return {
    peer: from,
    sourceIp,
    jwtClaims:
      requestPrincipal === undefined
        ? undefined
        : { iss: requestPrincipal.slice(0, slash), sub: requestPrincipal.slice(slash + 1) },
  };
}

function requestOf(options: ExplainOptions) {
  const { grpcMethod, path, flavour } = options;
  if ((grpcMethod === undefined) === (path === undefined)) {
    throw new UsageError("give exactly one of --grpc-method /package.Service/Method or --path /path");
  }
  if (options.configDir !== undefined && options.kubeconfig !== undefined) {
    throw new UsageError("--config-dir and --kubeconfig are alternatives: give one");
  }
  if (grpcMethod !== undefined) {
    const method = grpcMethod.startsWith("/") ? grpcMethod : `/${grpcMethod}`;
    if (!/^\/[^/?\s]+\/[^/?\s]+$/.test(method)) {
      throw new UsageError(`--grpc-method ${grpcMethod}: expected /package.Service/Method`);
    }
    if (options.method !== undefined && options.method.toUpperCase() !== "POST") {
      throw new UsageError("--method does not apply to --grpc-method: a gRPC call is always a POST");
    }
    return { target: options.target, path: method, grpc: true, headers: options.header ?? [] };
  }
  const value = path as string;
  if (!value.startsWith("/")) throw new UsageError(`--path ${value}: a path starts with /`);
  if (flavour === "grpc") {
    if (value.includes("?")) {
      throw new UsageError(
        "a gRPC call has no query string; use --flavour envoy for HTTP requests with a query",
      );
    }
    if (options.method !== undefined && options.method.toUpperCase() !== "POST") {
      throw new UsageError(
        `--method ${options.method}: proxyless gRPC calls are always POST; use --flavour envoy`,
      );
    }
  }
  return { target: options.target, path: value, method: options.method, headers: options.header ?? [] };
}

async function loadResources(options: ExplainOptions): Promise<{ resources: Resource[]; errors: string[] }> {
  if (options.configDir !== undefined) return loadDirectory(options.configDir);
  return loadFromApi(options.kubeconfig ?? resolve(options.dataDir, "kubeconfig"), options.dataDir);
}

/** The same parsing and validation `serve --config-dir` applies. */
async function loadDirectory(dir: string): Promise<{ resources: Resource[]; errors: string[] }> {
  const source = new ConfigDirSource({ dir, logger: silentLogger() });
  try {
    const state = await source.start();
    const errors = state.errors.map(
      (e) => [e.file, e.object, e.field].filter(Boolean).join(" ") + `: ${e.message}`,
    );
    return { resources: [...state.resources], errors };
  } catch (error) {
    throw new UsageError((error as Error).message);
  } finally {
    await source.stop();
  }
}

async function loadFromApi(
  file: string,
  dataDir: string,
): Promise<{ resources: Resource[]; errors: string[] }> {
  let connection;
  try {
    connection = apiClientFromKubeconfig(file, dataDir);
  } catch (error) {
    throw error instanceof KubeconfigError ? new UsageError(error.message) : error;
  }
  const { client, server } = connection;
  const resources: Resource[] = [];
  const errors: string[] = [];
  for (const kind of storedKinds) {
    let objects;
    try {
      objects = await client.list(kind, "");
    } catch (error) {
      if (error instanceof ApiClientError && error.code === 404) continue; // a server without this kind
      throw new UsageError(`cannot list ${kind.resource} from ${server}: ${(error as Error).message}`);
    }
    const apiVersion = kind.group === "" ? kind.version : `${kind.group}/${kind.version}`;
    for (const object of objects) {
      // List items may leave out their kind and apiVersion.
      const result = validateResource({
        ...object,
        apiVersion: object.apiVersion || apiVersion,
        kind: object.kind || kind.kind,
      });
      if (result.ok) resources.push(result.resource);
      else
        errors.push(
          `${result.kind} ${result.name}: ${result.errors.map((e) => `${e.field} ${e.message}`).join("; ")}`,
        );
    }
  }
  return { resources, errors };
}

/**
 * Status problems of the called Service, the routes attached to its port and the policies and
 * faults they use, for this data plane, and what `client`'s release would not apply of them.
 */
function relevantIssues(
  mesh: MeshSnapshot,
  ref: ServicePortRef,
  flavour: SimulationFlavour,
  client: ClientIdentity | undefined,
): MeshIssue[] {
  const { namespace, name } = ref.service;
  const attached = mesh.attachments.get(attachmentKey(namespace, name, ref.port)) ?? [];
  const objects = new Set([
    objectRef("Service", { namespace, name }),
    ...attached.map((a) => objectRef(a.route.kind, { namespace: a.route.namespace, name: a.route.name })),
  ]);
  const predicted = client ? clientIssues(featureUses(mesh), [client]) : [];
  return [...mesh.issues, ...predicted].filter(
    (i) => objects.has(i.object) && (i.flavour === undefined || i.flavour === flavour),
  );
}

function issuesText(issues: readonly MeshIssue[]): string {
  const lines = issues.map(
    (i) => `  - ${[i.object, i.field].filter(Boolean).join(" ")}: ${i.message} (${i.reason})`,
  );
  return lines.length === 0 ? "" : `Config issues\n${lines.join("\n")}\n`;
}
