// The web dashboard in a real browser: Debian's headless Chromium driven by playwright-core,
// against `meshplane serve --dashboard-address` with the quick-start mesh and a real grpc-js-xds
// client. The page must show the Services, the route's weights and the proxy as SYNCED; then a
// weight edited through the API must appear on the same page without a reload; then a NACKing
// proxy (an EndpointSlice address the client rejects, see nack.test.ts) must show as NACKED with
// its error and the blamed objects. UPDATE_SCREENSHOT=1 writes the README's docs/dashboard.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { apiRequest } from "./support/api.ts";
import { greeterMesh, meshYaml, repoRoot, startMeshFixture, warmUp, waitFor } from "./support/index.ts";

const chromiumPath = "/usr/bin/chromium";
const port = 50051;
const target = `xds:///greeter:${port}`;
const nodeId = "default/dashboard-client";
const routePath = "/apis/gateway.networking.k8s.io/v1/namespaces/default/grpcroutes/greeter-split";
const badSlice = "EndpointSlice default/greeter-v2-bad";

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

test(
  "the dashboard in headless Chromium: graph, weights, sync state, a live edit and a NACK",
  { timeout: 180_000 },
  async (t) => {
    if (!existsSync(chromiumPath)) {
      const message = `${chromiumPath} is missing (Debian package chromium; .ci/run installs it)`;
      // CI installs it, so there the test must run.
      if (process.env.CI) assert.fail(message);
      t.skip(message);
      return;
    }
    const mesh = await startMeshFixture((fn) => t.after(fn), {
      greeters: ["v1", "v2"],
      nodeId,
      meshplaneArgs: ["--dashboard-address", "127.0.0.1:0"],
      files: ({ v1, v2 }) => ({
        "00-greeter.yaml": greeterMesh({ v1Port: v1!.port, v2Port: v2!.port }).render(),
      }),
    });
    const ready = mesh.meshplane.logs().find((line) => line.msg === "meshplane ready");
    const dashboardUrl = ready?.dashboardUrl;
    assert.equal(
      typeof dashboardUrl,
      "string",
      `the ready line names the dashboard: ${JSON.stringify(ready)}`,
    );
    assert.match(String(dashboardUrl), /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await warmUp(mesh.client, target);

    const profile = await mkdtemp(join(tmpdir(), "meshplane-chromium-"));
    t.after(() => rm(profile, { recursive: true, force: true }));
    const context: BrowserContext = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1100, height: 820 },
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
    const page = context.pages()[0] ?? (await context.newPage());
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
