// The real kubectl against the API server on the memory store: apply, get (-o yaml, -w), describe,
// explain, api-resources, diff, server-side apply, label, patch, delete, and the errors users see.
// Each run gets its own KUBECONFIG and KUBECACHEDIR (kubectl caches discovery for 6 h).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { writeKubeconfig } from "./kubeconfig.ts";
import { routesPath, startTestServer } from "./testing.ts";

const run = promisify(execFile);
const kubectlPath = "/usr/bin/kubectl";

const manifests = `apiVersion: v1
kind: Service
metadata:
  name: greeter
spec:
  ports:
    - name: grpc
      port: 50051
      protocol: TCP
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: greeter-1
  labels:
    kubernetes.io/service-name: greeter
addressType: IPv4
endpoints:
  - addresses: ["127.0.0.1"]
    zone: zone-a
    conditions:
      ready: true
ports:
  - name: grpc
    port: 50061
    protocol: TCP
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: greeter
spec:
  parentRefs:
    - group: ""
      kind: Service
      name: greeter
      port: 50051
  rules:
    - backendRefs:
        - name: greeter
          port: 50051
          weight: 90
`;

test(
  "kubectl against the API server",
  // A real peer the test needs: skipped locally, a failure in CI, which must have it.
  { skip: !existsSync(kubectlPath) && !process.env.CI && "kubectl is not installed" },
  async (t) => {
    // Keepalive newlines every 100 ms: kubectl get -w must tolerate them.
    const api = await startTestServer({ watch: { keepaliveMs: 100 } });
    const dir = await mkdtemp(join(tmpdir(), "meshplane-kubectl-"));
    t.after(async () => {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    });
    const env = {
      ...process.env,
      KUBECONFIG: join(dir, "config"),
      KUBECACHEDIR: join(dir, "cache"),
      HOME: dir,
    };
    await writeFile(env.KUBECONFIG, writeKubeconfig({ server: api.url }));
    const file = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const kubectl = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const { stdout, stderr } = await run(kubectlPath, args, { env, timeout: 30_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === "number" ? e.code : -1,
          stdout: e.stdout ?? "",
          stderr: e.stderr ?? "",
        };
      }
    };
    const ok = async (...args: string[]): Promise<string> => {
      const result = await kubectl(...args);
      assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed: ${result.stderr}`);
      return result.stdout;
    };
    const mesh = await file("mesh.yaml", manifests);

    await t.test("version picks the 1.32 binary", async () => {
      assert.match(await ok("version"), /Server Version: v1\.32\.0-meshplane/);
    });

    await t.test("apply -f creates the Service, EndpointSlice and GRPCRoute", async () => {
      const out = await ok("apply", "-f", mesh);
      assert.match(out, /service\/greeter created/);
      assert.match(out, /endpointslice\.discovery\.k8s\.io\/greeter-1 created/);
      assert.match(out, /grpcroute\.gateway\.networking\.k8s\.io\/greeter created/);
      assert.match(
        await ok("apply", "-f", mesh),
        /grpcroute\.gateway\.networking\.k8s\.io\/greeter unchanged/,
      );
    });

    await t.test("get, get -o yaml, api-resources", async () => {
      const table = await ok("get", "svc,endpointslices,grpcroutes");
      assert.match(table, /service\/greeter\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+50051\/TCP/);
      assert.match(table, /endpointslice\.discovery\.k8s\.io\/greeter-1\s+IPv4\s+50061\s+127\.0\.0\.1/);
      assert.match(table, /grpcroute\.gateway\.networking\.k8s\.io\/greeter\s/);
      const route = parseYaml(await ok("get", "grpcroute", "greeter", "-o", "yaml")) as {
        metadata: { namespace: string };
        spec: { rules: { backendRefs: { weight: number }[] }[] };
      };
      assert.equal(route.metadata.namespace, "default");
      assert.equal(route.spec.rules[0]?.backendRefs[0]?.weight, 90);
      const resources = await ok("api-resources");
      assert.match(resources, /services\s+svc\s+v1\s+true\s+Service/);
      assert.match(resources, /grpcroutes\s+gateway\.networking\.k8s\.io\/v1\s+true\s+GRPCRoute/);
      assert.match(await ok("get", "all"), /greeter\s+ClusterIP/);
    });

    await t.test("get -w sees a change made through the API", async () => {
      const child = spawn(kubectlPath, ["get", "grpcroutes", "-w"], { env });
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 100 && !re.test(output); i++) await new Promise((r) => setTimeout(r, 100));
        assert.match(output, re);
      };
      try {
        await waitFor(/greeter/);
        await new Promise((r) => setTimeout(r, 300)); // a few keepalives go by
        const current = (await api.request("GET", `${routesPath}/greeter`)).json;
        const changed = await api.request("PUT", `${routesPath}/greeter`, {
          body: { ...current, spec: { ...current.spec, hostnames: ["greeter.example"] } },
        });
        assert.equal(changed.status, 200);
        await waitFor(/greeter\s+\["greeter\.example"\]/);
        assert.equal(output.trim().split("\n").length, 3, `header and two rows, nothing else: ${output}`);
      } finally {
        child.kill();
      }
    });

    await t.test("describe svc finds the endpoints", async () => {
      const out = await ok("describe", "svc", "greeter");
      assert.match(out, /Type:\s+ClusterIP/);
      assert.match(out, /Port:\s+grpc\s+50051\/TCP/);
      assert.match(out, /Endpoints:\s+127\.0\.0\.1:50061/);
    });

    await t.test("explain grpcroute.spec.rules", async () => {
      const out = await ok("explain", "grpcroute.spec.rules");
      assert.match(out, /KIND:\s+GRPCRoute/);
      assert.match(out, /FIELD: rules <\[\]Object>/);
      assert.match(out, /backendRefs\s+<\[\]Object>/);
      assert.match(out, /matchers, filters and actions/);
    });

    await t.test("diff shows a pending change (server dry run), apply applies it", async () => {
      const edited = await file("edited.yaml", manifests.replace("weight: 90", "weight: 70"));
      const diff = await kubectl("diff", "-f", edited);
      assert.equal(diff.code, 1, diff.stderr);
      assert.match(diff.stdout, /-\s+weight: 90\n\+\s+weight: 70/);
      assert.equal(
        (await api.request("GET", `${routesPath}/greeter`)).json.spec.rules[0].backendRefs[0].weight,
        90,
      );
      assert.match(await ok("apply", "-f", edited), /greeter configured/);
      assert.equal((await kubectl("diff", "-f", edited)).code, 0);
    });

    await t.test("apply --server-side", async () => {
      const out = await ok("apply", "--server-side", "--force-conflicts", "-f", mesh);
      assert.match(out, /grpcroute\.gateway\.networking\.k8s\.io\/greeter serverside-applied/);
      assert.match(out, /service\/greeter serverside-applied/);
      assert.equal(
        (await api.request("GET", `${routesPath}/greeter`)).json.spec.rules[0].backendRefs[0].weight,
        90,
      );
    });

    await t.test("label and patch --type=merge", async () => {
      assert.match(await ok("label", "svc", "greeter", "tier=gold"), /service\/greeter labeled/);
      assert.match(await ok("get", "svc", "-l", "tier=gold", "-o", "name"), /service\/greeter/);
      assert.match(
        await ok(
          "patch",
          "grpcroute",
          "greeter",
          "--type=merge",
          "-p",
          '{"spec":{"hostnames":["patched.example"]}}',
        ),
        /patched/,
      );
      assert.deepEqual((await api.request("GET", `${routesPath}/greeter`)).json.spec.hostnames, [
        "patched.example",
      ]);
      assert.match(
        await ok("patch", "svc", "greeter", "-p", '{"spec":{"ports":[{"port":50051,"targetPort":50052}]}}'),
        /patched/,
      );
    });

    await t.test("an invalid object: 422 with the field path", async () => {
      const bad = await file(
        "bad.yaml",
        manifests.split("---")[2]?.replace("weight: 90", "weight: -1") ?? "",
      );
      const result = await kubectl("apply", "-f", bad);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /GRPCRoute "greeter" is invalid: spec\.rules\[0\]\.backendRefs\[0\]\.weight: Invalid value: -1: must be >= 0/,
      );
    });

    await t.test("a stale update: 409 Conflict", async () => {
      const current = JSON.parse(await ok("get", "grpcroute", "greeter", "-o", "json")) as {
        metadata: { resourceVersion: string };
        spec: object;
      };
      await ok("label", "grpcroute", "greeter", "touched=yes");
      const stale = await file(
        "stale.json",
        JSON.stringify({ ...current, spec: { ...current.spec, hostnames: ["stale.example"] } }),
      );
      const result = await kubectl("replace", "-f", stale);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /Error from server \(Conflict\).*the object has been modified; please apply your changes to the latest version and try again/,
      );
    });

    await t.test("create namespace and service (protobuf bodies), delete namespace", async () => {
      assert.match(await ok("create", "namespace", "team"), /namespace\/team created/);
      assert.match(await ok("get", "ns"), /team\s+Active/);
      assert.match(
        await ok("create", "service", "clusterip", "web", "--tcp=80:8080", "-n", "team"),
        /service\/web created/,
      );
      assert.match(
        await ok("get", "svc", "-n", "team"),
        /web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP/,
      );
      const missing = await kubectl("create", "service", "clusterip", "x", "--tcp=80", "-n", "nowhere");
      assert.match(missing.stderr, /namespaces "nowhere" not found/);
      assert.match(await ok("delete", "namespace", "team"), /namespace "team" deleted/);
      assert.equal((await api.request("GET", "/api/v1/namespaces/team/services/web")).status, 404);
    });

    await t.test("delete, then NotFound", async () => {
      assert.match(
        await ok("delete", "grpcroute", "greeter"),
        /grpcroute\.gateway\.networking\.k8s\.io "greeter" deleted/,
      );
      const result = await kubectl("get", "grpcroute", "greeter");
      assert.match(
        result.stderr,
        /Error from server \(NotFound\): grpcroutes\.gateway\.networking\.k8s\.io "greeter" not found/,
      );
      assert.match(await ok("delete", "-f", mesh, "--ignore-not-found"), /service "greeter" deleted/);
    });
  },
);
