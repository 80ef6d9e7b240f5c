// `npm run demo` end to end: examples/quickstart/demo.ts with --calls 3000 as a child process must
// exit 0 after printing PASS for the 90/10 split and for the 50/50 split after the live edit; and
// `npm run demo:rollback` must print the controller's steps and exit 0 after the rollback; and
// `npm run demo:secure` must print PASS for an mTLS call, two denials and a refused plaintext
// client. The
// demo uses the fixed ports 127.0.0.1:20061 and :20062 (below Linux's ephemeral range, so no
// port-0 listener or outgoing connection of another test takes them); see support/demo-ports.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnChild } from "../../examples/quickstart/lib/child.ts";
import { havePrometheus, prometheusHint } from "../support/prometheus.ts";
import { requireDemoPorts, secureDemoPorts } from "./support/demo-ports.ts";
import { quickstartDir, repoRoot } from "./support/index.ts";

test(
  "npm run demo -- --calls 3000 prints PASS for both splits and exits 0",
  { timeout: 150_000 },
  async (t) => {
    if (!(await requireDemoPorts(t))) return;
    const demo = spawnChild("demo", [`${quickstartDir}demo.ts`, "--calls", "3000"], { cwd: repoRoot });
    // SIGTERM makes the demo stop its own meshplane, greeters and client.
    t.after(() => demo.stop(8_000));

    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      demo.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 120_000))),
    ]);
    clearTimeout(timer);
    const output = demo.tail(60);
    assert.ok(exit, `the demo did not finish within 120 s\n${output}`);
    const lines = demo.stdoutLines();
    const pass9010 = lines.find((l) => /^PASS\s+90\/10 split/.test(l));
    const pass5050 = lines.find((l) => /^PASS\s+50\/50 split .*after a live edit/.test(l));
    assert.ok(pass9010, `the demo printed "PASS  90/10 split ..."\n${output}`);
    assert.ok(pass5050, `the demo printed "PASS  50/50 split ... after a live edit"\n${output}`);
    assert.equal(exit.code, 0, `demo exit code (signal ${exit.signal})\n${output}`);
    const tables = lines.filter((l) => /greeter-v[12]\s+\d/.test(l)).map((l) => l.trim());
    t.diagnostic(`demo splits: ${tables.join(" | ")}`);
  },
);

test(
  "npm run demo:rollback: the failing canary is rolled back by itself, traffic back on v1, exit 0",
  { timeout: 150_000 },
  async (t) => {
    if (!havePrometheus()) return t.skip(prometheusHint);
    if (!(await requireDemoPorts(t))) return;
    const demo = spawnChild("rollback demo", [`${quickstartDir}rollback-demo.ts`], { cwd: repoRoot });
    t.after(() => demo.stop(8_000));

    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      demo.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 120_000))),
    ]);
    clearTimeout(timer);
    const output = demo.tail(60);
    assert.ok(exit, `the demo did not finish within 120 s\n${output}`);
    const lines = demo.stdoutLines();
    const step = (reason: string) => lines.find((l) => new RegExp(`^\\s+[\\d.]+ s\\s+${reason}\\s`).test(l));
    assert.ok(step("StepCompleted"), `the demo printed the 20 % step\n${output}`);
    assert.match(
      step("RolledBack") ?? "",
      /analysis failed .* last success-rate=0\.\d+; all traffic back to stable greeter-v1/,
    );
    assert.ok(
      lines.some((l) => /Phase:\s+Degraded/.test(l)),
      `the demo printed the Rollout's status\n${output}`,
    );
    assert.ok(
      lines.some((l) => /^PASS\s+all traffic is back on greeter-v1/.test(l)),
      output,
    );
    assert.equal(exit.code, 0, `demo exit code (signal ${exit.signal})\n${output}`);
    t.diagnostic(`rollback demo: ${(step("RolledBack") ?? "").trim()}`);
  },
);

test(
  "npm run demo:secure: mTLS between agent-certified workloads, PERMISSION_DENIED for others, plaintext refused",
  { timeout: 150_000 },
  async (t) => {
    if (!(await requireDemoPorts(t, secureDemoPorts))) return;
    const demo = spawnChild("secure demo", [`${quickstartDir}secure-demo.ts`], { cwd: repoRoot });
    t.after(() => demo.stop(8_000));

    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      demo.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 120_000))),
    ]);
    clearTimeout(timer);
    const output = demo.tail(60);
    assert.ok(exit, `the demo did not finish within 120 s\n${output}`);
    const lines = demo.stdoutLines();
    const verdicts = lines.filter((l) => /^(PASS|FAIL)\s/.test(l));
    assert.deepEqual(
      verdicts,
      [
        "PASS  checkout → SayHello succeeds over mTLS, and the ledger sees checkout's SPIFFE ID",
        "PASS  intruder → SayHello is refused with PERMISSION_DENIED",
        "PASS  checkout → SayGoodbye is refused with PERMISSION_DENIED",
        "PASS  a plaintext client cannot connect (STRICT)",
      ],
      output,
    );
    assert.equal(exit.code, 0, `demo exit code (signal ${exit.signal})\n${output}`);
  },
);
