// Concurrent streams in the app: the go-rate-limit example with two workers racing for the
// token bucket. The timeline tags each callback with its worker and marks where the run
// switched; the losing worker's proxy_set_shared_data is answered CasMismatch. Stepping it
// host call by host call gets to the same end.

import assert from "node:assert/strict";
import { test } from "node:test";
import { open, pickExample, screenshot, useApp, waitForStatus } from "../lib.mjs";

const app = useApp();

const SCENARIO = "go-rate-limit.scenario-cas-conflict.json";

/** "W<n> <callback>" for every callback row. */
const rows = (page) =>
  page.locator('[data-testid="callback"]').evaluateAll((els) =>
    els.map((e) => `${e.querySelector('[data-testid="cb-worker"]')?.textContent ?? "-"} ${e.dataset.name}`));

test("two workers race for the bucket: worker badges, switch marks and the CasMismatch", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.setViewportSize({ width: 1440, height: 900 });
  await pickExample(page, "go-rate-limit", SCENARIO);
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.getByTestId("client-status").textContent(), "200");
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  const all = await rows(page);
  // Each worker starts its own VM, then both take a token.
  assert.deepEqual(all.filter((r) => r.endsWith("proxy_on_configure")), ["W1 proxy_on_configure", "W2 proxy_on_configure"]);
  assert.deepEqual(all.filter((r) => r.endsWith("proxy_on_request_headers")), ["W1 proxy_on_request_headers", "W2 proxy_on_request_headers"]);
  const switches = await page.locator('[data-testid="timeline-mark"][data-kind="switch"]').allTextContents();
  assert.ok(
    switches.some((t) => /request 2 on worker 2 runs while request 1 on worker 1 is after proxy_get_shared_data/.test(t)),
    switches.join("\n"),
  );
  // Worker 2's request headers: its first write is refused, its retry goes through.
  // A run of two requests is summarised: the page asks the worker for the callback's calls.
  await page.locator('[data-testid="callback"][data-name="proxy_on_request_headers"]').nth(1).click();
  await page.getByTestId("hostcall").first().waitFor();
  const sets = await page
    .locator('[data-testid="hostcall"][data-name="proxy_set_shared_data"]')
    .evaluateAll((els) => els.map((e) => e.dataset.status));
  assert.deepEqual(sets, ["CasMismatch", "Ok"]);
  await screenshot(page, "concurrency-cas-1440");
  assert.deepEqual(errors, []);
});

test("stepping a concurrent run host call by host call ends where running it does", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-rate-limit", SCENARIO);
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  const ran = await rows(page);
  await page.getByTestId("step-into").click();
  await waitForStatus(page, /^Paused/);
  let steps = 0;
  while (!/^Finished$/.test(await page.getByTestId("run-status").textContent())) {
    await page.getByTestId("step-into").click();
    await waitForStatus(page, /^(Paused|Finished)/);
    steps += 1;
    assert.ok(steps < 400, "stepping never ends");
  }
  assert.ok(steps > ran.length, `${steps} steps`);
  assert.deepEqual(await rows(page), ran);
  assert.equal(await page.locator('[data-testid="expectations"] li.fail').count(), 0);
  assert.deepEqual(errors, []);
});

test("the Settings form turns concurrent streams on: three go-headers requests on two workers", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "go-headers");
  await page.getByRole("tab", { name: "Settings" }).click();
  await page.getByTestId("requests").fill("3");
  await page.getByTestId("requests").press("Tab");
  await page.getByTestId("workers").fill("2");
  await page.getByTestId("workers").press("Tab");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  const headers = await page
    .locator('[data-testid="callback"][data-name="proxy_on_request_headers"] [data-testid="cb-worker"]')
    .allTextContents();
  // Round robin over the workers: requests 1 and 3 on worker 1, request 2 on worker 2.
  assert.deepEqual(headers, ["W1", "W2", "W1"]);
  // Back to one request after another: no badges.
  await page.getByTestId("workers").fill("0");
  await page.getByTestId("workers").press("Tab");
  await page.getByTestId("run").click();
  await waitForStatus(page, /^Finished$/);
  assert.equal(await page.locator('[data-testid="cb-worker"]').count(), 0);
  assert.deepEqual(errors, []);
});
