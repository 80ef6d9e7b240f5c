// Bearer-token auth, HTTPS, and the kubeconfig written for both.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import * as k8s from "@kubernetes/client-node";
import { writeKubeconfig } from "./kubeconfig.ts";
import { startTestServer } from "./testing.ts";

test("with tokens, everything but /healthz needs a known bearer token", async (t) => {
  const api = await startTestServer({ auth: { tokens: new Set(["s3cret", "other"]) } });
  t.after(() => api.close());
  const cases: [path: string, header: string | undefined, status: number][] = [
    ["/healthz", undefined, 200],
    ["/version", undefined, 401],
    ["/apis/nothing.example/v1/things", undefined, 401],
    ["/apis", "Bearer wrong", 401],
    ["/apis", "Basic czNjcmV0", 401],
    ["/apis", "Bearer s3cret", 200],
    ["/api/v1/namespaces/default/services", "Bearer other", 200],
    ["/openapi/v3", "bearer s3cret", 200],
  ];
  for (const [path, header, status] of cases) {
    const res = await api.request(
      "GET",
      path,
      header === undefined ? {} : { headers: { authorization: header } },
    );
    assert.equal(res.status, status, `${path} with ${header ?? "no header"}`);
    if (status === 401)
      assert.deepEqual([res.json.kind, res.json.reason, res.json.code], ["Status", "Unauthorized", 401]);
  }
});

test("writeKubeconfig: context meshplane, namespace default, skip-verify for http", () => {
  const http = parseYaml(writeKubeconfig({ server: "http://127.0.0.1:1", token: "t" }));
  assert.equal(http["current-context"], "meshplane");
  assert.deepEqual(http.contexts[0], {
    name: "meshplane",
    context: { cluster: "meshplane", user: "meshplane", namespace: "default" },
  });
  assert.deepEqual(http.clusters[0].cluster, {
    server: "http://127.0.0.1:1",
    "insecure-skip-tls-verify": true,
  });
  assert.deepEqual(http.users[0].user, { token: "t" });
  const https = parseYaml(writeKubeconfig({ server: "https://h:6443", caData: "PEM" }));
  assert.deepEqual(https.clusters[0].cluster, {
    server: "https://h:6443",
    "certificate-authority-data": Buffer.from("PEM").toString("base64"),
  });
  assert.deepEqual(https.users[0].user, {});
});

test("HTTPS with a certificate, verified by client-node through the kubeconfig", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "meshplane-tls-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  try {
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ]);
  } catch {
    // A real peer the test needs: skipped locally, a failure in CI, which must have it.
    if (process.env.CI) assert.fail("openssl is not available (Debian package openssl)");
    t.skip("openssl is not available");
    return;
  }
  const cert = await readFile(join(dir, "cert.pem"), "utf8");
  const key = await readFile(join(dir, "key.pem"), "utf8");
  const api = await startTestServer({ tls: { cert, key }, auth: { tokens: new Set(["tok"]) } });
  t.after(() => api.close());
  assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const status = await new Promise<number>((resolve, reject) => {
    httpsGet(`${api.url}/healthz`, { ca: cert }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
  assert.equal(status, 200);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(writeKubeconfig({ server: api.url, token: "tok", caData: cert }));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespaces = await core.listNamespace();
  assert.deepEqual(
    namespaces.items.map((n) => n.metadata?.name),
    ["default"],
  );
  kc.loadFromString(writeKubeconfig({ server: api.url, token: "wrong", caData: cert }));
  await assert.rejects(kc.makeApiClient(k8s.CoreV1Api).listNamespace(), /401|Unauthorized/);
});
