// Summarises a V8 .cpuprofile (from `--meshplane-node-args "--cpu-prof --cpu-prof-dir=DIR"`):
// self time by package or source folder, the top functions by self time, and inclusive time of
// chosen functions (so "how much of the CPU went into reloading the config directory" is a number).
//
//   node bench/xds-load/profile-summary.ts FILE.cpuprofile [--top 25] [--inclusive name1,name2]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string" }, inclusive: { type: "string" } },
});
const file = positionals[0];
if (!file) {
  console.error(
    "usage: node bench/xds-load/profile-summary.ts FILE.cpuprofile [--top N] [--inclusive f1,f2]",
  );
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const top = Number(values.top ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Self time per node, microseconds (each sample is charged the delta that follows it).
const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i + 1] ?? 0;
  self.set(id, (self.get(id) ?? 0) + delta);
});
const totalUs = [...self.values()].reduce((s, v) => s + v, 0);

function area(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName ? `(${frame.functionName})` : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const src = /\/(src\/(?:gen|[^/]+))\//.exec(url);
  if (src) return src[1] as string;
  if (url.startsWith("node:")) return url;
  return url.replace(/^file:\/\/.*\/(bench|test|examples)\//, "$1/");
}

const label = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${f.url.replace(/^file:\/\/.*?\/(src|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;

const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of self) {
  const frame = byId.get(id)?.callFrame;
  if (!frame) continue;
  areas.set(area(frame), (areas.get(area(frame)) ?? 0) + us);
  functions.set(label(frame), (functions.get(label(frame)) ?? 0) + us);
}

const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
const secs = (us: number) => `${(us / 1e6).toFixed(2).padStart(7)} s`;
console.log(
  `${file}: ${(totalUs / 1e6).toFixed(2)} s sampled over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`,
);
const idle = [...functions].filter(([k]) => k.startsWith("(idle)")).reduce((s, [, v]) => s + v, 0);
console.log(`busy (not idle): ${secs(totalUs - idle)}\n`);
console.log("self time by area:");
for (const [name, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${secs(us)} ${pct(us)}  ${name}`);
}
console.log("\ntop functions by self time:");
for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${secs(us)} ${pct(us)}  ${name}`);
}

// Inclusive time of functions by name: a sample counts once if the name is anywhere on its stack.
const wanted = (values.inclusive ?? "").split(",").filter(Boolean);
if (wanted.length > 0) {
  console.log("\ninclusive time:");
  const inclusive = new Map<string, number>(wanted.map((w) => [w, 0]));
  for (const [id, us] of self) {
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? "";
      if (inclusive.has(name)) onStack.add(name);
    }
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }
  for (const [name, us] of inclusive) console.log(`${secs(us)} ${pct(us)}  ${name}`);
}
