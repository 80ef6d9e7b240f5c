// Offline analysis: the configuration a directory or a set of files would give, read, validated
// and built into a mesh by the very code `meshplane serve` runs (sources/ for files, api/ for
// validation, mesh/ for references, the serving state for translation), so it finds what
// /debug/config_errors would report once proxies of every flavour requested everything.
import { readFile, stat } from "node:fs/promises";
import type { Resource } from "../api/index.ts";
import { DecodeError, LimitExceededError, decodeUtf8, defaultLimits, type Limits } from "../limits/index.ts";
import { buildMeshSnapshot } from "../mesh/index.ts";
import {
  ConfigDirSource,
  assembleFiles,
  parseConfigFile,
  type ConfigError,
  type FileResult,
} from "../sources/index.ts";
import { silentLogger } from "../telemetry/index.ts";
import { clientIssues, featureUses, type ClientIdentity } from "../translate/index.ts";
import { issueAsConfigError } from "./findings.ts";
import { translationIssues } from "./translation.ts";

export interface OfflineConfig {
  readonly resources: readonly Resource[];
  /** Every problem: files and objects refused, then the mesh's issues. */
  readonly errors: readonly ConfigError[];
}

export interface OfflineOptions {
  /** Cluster domain, as `meshplane serve --domain`. */
  readonly domain: string;
  /** SPIFFE trust domain, as `meshplane serve --trust-domain`; cluster.local when unset. */
  readonly trustDomain?: string;
  readonly limits?: Limits;
  /**
   * Client releases (`--client grpc-python/1.51`) to predict for, as if connected: what they would
   * ignore or reject (MP0207), and the resources in the encoding they get.
   */
  readonly clients?: readonly ClientIdentity[];
}

/** What `meshplane serve --config-dir DIR` would load from `dir`, and its problems. */
export async function analyzeDirectory(dir: string, options: OfflineOptions): Promise<OfflineConfig> {
  const source = new ConfigDirSource({
    dir,
    logger: silentLogger(),
    limits: options.limits ?? defaultLimits,
  });
  try {
    const state = await source.start();
    return withMeshIssues(state.resources, state.errors, options);
  } finally {
    await source.stop();
  }
}

/** The configuration `files` give together (merged as one directory's files are), and its problems. */
export async function analyzeFiles(
  files: readonly string[],
  options: OfflineOptions,
): Promise<OfflineConfig> {
  const limits = options.limits ?? defaultLimits;
  const results: FileResult[] = [];
  for (const file of files) results.push(await parseFile(file, limits));
  const { resources, errors } = assembleFiles(results);
  return withMeshIssues(resources, errors, options);
}

/**
 * The mesh the resources build, as the pipeline builds it, with its issues, its translator faults
 * and what the given clients would not apply, as config errors.
 */
export function withMeshIssues(
  resources: readonly Resource[],
  errors: readonly ConfigError[],
  options: OfflineOptions,
): OfflineConfig {
  const mesh = buildMeshSnapshot(resources, { domain: options.domain, trustDomain: options.trustDomain });
  const clients = options.clients ?? [];
  const issues = [
    ...mesh.issues,
    ...translationIssues(mesh, clients),
    ...(clients.length > 0 ? clientIssues(featureUses(mesh), clients) : []),
  ];
  return { resources, errors: [...errors, ...issues.map(issueAsConfigError)] };
}

async function parseFile(file: string, limits: Limits): Promise<FileResult> {
  const refused = (message: string, limit?: ConfigError["limit"]): FileResult => ({
    file,
    definitions: [],
    errors: [{ file, object: "", field: "", message, ...(limit ? { limit } : {}) }],
    keepMissing: false,
  });
  try {
    const size = (await stat(file)).size;
    if (size > limits["dir.fileBytes"]) {
      const error = new LimitExceededError("dir.fileBytes", limits["dir.fileBytes"], "the file", size);
      return refused(error.message, error.limit);
    }
    const text = decodeUtf8(await readFile(file), "the file");
    return await parseConfigFile(file, text, limits, async () => undefined);
  } catch (error) {
    if (error instanceof DecodeError) return refused(error.message);
    return refused(`cannot read file: ${(error as Error).message}`);
  }
}
