// A broken edit of a route file is rejected with the file, object and field; the last good route
// keeps routing (nothing is pushed, the client keeps calling v1 without errors); and a later valid
// edit still applies.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  assertAllOn,
  configErrors,
  meshYaml,
  proxySync,
  startMeshFixture,
  suiteScope,
  typeSync,
  waitFor,
  waitForAckChange,
  waitForConfigError,
  warmUp,
  weighted,
  type ConfigErrorEntry,
  type MeshFixture,
  type TypeSync,
} from "./support/index.ts";

const port = 50051;
const target = `xds:///greeter:${port}`;
const routeFile = "20-greeter-route.yaml";
const routeObject = "GRPCRoute default/greeter-route";

function route(backend: string, extra: Record<string, unknown> = {}): string {
  return meshYaml()
    .grpcRoute("greeter-route", {
      parent: "greeter",
      port,
      rules: [{ backendRefs: [{ ...weighted({ [backend]: 100 })[0]!, ...extra }] }],
    })
    .render();
}

describe("config reload", { timeout: 120_000 }, () => {
  const scope = suiteScope();
  let mesh: MeshFixture;

  before(async () => {
    mesh = await startMeshFixture(scope.defer, {
      greeters: ["v1", "v2"],
      nodeId: "default/reload-client",
      files: ({ v1, v2 }) => ({
        "00-services.yaml": meshYaml()
          .service("greeter", port, [{ port: v1!.port }, { port: v2!.port }])
          .service("greeter-v1", port, [{ port: v1!.port }])
          .service("greeter-v2", port, [{ port: v2!.port }])
          .render(),
        [routeFile]: route("greeter-v1"),
      }),
    });
    await warmUp(mesh.client, target);
  });

  /** What the client was sent and runs on, per type; a rejected edit must change none of it. */
  async function versions(): Promise<Record<string, Pick<TypeSync, "sentVersion" | "ackedVersion">>> {
    const proxy = await proxySync(mesh.admin, mesh.nodeId);
    return Object.fromEntries(
      (["lds", "rds", "cds", "eds"] as const).map((type) => {
        const entry = typeSync(proxy, type);
        return [type, { sentVersion: entry?.sentVersion ?? null, ackedVersion: entry?.ackedVersion ?? null }];
      }),
    );
  }

  /** Writes a broken route file, waits for its error, and checks that routing is untouched. */
  async function rejectBrokenEdit(
    what: string,
    content: string,
    expected: (entry: ConfigErrorEntry) => boolean,
  ): Promise<ConfigErrorEntry> {
    const before = await versions();
    await mesh.config.write(routeFile, content);
    const errors = await waitForConfigError(
      mesh.admin,
      (e) => e.file === routeFile && expected(e),
      `${what}: an error for ${routeFile} in /debug/config_errors`,
    );
    const entry = errors.find((e) => e.file === routeFile && expected(e))!;
    const logged = await mesh.meshplane.waitForLog(
      (line) => line.level === "warn" && line.file === routeFile && line.msg === entry.message,
      5_000,
      `a warn log line for ${routeFile} with message ${JSON.stringify(entry.message)}`,
    );
    assert.equal(
      logged.object,
      entry.object,
      `${what}: the log line names the object: ${JSON.stringify(logged)}`,
    );
    assert.equal(
      logged.field,
      entry.field,
      `${what}: the log line names the field: ${JSON.stringify(logged)}`,
    );

    const result = await mesh.client.call({ target, calls: 200, concurrency: 10 });
    assertAllOn(result, "v1", `${what}: the last good route (100% → v1) keeps routing`);
    assert.deepEqual(await versions(), before, `${what}: nothing new was pushed to or ACKed by the client`);
    return entry;
  }

  test("a YAML syntax error is reported with file and position; v1 keeps serving", async () => {
    const broken = route("greeter-v1").replace("rules:", "rules:\n  - backendRefs: [unclosed\n");
    const entry = await rejectBrokenEdit("YAML syntax error", broken, (e) =>
      /YAML syntax error/.test(e.message),
    );
    // A file that does not parse cannot name its objects: object and field are empty by design
    // (src/sources/config-source.ts); the position is in the message.
    assert.deepEqual(
      { object: entry.object, field: entry.field },
      { object: "", field: "" },
      `syntax error entry: ${JSON.stringify(entry)}`,
    );
    assert.match(
      entry.message,
      /^YAML syntax error at line \d+, column \d+: /,
      `syntax error entry: ${JSON.stringify(entry)}`,
    );
  });

  test("weight: -5 is reported as GRPCRoute default/greeter-route spec.rules[0].backendRefs[0].weight", async () => {
    const entry = await rejectBrokenEdit(
      "negative weight",
      route("greeter-v1", { weight: -5 }),
      (e) => e.object === routeObject,
    );
    assert.deepEqual(
      { file: entry.file, object: entry.object, field: entry.field },
      { file: routeFile, object: routeObject, field: "spec.rules[0].backendRefs[0].weight" },
      `negative weight entry: ${JSON.stringify(entry)}`,
    );
    assert.match(entry.message, />= 0/, `negative weight entry: ${JSON.stringify(entry)}`);
  });

  test("an unknown field is reported with its path", async () => {
    const entry = await rejectBrokenEdit(
      "misspelt field",
      route("greeter-v1", { wieght: 5 }),
      (e) => e.object === routeObject && e.field.endsWith("wieght"),
    );
    assert.equal(
      entry.field,
      "spec.rules[0].backendRefs[0].wieght",
      `unknown field entry: ${JSON.stringify(entry)}`,
    );
    assert.match(entry.message, /unknown field/, `unknown field entry: ${JSON.stringify(entry)}`);
  });

  test("after the rejected edits, a valid edit to 100% → v2 applies", async () => {
    const before = await versions();
    await mesh.config.write(routeFile, route("greeter-v2"));
    const rds = await waitForAckChange(mesh.admin, {
      nodeId: mesh.nodeId,
      type: "rds",
      from: before.rds?.ackedVersion ?? null,
    });
    const errors = await configErrors(mesh.admin);
    assert.deepEqual(
      errors,
      [],
      `the fixed file clears every error; /debug/config_errors: ${JSON.stringify(errors)}`,
    );
    // The RDS ACK comes before the client has the new backend's cluster and endpoints (it asks
    // for them once it reads the route), so the first calls may still use the old config.
    await waitFor(async () => (await mesh.client.call({ target, calls: 10 })).counts.v2 === 10, {
      timeoutMs: 10_000,
      message: "calls to move to v2",
    });
    const result = await mesh.client.call({ target, calls: 200, concurrency: 10 });
    assertAllOn(result, "v2", `after the valid edit (RDS ${before.rds?.ackedVersion} → ${rds})`);
  });

  test("and back to 100% → v1: the client, which dropped v1's endpoints, is sent them again", async () => {
    // grpc-js-xds unsubscribed v1's cluster and endpoints when it moved to v2; asking for them
    // again takes its EDS set back to a version it was once sent (meshplane compares what it
    // holds resource by resource, so it is sent them).
    await mesh.config.write(routeFile, route("greeter-v1"));
    await waitFor(async () => (await mesh.client.call({ target, calls: 10 })).counts.v1 === 10, {
      timeoutMs: 10_000,
      message: "calls to move back to v1",
    });
    assertAllOn(await mesh.client.call({ target, calls: 100, concurrency: 10 }), "v1", "back on v1");
  });
});
