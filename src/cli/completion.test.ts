// The completion scripts, generated from the registered commands, run in a real bash.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { Command } from "commander";
import { registerAnalyze } from "./analyze.ts";
import { bashCompletion, registerCompletion, zshCompletion } from "./completion.ts";
import { registerProxyConfig } from "./proxy-config.ts";
import { registerProxyStatus } from "./proxy-status.ts";

function program(): Command {
  const root = new Command().name("meshplane");
  registerProxyStatus(root);
  registerProxyConfig(root);
  registerAnalyze(root);
  registerCompletion(root);
  return root;
}

/** What bash offers after `words` (the last one is being typed). */
function complete(script: string, words: string): string {
  const cword = words.split(" ").length - 1;
  const run = spawnSync(
    "bash",
    ["-c", `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${cword}; _meshplane; echo "\${COMPREPLY[@]}"`],
    { encoding: "utf8" },
  );
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

test("bash completes commands, each command's options, and proxy-config's kinds", () => {
  const script = bashCompletion(program());
  assert.equal(spawnSync("bash", ["-n"], { input: script }).status, 0, "bash -n accepts the script");
  const cases: [string, string][] = [
    ["meshplane proxy-s", "proxy-status"],
    ["meshplane proxy-config node r", "routes"],
    ["meshplane proxy-config node e", "endpoints"],
    ["meshplane analyze --co", "--config-dir"],
    ["meshplane analyze --cl", "--client"],
    ["meshplane proxy-status --admin", "--admin-address"],
    ["meshplane completion z", "zsh"],
  ];
  for (const [words, want] of cases) assert.equal(complete(script, words), want, words);
});

test("zsh: one _describe entry per command, and options per command", () => {
  const script = zshCompletion(program());
  assert.match(script, /^#compdef meshplane$/m);
  assert.match(
    script,
    /^ {4}'proxy-status:per proxy and xDS type\\: SYNCED, STALE, NOT SENT or NACKED, with its replica and client'$/m,
  );
  assert.match(
    script,
    /^ {6}proxy-config\) compadd -- .*--admin-address .* listeners routes clusters endpoints secrets ;;$/m,
  );
  const zsh = spawnSync("zsh", ["-n"], { input: script });
  if (zsh.error === undefined) assert.equal(zsh.status, 0, "zsh -n accepts the script");
});
