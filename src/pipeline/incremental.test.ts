// Incrementally maintained resources equal a generation from scratch after every random edit
// (testing/property.ts), and the check catches a dependency a generator reads without recording.
// Bounded to a few seconds here; `npm run test:property -- --steps 5000` runs longer.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ConfigSnapshot } from "../xds/cache.ts";
import { TypeUrl } from "../xds/resource-types.ts";
import type { ServingState } from "./serving-state.ts";
import { checkIncremental, describeFailure } from "./testing/property.ts";

const seeds = [1, 2];
const steps = 100;

for (const seed of seeds) {
  test(`incremental equals from scratch: ${steps} random edits, seed ${seed}`, () => {
    const failure = checkIncremental({ seed, steps });
    if (failure) assert.fail(describeFailure(failure));
  });
}

/** The state, with generators' records missing every read of the facets `dropped` selects. */
function dropping(dropped: (key: string) => boolean): (state: ServingState) => ConfigSnapshot {
  const forget = <T extends { provenance: { reads: ReadonlySet<string> } }>(value: T): T => ({
    ...value,
    provenance: {
      ...value.provenance,
      reads: new Set([...value.provenance.reads].filter((k) => !dropped(k))),
    },
  });
  return (state) => ({
    ...state,
    names: (profile, typeUrl) => forget(state.names(profile, typeUrl)),
    generate: (profile, typeUrl, name) => {
      const translation = forget(state.generate(profile, typeUrl, name));
      const { resource } = translation;
      return { ...translation, resource: resource && { ...resource, provenance: translation.provenance } };
    },
  });
}

const planted: [what: string, dropped: (key: string) => boolean][] = [
  ["policies", (key) => key.startsWith("policy ")],
  ["endpoints", (key) => key.startsWith("endpoints ")],
  ["route rules", (key) => /^(GRPC|HTTP)Route /.test(key)],
  ["who is attached to a port", (key) => key.startsWith("routes ")],
  ["the list of Service ports", (key) => key === "services"],
];

test("the property fails when a change does not report an invalidated name to the push index", () => {
  const failure = seeds
    .map((seed) =>
      checkIncremental({
        seed,
        steps,
        tamperReport: (report) => ({
          ...report,
          names: new Map([...report.names].filter(([typeUrl]) => typeUrl !== TypeUrl.ClusterLoadAssignment)),
        }),
      }),
    )
    .find((f) => f !== undefined);
  assert.ok(failure, `unreported EDS names went unnoticed over seeds ${seeds.join(", ")}`);
  assert.match(describeFailure(failure), /changed without the change reporting them/);
});

for (const [what, dropped] of planted) {
  test(`the property fails when generators read ${what} without recording it`, () => {
    const failure = seeds
      .map((seed) => checkIncremental({ seed, steps, tamper: dropping(dropped) }))
      .find((f) => f !== undefined);
    assert.ok(failure, `dropping ${what} went unnoticed over seeds ${seeds.join(", ")}`);
    assert.match(describeFailure(failure), /incremental resources differ from a generation from scratch/);
  });
}
