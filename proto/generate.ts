// Generates TypeScript declarations + JavaScript for the Envoy/xDS protos meshplane speaks.
// Sources are the .proto trees shipped inside @grpc/grpc-js-xds (the same API version the
// proxyless clients compile against); output goes to src/gen/, which is never committed. Runs as
// the prepare script of the build-only proto workspace (so on `npm ci` in a clone) and as
// `npm run proto`; the published package ships the generated JavaScript in dist/ instead.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";

const root = resolve(import.meta.dirname, "..");
// From this folder up: buf is a dependency of the proto workspace (proto/package.json), the rest of the root.
const require = createRequire(import.meta.url);
const xdsPackage = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
const protoRoots = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"];

/** The files meshplane encodes or decodes; their imports are generated too. */
export const protoFiles = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/discovery/v3/discovery.proto",
  // Client Status Discovery Service, served beside ADS (src/xds/csds.ts).
  "envoy/service/status/v3/csds.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  // Authorization on inbound HTTP (gRFC A41 for proxyless servers; src/translate/authz/).
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/listener/original_dst/v3/original_dst.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  // Envoy security (sidecar mTLS and end-user JWT): src/translate/envoy/{listener,jwt}.ts.
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/extensions/filters/http/jwt_authn/v3/config.proto",
];

const workDir = join(root, "proto", ".work");
const outDir = join(root, "src", "gen");
rmSync(workDir, { recursive: true, force: true });
rmSync(outDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });

// buf wants every module inside its workspace, so link the shipped trees into one.
for (const name of protoRoots.filter((r) => r !== "protoc-gen-validate")) {
  symlinkSync(join(xdsPackage, "deps", name), join(workDir, name));
}
writeValidateProto();
writeFileSync(
  join(workDir, "buf.yaml"),
  JSON.stringify({
    version: "v2",
    modules: protoRoots.map((path) => ({ path })),
  }),
);
writeFileSync(
  join(workDir, "buf.gen.yaml"),
  JSON.stringify({
    version: "v2",
    plugins: [
      {
        local: join(root, "node_modules", ".bin", "protoc-gen-es"),
        out: outDir,
        opt: ["target=js+dts", "import_extension=js", "json_types=false"],
        include_imports: true,
      },
    ],
  }),
);

/**
 * buf ships one npm package per platform; proto/package.json depends on the Linux ones directly (the
 * registry this project uses serves no others, so the `@bufbuild/buf` wrapper cannot be locked).
 * They live in this build-only workspace, not in the root package, so that installing the published
 * meshplane does not download buf (about 90 MB).
 */
function bufBinary(): string {
  const arch = { x64: "x64", arm64: "aarch64" }[process.arch as string];
  const name = `@bufbuild/buf-${process.platform}-${arch}`;
  try {
    return require.resolve(`${name}/bin/buf`);
  } catch {
    throw new Error(
      `proto: no buf binary for ${process.platform}/${process.arch}: install ${name} or add it to optionalDependencies in proto/package.json`,
    );
  }
}

/**
 * The validate.proto shipped beside the Envoy API predates `StringRules.ignore_empty`, which the
 * Envoy files use; protobufjs never resolves options so grpc-js-xds does not notice, but buf does.
 * Add the field with its upstream number (26) to a copy.
 */
function writeValidateProto(): void {
  const source = readFileSync(
    join(xdsPackage, "deps", "protoc-gen-validate", "validate", "validate.proto"),
    "utf8",
  );
  const anchor = "optional bool strict = 25 [default = true];";
  if (!source.includes(anchor)) throw new Error(`validate.proto changed shape: '${anchor}' not found`);
  const patched = source.includes("ignore_empty = 26")
    ? source
    : source.replace(anchor, `${anchor}\n  optional bool ignore_empty = 26;`);
  mkdirSync(join(workDir, "protoc-gen-validate", "validate"), { recursive: true });
  writeFileSync(join(workDir, "protoc-gen-validate", "validate", "validate.proto"), patched);
}

const buf = bufBinary();
const started = performance.now();
execFileSync(
  buf,
  ["generate", "--template", "buf.gen.yaml", ...protoFiles.flatMap((f) => ["--path", `envoy-api/${f}`])],
  {
    cwd: workDir,
    stdio: "inherit",
  },
);
rmSync(workDir, { recursive: true, force: true });
console.log(
  `proto: generated ${protoFiles.length} roots into src/gen in ${Math.round(performance.now() - started)} ms`,
);
