// A change's trace as exported over OTLP/HTTP protobuf to a receiver that decodes it: which writes
// a publish serves (and so links), the publish → push → encode/ACK/NACK tree, the cap on answer
// spans, and the bounded wait for answers (on a FakeClock).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../clock/index.ts";
import { startTracing, type Commit, type Tracing } from "./index.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./testing.ts";
import { answerSpansPerChange, answerWaitMs, pendingCommitsLimit } from "./tracing.ts";

const start = 1_700_000_000_000;

describe("change traces", () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  const clock = new FakeClock(start);

  before(async () => {
    receiver = await startOtlpReceiver();
    tracing = await startTracing({
      endpoint: receiver.url,
      clock,
      replica: "replica-1",
      version: "0.0.0",
      exportDelayMs: 20,
    });
  });

  after(async () => {
    await tracing.shutdown();
    await receiver.close();
  });

  /** A traced write of `commits` (each a store call), as the API server makes one. */
  async function write(...commits: Commit[]): Promise<string> {
    return tracing.write("meshplane.api.write", {}, async () => {
      for (const commit of commits)
        await tracing.commit(
          async () => commit,
          (c) => c,
        );
      return tracing.writeTraceId()!;
    });
  }

  const trees = (traceId: string, names: string[]) =>
    receiver.waitFor(
      (spans) => {
        const mine = spans.filter((s) => s.traceId === traceId);
        return names.every((n) => mine.some((s) => s.name === n)) ? mine : undefined;
      },
      `${names.join(", ")} in trace ${traceId}`,
    );

  const one = (spans: ReceivedSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `one ${name}: ${JSON.stringify(found)}`);
    return found[0]!;
  };

  test("a publish serves the commits its objects reached, each once", async () => {
    const cases: [title: string, commit: Commit, versions: Record<string, string>, served: boolean][] = [
      [
        "not reached yet",
        { object: "Service a/x", resourceVersion: "10", deleted: false },
        { "Service a/x": "9" },
        false,
      ],
      [
        "at its version",
        { object: "Service a/x", resourceVersion: "11", deleted: false },
        { "Service a/x": "11" },
        true,
      ],
      [
        "overtaken",
        { object: "Service a/y", resourceVersion: "12", deleted: false },
        { "Service a/y": "15" },
        true,
      ],
      ["a delete, gone", { object: "Service a/z", resourceVersion: "13", deleted: true }, {}, true],
      [
        "a delete, recreated since",
        { object: "Service a/w", resourceVersion: "14", deleted: true },
        { "Service a/w": "16" },
        true,
      ],
      [
        "a delete, not seen yet",
        { object: "Service a/v", resourceVersion: "17", deleted: true },
        { "Service a/v": "8" },
        false,
      ],
    ];
    for (const [title, commit, versions, expected] of cases) {
      await write(commit);
      const served = tracing.served(() => new Map(Object.entries(versions)));
      assert.equal(served.length, expected ? 1 : 0, title);
      // What was not served waits for a later publish; a served commit is not served again.
      const again = tracing.served(() => new Map([[commit.object, "1000"]]));
      assert.equal(again.length, expected ? 0 : 1, `${title}, later`);
    }
    assert.equal(tracing.commitsPending, false);
  });

  test(`commits no publish serves are forgotten beyond ${pendingCommitsLimit}, oldest first`, async () => {
    const commits = Array.from({ length: pendingCommitsLimit + 1 }, (_, i) => ({
      object: `Namespace n${i}`,
      resourceVersion: String(i + 1),
      deleted: false,
    }));
    await write(...commits);
    const served = tracing.served(() => new Map(commits.map((c) => [c.object, c.resourceVersion])));
    assert.equal(served.length, pendingCommitsLimit);
    assert.equal(served[0]?.object, "Namespace n1", "n0 was forgotten");
  });

  test("write → commit → publish → push → encode and answers: one trace; a merged publish links every write", async () => {
    const first = await write({ object: "HTTPRoute default/r", resourceVersion: "100", deleted: false });
    const second = await write({ object: "Service default/s", resourceVersion: "101", deleted: false });
    const served = tracing.served(
      () =>
        new Map([
          ["HTTPRoute default/r", "100"],
          ["Service default/s", "101"],
        ]),
    );
    const change = tracing.publish(served, { "meshplane.config.generation": 7 });
    assert.equal(change.traceId, first, "the publish continues the first write's trace");
    change.pushing({ "meshplane.version": 3 });
    const sent = [change.sent()!, change.sent()!];
    change.encoded(2);
    change.published({ "meshplane.version": 3 });
    await clock.advance(5);
    change.pushed();
    change.answered(sent[0]!, { node: "default/a", type: "rds", version: "v1", error: undefined });
    change.answered(sent[1]!, { node: "default/b", type: "rds", version: "v1", error: "route rejected" });

    const spans = await trees(first, [
      "meshplane.api.write",
      "meshplane.store.commit",
      "meshplane.pipeline.publish",
      "meshplane.xds.push",
      "meshplane.xds.encode",
      "meshplane.xds.ack",
      "meshplane.xds.nack",
    ]);
    const commit = one(spans, "meshplane.store.commit");
    assert.equal(commit.parentSpanId, one(spans, "meshplane.api.write").spanId);
    const publish = one(spans, "meshplane.pipeline.publish");
    assert.equal(publish.parentSpanId, commit.spanId);
    assert.equal(publish.attributes["meshplane.writes"], 2);
    assert.deepEqual(
      publish.links.map((l) => [l.traceId, l.attributes["meshplane.object"]]),
      [
        [first, "HTTPRoute default/r"],
        [second, "Service default/s"],
      ],
      "linked to both writes, each in its own trace",
    );
    const push = one(spans, "meshplane.xds.push");
    assert.equal(push.parentSpanId, publish.spanId);
    assert.equal(one(spans, "meshplane.xds.encode").parentSpanId, push.spanId);
    assert.deepEqual(
      [
        push.attributes["meshplane.xds.responses"],
        push.attributes["meshplane.xds.acks"],
        push.attributes["meshplane.xds.nacks"],
      ],
      [2, 1, 1],
    );
    assert.equal(push.status.code, 2, "a NACK makes the push an error");
    const nack = one(spans, "meshplane.xds.nack");
    assert.equal(nack.parentSpanId, push.spanId);
    assert.equal(nack.attributes["meshplane.xds.error"], "route rejected");
    assert.equal(nack.attributes["meshplane.node"], "default/b");
    assert.equal(one(spans, "meshplane.xds.ack").attributes["meshplane.node"], "default/a");
    assert.equal(push.endMs - push.startMs, 5);
  });

  test(`answers beyond ${answerSpansPerChange} are counted, not spanned; unanswered ones end the push after ${answerWaitMs} ms`, async () => {
    const change = tracing.publish([], {});
    change.pushing({});
    const total = answerSpansPerChange + 6;
    const sent = Array.from({ length: total + 2 }, () => change.sent()!);
    change.published({});
    change.pushed();
    for (const response of sent.slice(0, total)) {
      change.answered(response, { node: "n", type: "eds", version: "v", error: undefined });
    }
    await clock.advance(answerWaitMs);
    // The push span has ended: a late answer or response changes nothing.
    assert.equal(change.sent(), undefined);
    const spans = await trees(change.traceId, ["meshplane.xds.push"]);
    const push = one(spans, "meshplane.xds.push");
    assert.equal(spans.filter((s) => s.name === "meshplane.xds.ack").length, answerSpansPerChange);
    assert.equal(push.attributes["meshplane.xds.acks"], total);
    assert.equal(push.attributes["meshplane.xds.answers_without_span"], 6);
    assert.equal(push.attributes["meshplane.xds.unanswered"], 2);
    assert.equal(push.endMs - push.startMs, answerWaitMs);
    assert.equal(one(spans, "meshplane.pipeline.publish").parentSpanId, "", "no write: its own trace");
  });
});
