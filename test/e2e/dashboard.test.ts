// The web dashboard in a real browser: Debian's headless Chromium driven by playwright-core,
// against `meshplane serve --dashboard-address` with the quick-start mesh and a real grpc-js-xds
// client. The page must show the Services, the route's weights and the proxy as SYNCED; then a
// weight edited through the API must appear on the same page without a reload; then a Rollout
// moved by the real controller (setWeight 20, a pause until promoted, then promoted) must show its
// phase, step and canary weight as they change, on the same page; then a NACKing
// proxy (an EndpointSlice address the client rejects, see nack.test.ts) must show as NACKED with
// its error and the blamed objects. UPDATE_SCREENSHOT=1 writes the README's docs/dashboard.png.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { apiRequest } from "./support/api.ts";
import {
  greeterMesh,
  meshYaml,
  parseJsonLines,
  repoRoot,
  runCli,
  startMeshFixture,
  startMeshplane,
  warmUp,
  waitFor,
  type Meshplane,
} from "./support/index.ts";

const chromiumPath = "/usr/bin/chromium";
const port = 50051;
const target = `xds:///greeter:${port}`;
const nodeId = "default/dashboard-client";
const routePath = "/apis/gateway.networking.k8s.io/v1/namespaces/default/grpcroutes/greeter-split";
const badSlice = "EndpointSlice default/greeter-v2-bad";
const rolloutsPath = "/apis/meshplane.dev/v1alpha1/namespaces/default/rollouts";

/** The Rollout row's phase, step and canary weight cells, as the page shows them. */
async function rolloutRow(page: Page): Promise<{ phase: string; step: string; weight: string } | undefined> {
  const row = page.locator('[data-testid=rollout][data-object="Rollout default/greeter-split"]');
  if ((await row.count()) !== 1) return undefined;
  const cell = async (id: string) => ((await row.getByTestId(id).textContent()) ?? "").trim();
  return {
    phase: await cell("rollout-phase"),
    step: await cell("rollout-step"),
    weight: await cell("rollout-weight"),
  };
}

/** Text of the weight label on the edge from the split route to `backend`, or undefined. */
function weightText(page: Page, backend: string): Promise<string | null> {
  return page
    .locator(
      `[data-testid=weight][data-route="GRPCRoute default/greeter-split"][data-backend="default/${backend}"]`,
    )
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

async function waitForPage<T>(page: Page, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitFor(probe, { timeoutMs: 20_000, message: what }).catch(async (error: Error) => {
    const body = await page
      .locator("body")
      .innerText()
      .catch(() => "(no page text)");
    throw new Error(`${error.message}\n--- page text ---\n${body.slice(0, 3_000)}`);
  });
}

/** False (the test skipped) when Debian's chromium is missing; under CI, which installs it, a failure. */
function requireChromium(t: TestContext): boolean {
  if (existsSync(chromiumPath)) return true;
  const message = `${chromiumPath} is missing (Debian package chromium; .ci/run installs it)`;
  if (process.env.CI) assert.fail(message);
  t.skip(message);
  return false;
}

/** Headless Chromium on a fresh profile, closed when `t` ends. */
async function launchChromium(t: TestContext, options: { ignoreHTTPSErrors?: boolean } = {}): Promise<Page> {
  const profile = await mkdtemp(join(tmpdir(), "meshplane-chromium-"));
  t.after(() => rm(profile, { recursive: true, force: true }));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1100, height: 820 },
    ...options,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  t.after(() => context.close());
  return context.pages()[0] ?? (await context.newPage());
}

/** The dashboard's URL from meshplane's "meshplane ready" line. */
function dashboardUrlOf(meshplane: Meshplane): string {
  const ready = meshplane.logs().find((line) => line.msg === "meshplane ready");
  const url = ready?.dashboardUrl;
  assert.equal(typeof url, "string", `the ready line names the dashboard: ${JSON.stringify(ready)}`);
  return String(url);
}

