// Resource store figures per backend (memory, sqlite, etcd): create and list 10,000 objects, and
// watch fan-out to 100 watchers. Each figure is the median of several runs with its range; all
// backends run in one process, one after another, on this machine.
//
//   npm run bench:store [-- --objects 10000 --watchers 100 --writes 1000 --runs 5]
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileSync, mkdirSync } from "node:fs";
import {
  createMemoryStore,
  openEtcdStore,
  openSqliteStore,
  type KubeObject,
  type ResourceStore,
  type ResourceType,
} from "../src/store/index.ts";
import { haveEtcd, startEtcd } from "../test/support/etcd.ts";

const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    watchers: { type: "string", default: "100" },
    writes: { type: "string", default: "1000" },
    runs: { type: "string", default: "5" },
  },
});
const objects = Number(values.objects);
const watchers = Number(values.watchers);
const writes = Number(values.writes);
const runs = Number(values.runs);

const services: ResourceType = { group: "", resource: "services", namespaced: true };
const service = (i: number, port = 80): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: `svc-${String(i).padStart(6, "0")}`,
    namespace: `ns-${i % 10}`,
    labels: { app: `app-${i % 50}` },
  },
  spec: {
    ports: [{ name: "grpc", port, targetPort: 8080, protocol: "TCP" }],
    selector: { app: `app-${i % 50}` },
  },
});

interface Figure {
  median: number;
  min: number;
  max: number;
}

function figure(samples: number[]): Figure {
  const sorted = samples.toSorted((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] as number,
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
  };
}

async function inBatches(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function measure(name: string, open: () => Promise<ResourceStore>) {
  const store = await open();
  try {
    let started = performance.now();
    await inBatches(objects, 32, (i) => store.create(services, service(i)));
    const createPerSecond = objects / ((performance.now() - started) / 1000);

    const listMs: number[] = [];
    const pagedMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      started = performance.now();
      const { items } = await store.list(services);
      listMs.push(performance.now() - started);
      if (items.length !== objects) throw new Error(`${name}: listed ${items.length} of ${objects}`);
      started = performance.now();
      let token: string | undefined;
      let seen = 0;
      do {
        const page = await store.list(services, { limit: 500, ...(token ? { continue: token } : {}) });
        seen += page.items.length;
        token = page.continue;
      } while (token);
      pagedMs.push(performance.now() - started);
      if (seen !== objects) throw new Error(`${name}: paged ${seen} of ${objects}`);
    }

    const fanOut: number[] = [];
    for (let run = 0; run < runs; run++) {
      const from = await store.currentResourceVersion();
      const streams = await Promise.all(
        Array.from({ length: watchers }, () => store.watch(services, { resourceVersion: from })),
      );
      const done = streams.map(async (watch) => {
        let received = 0;
        for await (const _event of watch) if (++received === writes) break;
        watch.stop();
      });
      started = performance.now();
      await inBatches(writes, 8, (i) => store.update(services, { ...service(i, 81 + run) }));
      await Promise.all(done);
      fanOut.push((watchers * writes) / ((performance.now() - started) / 1000));
    }
    return {
      name,
      createPerSecond,
      list: figure(listMs),
      paged: figure(pagedMs),
      fanOutEventsPerSecond: figure(fanOut),
    };
  } finally {
    await store.close();
  }
}

const results = [];
results.push(
  await measure("memory", async () => createMemoryStore({ historySize: Math.max(10_000, writes * 2) })),
);
const sqliteDir = mkdtempSync(join(tmpdir(), "meshplane-bench-sqlite-"));
try {
  results.push(
    await measure("sqlite", async () =>
      openSqliteStore({ path: join(sqliteDir, "bench.db"), historySize: Math.max(10_000, writes * 2) }),
    ),
  );
} finally {
  rmSync(sqliteDir, { recursive: true, force: true });
}
if (haveEtcd) {
  const etcd = await startEtcd();
  try {
    results.push(await measure("etcd", () => openEtcdStore({ hosts: etcd.url })));
  } finally {
    await etcd.stop();
  }
} else {
  console.log("etcd not installed (apt-get install -y etcd-server): etcd skipped");
}

const round = (n: number) => Math.round(n).toLocaleString("en-US");
const range = (f: Figure, digits = 0) =>
  `${f.median.toFixed(digits)} (${f.min.toFixed(digits)}–${f.max.toFixed(digits)})`;
console.log(
  `\n${objects} objects, ${watchers} watchers × ${writes} writes, ${runs} runs; median (min–max)\n`,
);
console.log(
  "| backend | create objects/s | list all, ms | list in pages of 500, ms | watch fan-out, events/s |",
);
console.log("| --- | --: | --: | --: | --: |");
for (const r of results) {
  console.log(
    `| ${r.name} | ${round(r.createPerSecond)} | ${range(r.list)} | ${range(r.paged)} | ${round(r.fanOutEventsPerSecond.median)} (${round(r.fanOutEventsPerSecond.min)}–${round(r.fanOutEventsPerSecond.max)}) |`,
  );
}
const conditions = {
  objects,
  watchers,
  writes,
  runs,
  node: process.version,
  cpus: cpus().length,
  loadavg: loadavg(),
  date: new Date().toISOString(),
};
mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
const out = join(import.meta.dirname, "results", "store.json");
writeFileSync(out, JSON.stringify({ conditions, results }, null, 2));
console.log(`\nwrote ${out}`);
