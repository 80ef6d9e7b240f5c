// `meshplane analyze`: every problem in a set of objects, with a stable code (src/analyze/codes.ts),
// its severity, the object and field, and a fix. Offline from files or a config directory, built
// by the server's own code; live from a running meshplane (/debug/config_errors, /debug/nacks).
// Exit code 1 when any finding is an error, or a release named with --client would NACK an
// object or break on it, so it can gate CI.
import type { Command } from "commander";
import {
  analyzeDirectory,
  analyzeFiles,
  codeSpec,
  finding,
  sortFindings,
  type Finding,
} from "../analyze/index.ts";
import type { ConfigError } from "../sources/index.ts";
import { clientSpecNames, type ClientIdentity } from "../translate/index.ts";
import type { NackReport } from "../xds/index.ts";
import { clientArgument } from "./explain.ts";
import { adminAddressOption, adminGet, guarded, replicaViews } from "./admin-client.ts";
import { reportUnreachable } from "./proxy-status.ts";
import { formatData, formatTable, outputOption, type OutputFormat } from "./table.ts";
import { trustDomainOption } from "./security.ts";

/** What proxies reject, one finding per configuration object the rejected resources are built from. */
export function nackFindings(report: NackReport): Finding[] {
  const spec = codeSpec("MP0301");
  const findings = report.objects.map((o) => ({
    code: "MP0301" as const,
    severity: spec.severity,
    object: o.object,
    field: "",
    file: "",
    message: `rejected by ${o.proxies} ${o.proxies === 1 ? "proxy" : "proxies"}: ${o.rejections
      .map((r) => `${r.nodeId} ${r.type} ${r.resource}: ${r.error}`)
      .join("; ")}`,
    fix: spec.fix,
  }));
  const unattributed = report.unattributed.map((r) => ({
    code: "MP0301" as const,
    severity: spec.severity,
    object: "",
    field: "",
    file: "",
    message: `${r.nodeId} rejects ${r.type} ${r.resource}, built from no configuration object: ${r.error}`,
    fix: spec.fix,
  }));
  return [...findings, ...unattributed];
}

/**
 * An MP0207 prediction that a client release rejects the object or breaks on it, as
 * translate/clients/predict.ts words it (cli/analyze.test.ts fails if that changes).
 */
export function predictsFailure(f: Finding): boolean {
  return f.code === "MP0207" && /^UnsupportedByClient: (rejected \(NACK\)|broken) by /.test(f.message);
}

export function renderFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return "no problems found\n";
  const errors = findings.filter((f) => f.severity === "error").length;
  const table = formatTable(
    ["CODE", "SEVERITY", "OBJECT", "FIELD", "MESSAGE"],
    findings.map((f) => [f.code, f.severity, f.object || f.file, f.field || "-", f.message]),
  );
  const fixes = [...new Set(findings.map((f) => f.code))].map((code) => `  ${code}: ${codeSpec(code).fix}`);
  return `${table}\n${errors} errors, ${findings.length - errors} warnings. How to fix:\n${fixes.join("\n")}\n`;
}

export function registerAnalyze(program: Command): void {
  program
    .command("analyze")
    .description(
      "every problem in a set of objects, with a stable code (MP0101...), severity, object, field and fix; exits 1 on errors",
    )
    .option("-f, --filename <files...>", "analyze these YAML/JSON files, offline")
    .option(
      "--config-dir <dir>",
      "analyze a config directory as `meshplane serve --config-dir` loads it, offline",
    )
    .option("--domain <domain>", "cluster domain, as `meshplane serve --domain` (offline)", "cluster.local")
    .addOption(trustDomainOption("SPIFFE trust domain, as `meshplane serve --trust-domain` (offline)"))
    .option(
      "--client <group>",
      `offline: also report what this client release would ignore or reject, as NAME/VERSION (e.g. grpc-python/1.51; NAME one of ${clientSpecNames.join(", ")}); repeatable`,
      (value: string, previous: ClientIdentity[]) => [...previous, clientArgument(value)],
      [] as ClientIdentity[],
    )
    .addOption(adminAddressOption())
    .addOption(outputOption())
    .action(
      guarded(
        async (opts: {
          filename?: string[];
          configDir?: string;
          domain: string;
          trustDomain: string;
          client: ClientIdentity[];
          adminAddress: string[];
          output: OutputFormat;
        }) => {
          let findings: Finding[];
          if (opts.filename && opts.configDir) throw new Error("give -f FILES or --config-dir DIR, not both");
          if (opts.filename || opts.configDir) {
            const options = { domain: opts.domain, trustDomain: opts.trustDomain, clients: opts.client };
            const config = opts.filename
              ? await analyzeFiles(opts.filename, options)
              : await analyzeDirectory(opts.configDir as string, options);
            findings = config.errors.map(finding);
          } else {
            if (opts.client.length > 0)
              throw new Error(
                "--client is for offline analysis (-f or --config-dir): live, the connected clients count",
              );
            // Live: every replica serves the same configuration, but NACKs are each replica's own.
            const address = opts.adminAddress[0] as string;
            const { errors } = await adminGet<{ errors: ConfigError[] }>(address, "/debug/config_errors");
            findings = errors.map(finding);
            const { views, unreachable } = await replicaViews(opts.adminAddress);
            reportUnreachable(unreachable);
            for (const view of views)
              findings.push(...nackFindings(await adminGet<NackReport>(view.address, "/debug/nacks")));
          }
          const sorted = sortFindings(findings);
          process.stdout.write(
            opts.output === "table" ? renderFindings(sorted) : formatData(sorted, opts.output),
          );
          // A release named with --client that would NACK an object (or crash on it) fails the
          // gate too: that is what the option is for, though it is only a warning otherwise.
          if (sorted.some((f) => f.severity === "error" || (opts.client.length > 0 && predictsFailure(f))))
            process.exitCode = 1;
        },
      ),
    );
}
