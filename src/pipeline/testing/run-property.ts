// `npm run test:property -- [--steps N] [--seed S] [--seeds K]`: the incremental-equals-from-scratch
// property over longer runs than `npm test` affords. Without --seed, seeds start from a random one
// (printed, so a failure can be replayed). Exits 1 on the first failure. Test support only.
import { parseArgs } from "node:util";
import { checkIncremental, describeFailure } from "./property.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "1000" },
    seed: { type: "string" },
    seeds: { type: "string", default: "1" },
  },
});
const steps = Number(values.steps);
const first = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const count = Number(values.seeds);
if (![steps, first, count].every(Number.isSafeInteger) || steps < 1 || count < 1) {
  process.stderr.write("usage: npm run test:property -- [--steps N] [--seed S] [--seeds K]\n");
  process.exit(2);
}
for (let seed = first; seed < first + count; seed++) {
  const started = performance.now();
  const failure = checkIncremental({ seed, steps });
  const ms = Math.round(performance.now() - started);
  if (failure) {
    process.stderr.write(`${describeFailure(failure)}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `seed ${seed}: ${steps} random edits, incremental equals from scratch, every change reported (${ms} ms)\n`,
  );
}
