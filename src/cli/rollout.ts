// `meshplane rollout status|promote|pause|resume|abort NAME`: reads and steers a Rollout through
// the API. Every action is a JSON merge patch of the Rollout's spec, the same one
// `kubectl patch rollout NAME --type merge -p ...` sends, so nothing here is beyond plain kubectl.
import { resolve } from "node:path";
import type { Command } from "commander";
import { storedKind, type StoredKind } from "../api/index.ts";
import { ApiClientError, type ApiClient } from "../apiserver/index.ts";
import { readStatus, type RolloutStatus } from "../rollout/index.ts";
import { apiClientFromKubeconfig, KubeconfigError } from "./kubeconfig-client.ts";

const rolloutKind = storedKind("Rollout") as StoredKind;
const fieldManager = "meshplane-rollout-cli";

interface RolloutCliOptions {
  namespace: string;
  kubeconfig?: string;
  dataDir: string;
}

type Action = "status" | "promote" | "pause" | "resume" | "abort";

const actions: Readonly<Record<Action, string>> = {
  status: "show the phase, step, weights and analysis values of a rollout",
  promote: "end the current pause or analysis step now and go on",
  pause: "pause the rollout where it is (spec.paused: true)",
  resume: "resume a paused rollout, also one paused by a manual weight change (spec.paused: false)",
  abort: "send all traffic back to stable and stop (spec.abort: true; set it false to start over)",
};

export function registerRollout(program: Command): void {
  const group = program.command("rollout").description("inspect and steer progressive rollouts");
  for (const [action, description] of Object.entries(actions) as [Action, string][]) {
    group
      .command(`${action} <name>`)
      .description(description)
      .option("-n, --namespace <ns>", "the rollout's namespace", "default")
      .option("--kubeconfig <file>", "the running meshplane's API (default: <data-dir>/kubeconfig)")
      .option("--data-dir <dir>", "where meshplane keeps its state", ".meshplane")
      .action(async (name: string, options: RolloutCliOptions) => {
        try {
          const file = options.kubeconfig ?? resolve(options.dataDir, "kubeconfig");
          const { client } = apiClientFromKubeconfig(file, options.dataDir);
          process.stdout.write(await runAction(client, action, name, options.namespace));
        } catch (error) {
          if (!(
            error instanceof KubeconfigError ||
            error instanceof ApiClientError ||
            error instanceof RolloutCliError
          ))
            throw error;
          process.stderr.write(`meshplane rollout ${action}: ${error.message}\n`);
          process.exitCode = 1;
        }
      });
  }
}

/** The rollout cannot do what was asked in its current state; the message says why. */
export class RolloutCliError extends Error {
  override readonly name = "RolloutCliError";
}

/** Runs one action; returns what to print. */
export async function runAction(
  client: ApiClient,
  action: Action,
  name: string,
  namespace: string,
): Promise<string> {
  const patch = (spec: object) => client.mergePatch(rolloutKind, namespace, name, { spec }, fieldManager);
  switch (action) {
    case "status":
      return describeRollout(await client.get(rolloutKind, namespace, name));
    case "pause":
      await patch({ paused: true });
      return `rollout ${namespace}/${name} paused\n`;
    case "resume":
      await patch({ paused: false });
      return `rollout ${namespace}/${name} resumed\n`;
    case "abort":
      await patch({ abort: true });
      return `rollout ${namespace}/${name} aborted: all traffic goes back to stable\n`;
    case "promote": {
      const object = await client.get(rolloutKind, namespace, name);
      const status = readStatus(object);
      const steps = (object.spec as { steps?: Record<string, unknown>[] }).steps ?? [];
      const step = status ? steps[status.currentStep] : undefined;
      if (!status || !step || (step.pause === undefined && step.analysis === undefined)) {
        throw new RolloutCliError(
          `${namespace}/${name} is not at a pause or analysis step (${status ? `step ${status.currentStep}, ${status.phase}` : "not started"}); nothing to promote`,
        );
      }
      await patch({ promote: status.currentStep });
      return `rollout ${namespace}/${name}: step ${status.currentStep} promoted\n`;
    }
  }
}

/** A human-readable account of a rollout: where it is, what it measured, and why it stopped. */
export function describeRollout(object: {
  metadata: { name?: string; namespace?: string };
  spec?: unknown;
  status?: unknown;
}): string {
  const status: RolloutStatus | undefined = readStatus(object);
  const steps = (object.spec as { steps?: Record<string, unknown>[] } | undefined)?.steps ?? [];
  const lines = [`Rollout ${object.metadata.namespace ?? "default"}/${object.metadata.name ?? ""}`];
  if (!status) return `${lines[0]}\n  not started yet\n`;
  lines.push(
    `  Phase:   ${status.phase}${status.pauseReason ? ` (${status.pauseReason})` : ""}`,
    `  Step:    ${status.currentStep}/${steps.length}${steps[status.currentStep] ? ` ${describeStep(steps[status.currentStep] as Record<string, unknown>)}` : ""}`,
    `  Canary:  ${status.canaryWeight}%${status.exposedHeader ? `, and requests with ${status.exposedHeader.name}: ${status.exposedHeader.value}` : ""}`,
    `  Message: ${status.message}`,
  );
  for (const analysis of [...status.history, ...(status.analysis ? [status.analysis] : [])]) {
    lines.push(
      `  Analysis at step ${analysis.step}: ${analysis.result ?? "running"} (${analysis.successful} passed, ${analysis.failed} failed)`,
    );
    for (const round of analysis.rounds) {
      const values = round.measurements
        .map((m) => `${m.metric}=${m.value ?? `? ${m.message ?? ""}`} ${m.result}`)
        .join(", ");
      lines.push(`    ${round.at} ${round.result}: ${values}`);
    }
  }
  for (const c of status.conditions) {
    lines.push(`  ${c.type}=${c.status} ${c.reason}${c.message ? `: ${c.message}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

function describeStep(step: Record<string, unknown>): string {
  if (step.setWeight !== undefined) return `(setWeight ${String(step.setWeight)})`;
  if (step.pause !== undefined) {
    const duration = (step.pause as { duration?: string }).duration;
    return duration ? `(pause ${duration})` : "(pause until promoted)";
  }
  if (step.exposeByHeader !== undefined) return "(exposeByHeader)";
  return "(analysis)";
}