test(
  "the dashboard in headless Chromium: graph, weights, sync state, a live edit and a NACK",
  { timeout: 180_000 },
  async (t) => {
    if (!requireChromium(t)) return;
    const mesh = await startMeshFixture((fn) => t.after(fn), {
      greeters: ["v1", "v2"],
      nodeId,
      meshplaneArgs: ["--dashboard-address", "127.0.0.1:0"],
      files: ({ v1, v2 }) => ({
        "00-greeter.yaml": greeterMesh({ v1Port: v1!.port, v2Port: v2!.port }).render(),
      }),
    });
    const dashboardUrl = dashboardUrlOf(mesh.meshplane);
    assert.match(dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await warmUp(mesh.client, target);
    const page = await launchChromium(t);
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page.goto(String(dashboardUrl));

    await t.test("shows the Services, the route's weights and the proxy as SYNCED", async () => {
      await waitForPage(page, "the feed is live", async () =>
        (await page.getByTestId("feed-state").textContent()) === "live" ? true : undefined,
      );
      for (const service of ["default/greeter", "default/greeter-v1", "default/greeter-v2"]) {
        await waitForPage(page, `Service ${service} on the page`, async () =>
          (await page.locator(`[data-testid=service][data-service="${service}"]`).count()) === 1
            ? true
            : undefined,
        );
      }
      await waitForPage(page, "weights 90 and 10", async () =>
        (await weightText(page, "greeter-v1"))?.startsWith("90 (90%)") &&
        (await weightText(page, "greeter-v2"))?.startsWith("10 (10%)")
          ? true
          : undefined,
      );
      await waitForPage(page, `${nodeId} SYNCED`, async () =>
        (await page.locator(`[data-testid=proxy][data-node="${nodeId}"][data-state=SYNCED]`).count()) === 1
          ? true
          : undefined,
      );
      // "Reached N of M" for the route, as its Programmed status counts it.
      const reach = page.locator(
        '[data-testid=object][data-object="GRPCRoute default/greeter-split"] [data-testid=reach]',
      );
      await waitForPage(page, "the route reached 1 of 1", async () =>
        (await reach.textContent())?.includes("reached 1 of 1") ? true : undefined,
      );
    });

    await t.test("a weight edited through the API shows up without a reload", async () => {
      await page.evaluate(() => {
        (globalThis as unknown as { marker: string }).marker = "before the edit";
      });
      const before = navigations;
      const current = await apiRequest(mesh.meshplane.apiUrl!, "GET", routePath);
      assert.equal(current.status, 200, JSON.stringify(current.body));
      const route = current.body as {
        spec: { rules: { backendRefs: { name: string; weight: number }[] }[] };
      };
      for (const ref of route.spec.rules[0]!.backendRefs) ref.weight = ref.name === "greeter-v1" ? 30 : 70;
      const put = await apiRequest(mesh.meshplane.apiUrl!, "PUT", routePath, route);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await waitForPage(page, "weights 30 and 70", async () =>
        (await weightText(page, "greeter-v1"))?.startsWith("30 (30%)") &&
        (await weightText(page, "greeter-v2"))?.startsWith("70 (70%)")
          ? true
          : undefined,
      );
      assert.equal(navigations, before, "the page did not navigate");
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker),
        "before the edit",
        "the same document, not a reloaded one",
      );
    });

    await t.test(
      "a Rollout's phase, step and weight change on the page as the controller moves it",
      async () => {
        const before = navigations;
        const created = await apiRequest(mesh.meshplane.apiUrl!, "POST", rolloutsPath, {
          apiVersion: "meshplane.dev/v1alpha1",
          kind: "Rollout",
          metadata: { name: "greeter-split", namespace: "default" },
          spec: {
            routeRef: { kind: "GRPCRoute", name: "greeter-split" },
            stableBackend: { name: "greeter-v1" },
            canaryBackend: { name: "greeter-v2" },
            steps: [{ setWeight: 20 }, { pause: {} }],
          },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const paused = await waitForPage(page, "the rollout paused at step 2 of 2, canary 20%", async () => {
          const row = await rolloutRow(page);
          return row?.phase.startsWith("Paused") && row.step === "2 of 2" && row.weight === "20%"
            ? row
            : undefined;
        });
        assert.match(paused.phase, /AwaitingPromotion/, "why it waits");
        // The controller moved the route: the graph's weights follow.
        await waitForPage(page, "weights 80 and 20", async () =>
          (await weightText(page, "greeter-v1"))?.startsWith("80 (80%)") &&
          (await weightText(page, "greeter-v2"))?.startsWith("20 (20%)")
            ? true
            : undefined,
        );
        const current = await apiRequest(mesh.meshplane.apiUrl!, "GET", `${rolloutsPath}/greeter-split`);
        const rollout = current.body as { spec: Record<string, unknown> };
        rollout.spec.promote = 1;
        const promoted = await apiRequest(
          mesh.meshplane.apiUrl!,
          "PUT",
          `${rolloutsPath}/greeter-split`,
          rollout,
        );
        assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
        const done = await waitForPage(page, "the rollout succeeded, canary 100%", async () => {
          const row = await rolloutRow(page);
          return row?.phase.startsWith("Succeeded") && row.weight === "100%" ? row : undefined;
        });
        assert.equal(done.step, "done (2 steps)");
        assert.equal(navigations, before, "the page did not navigate");
      },
    );

    await t.test("a NACKing proxy shows as NACKED with its error and the blamed objects", async () => {
      // Valid for Kubernetes and meshplane, rejected by grpc-js-xds (see nack.test.ts).
      await mesh.config.write(
        "30-bad-slice.yaml",
        meshYaml()
          .endpointSlice("greeter-v2", "greeter-v2-bad", [
            { address: "127.000.000.001", port: mesh.greeters.v2!.port },
          ])
          .render(),
      );
      await waitForPage(page, `${nodeId} NACKED`, async () =>
        (await page.locator(`[data-testid=proxy][data-node="${nodeId}"][data-state=NACKED]`).count()) === 1
          ? true
          : undefined,
      );
      const nack = page.locator(`[data-testid=nack][data-object="${badSlice}"]`);
      const error = await waitForPage(page, `a NACK blamed on ${badSlice}`, async () =>
        (await nack.count()) === 1
          ? ((await nack.getByTestId("nack-error").first().textContent()) ?? undefined)
          : undefined,
      );
      assert.match(error, /127\.000\.000\.001/, "the proxy's own error text");
      assert.match(await nack.innerText(), new RegExp(nodeId), "the proxy that rejected it");
      const object = page.locator(`[data-testid=object][data-object="${badSlice}"] [data-testid=reach]`);
      assert.match((await object.textContent()) ?? "", /rejected by 1/);
    });

    await t.test("a screenshot for the README", async () => {
      await page.locator(`[data-testid=nack][data-object="${badSlice}"]`).scrollIntoViewIfNeeded();
      await page.evaluate(() =>
        (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
      );
      const png = await page.screenshot({ type: "png" });
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG");
      t.diagnostic(`screenshot: ${png.length} bytes`);
      if (process.env.UPDATE_SCREENSHOT) {
        const file = join(repoRoot, "docs", "dashboard.png");
        await writeFile(file, png);
        t.diagnostic(`wrote ${file} (${(await stat(file)).size} bytes)`);
      }
    });

    assert.deepEqual(pageErrors, [], "no script errors on the page");
  },
);

test(
  "with the API's tokens: the page asks for one and sends it as a bearer header, never in a URL",
  { timeout: 120_000 },
  async (t) => {
    if (!requireChromium(t)) return;
    const dir = await mkdtemp(join(tmpdir(), "meshplane-e2e-dashboard-token-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const token = "dashboard-e2e-token";
    await writeFile(join(dir, "tokens"), `${token}\n`, { mode: 0o600 });
    // Tokens need TLS (as for the API); the dashboard serves over the API's certificate.
    await new Promise<void>((resolve, reject) =>
      execFile(
        "openssl",
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
          .concat(["-subj", "/CN=meshplane", "-addext", "subjectAltName=IP:127.0.0.1"])
          .concat(["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]),
        { timeout: 10_000 },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    const meshplane = await startMeshplane({
      args: ["--store", "memory", "--api-token-file", join(dir, "tokens")]
        .concat(["--api-tls-cert", join(dir, "cert.pem"), "--api-tls-key", join(dir, "key.pem")])
        .concat(["--dashboard-address", "127.0.0.1:0"]),
    });
    t.after(() => meshplane.stop());
    const dashboardUrl = dashboardUrlOf(meshplane);
    assert.match(dashboardUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/);

    const page = await launchChromium(t, { ignoreHTTPSErrors: true });
    const urls: string[] = [];
    const feedAuthorization: (string | undefined)[] = [];
    page.on("request", (request) => {
      urls.push(request.url());
      if (new URL(request.url()).pathname === "/api/events") {
        feedAuthorization.push(request.headers().authorization);
      }
    });
    await page.goto(dashboardUrl);
    const input = page.locator("input[type=password]");
    await input.waitFor({ timeout: 15_000 });
    await input.fill(token);
    await page.getByRole("button", { name: "Open" }).click();
    await waitForPage(page, "the feed is live with the token", async () =>
      (await page.getByTestId("feed-state").textContent()) === "live" ? true : undefined,
    );
    assert.deepEqual(feedAuthorization, [undefined, `Bearer ${token}`], "asked without, then with the token");
    assert.deepEqual(
      urls.filter((url) => url.includes(token)),
      [],
      "the token is in no URL",
    );
    assert.ok(!meshplane.tail(500).includes(token), "the token is in no log line");
  },
);

test(
  "a dashboard off loopback without tokens: refused at start, saying how",
  { timeout: 30_000 },
  async () => {
    const run = await runCli(
      ["serve", "--store", "memory", "--api-address", "off"].concat([
        "--xds-address",
        "127.0.0.1:0",
        "--admin-address",
        "127.0.0.1:0",
        "--dashboard-address",
        "0.0.0.0:0",
      ]),
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const fatal = parseJsonLines(run.stdout).find((line) => line.level === "fatal");
    assert.match(
      String(fatal?.msg),
      /--dashboard-address 0\.0\.0\.0 is reachable from other machines: set --api-token-file .* or bind the dashboard to 127\.0\.0\.1/,
    );
  },
);
